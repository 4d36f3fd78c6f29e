//! `charter report DIR --policies NEW --compare-policies OLD`: the policy impact preview.
//!
//! Builds the report of the repository twice, under the old and the new policies, and renders
//! what the new ones add, remove or re-grade (text, json or markdown). Exit code 1 when the new
//! policies make a finding at or above `--fail-on` fail the run that did not before (an added
//! finding, or one raised to that severity; waived findings never do), 0 otherwise.

use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;
use charter_engine::impact::Impact;
use charter_engine::render::{Format, Options, render, supports};

use super::report::ReportArgs;
use crate::output;

/// Runs the policy impact preview.
pub fn run(args: &ReportArgs, old: &Path) -> anyhow::Result<ExitCode> {
    let gate = &args.gate;
    let format = gate.format;
    supports::<Impact>(format)?;
    let before = args
        .build(Some(old))
        .with_context(|| format!("with the old policies `{}`", old.display()))?;
    let after = args
        .build(gate.policies.as_deref())
        .with_context(|| match &gate.policies {
            Some(new) => format!("with the new policies `{}`", new.display()),
            None => "with the default policies".to_owned(),
        })?;
    let impact = Impact::compare(&before, &after);

    let options = Options {
        color: format == Format::Text && gate.color.enabled(gate.output.is_none()),
        ..Options::default()
    };
    let mut out = output::sink(gate.output.as_deref())?;
    render(&impact, format, &options, &mut out).context("cannot write the impact preview")?;
    out.flush().context("cannot write the impact preview")?;
    Ok(match gate.fail_on.threshold() {
        Some(t) if impact.introduces(t) => ExitCode::from(1),
        _ => ExitCode::SUCCESS,
    })
}
