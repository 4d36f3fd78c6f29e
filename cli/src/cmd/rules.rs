//! `charter rules [--policies DIR]`: the rule catalogue of a policy pack, from the
//! `# METADATA` block above each `deny_`/`warn_` rule (title, description,
//! `custom.remediation`, `custom.severity`).
//!
//! ```text
//! $ charter rules pii/ --format markdown
//! # Rules
//!
//! | Rule | Severity | Title |
//! |---|---|---|
//! | [`pii/masking_method_unknown`](#piimasking_method_unknown) | error | Unknown masking method |
//! | [`pii/masking_required`](#piimasking_required) | error | PII field without a masking method |
//! …
//! ```

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use charter_engine::render::{Catalog, Format, Options, render};
use charter_engine::report::RuleInfo;
use clap::Args;

use crate::output::{self, ColorChoice};

/// Arguments of `charter rules`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  charter rules\n  charter rules pii/\n  charter rules --format markdown > RULES.md\n  charter rules --policies policies/ --format json"
)]
pub struct RulesArgs {
    /// Show only the rules whose id contains TEXT (`pii/`, `masking`).
    #[arg(value_name = "TEXT")]
    pub filter: Option<String>,
    /// A policy folder (rego/, cedar/, data/) to use instead of the embedded default pack.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// Follow symlinks in the policy folder that lead out of it (or out of its git work
    /// tree); by default such a link stops the pack from loading.
    #[arg(long)]
    pub follow_external_symlinks: bool,
    /// Output format.
    #[arg(long, short = 'f', default_value = "text", ignore_case = true, value_parser = super::format::of::<Catalog<'static>>())]
    pub format: Format,
    /// Write the catalogue to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Colour the text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Runs `charter rules`.
pub fn run(args: &RulesArgs) -> anyhow::Result<ExitCode> {
    let pack = crate::policies::load(args.policies.as_deref(), args.follow_external_symlinks)?;
    let rules: Vec<RuleInfo> = charter_engine::rules::catalog(&pack)
        .into_values()
        .filter(|rule| {
            args.filter
                .as_deref()
                .is_none_or(|filter| rule.id.contains(filter))
        })
        .collect();
    let to_terminal = args.output.is_none() && std::io::stdout().is_terminal();
    let options = Options {
        color: args.format == Format::Text && args.color.enabled(args.output.is_none()),
        // The terminal's width on a terminal; a fixed width elsewhere, for stable output.
        width: to_terminal
            .then(|| comfy_table::Table::new().width())
            .flatten(),
        ..Options::default()
    };
    let mut out = output::sink(args.output.as_deref())?;
    render(
        &Catalog::new(pack.revision(), &rules),
        args.format,
        &options,
        &mut out,
    )
    .context("cannot write the rule catalogue")?;
    out.flush().context("cannot write the rule catalogue")?;
    Ok(ExitCode::SUCCESS)
}
