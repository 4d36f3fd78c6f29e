//! `charter validate [--policies DIR]`: does a policy pack compile, follow Charter's
//! conventions, validate against its Cedar schema and carry well-formed settings?
//!
//! ```text
//! $ charter validate --policies testdata/policies/broken_rego
//! error    rego/rules/owner.rego:13:1  rego/parse    expecting `)` while parsing call expr
//! error    rego/rules/sla.rego:11:30   rego/compile  use of undefined variable `minimum` is unsafe
//!
//! 3 Rego modules, 0 Cedar files, 0 settings files: 2 errors
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use charter_engine::PackError;
use charter_engine::authoring::{self, ValidateOptions, Validation};
use charter_engine::render::{Format, Options, render};
use clap::Args;

use super::gate::FailOn;
use crate::output::{self, ColorChoice};

/// Arguments of `charter validate`.
#[derive(Args, Debug)]
#[command(
    after_help = "Checks: Rego parses and compiles (file:line:col); packages are under charter.rules.<area>, charter.mesh.<area> or charter.access; deny_/warn_ rules are sets of messages or {msg, path?} objects, documented by # METADATA; no negated expression over a possibly undefined input.x (regorus and OPA disagree); Cedar policies validate strictly against the schema; data/*.yaml settings have the expected keys and types.\n\nExamples:\n  charter validate\n  charter validate --policies policies/ --format json\n  charter validate --policies acme-pack/ --allow-package acme.lib\n\nExit codes: 0 no problem at or above --fail-on, 1 problems at or above it, 2 the pack could not be read."
)]
pub struct ValidateArgs {
    /// The policy folder to validate (rego/, cedar/, data/, tests/) [default: the embedded default pack].
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// Follow symlinks in the policy folder that lead out of it (or out of its git work
    /// tree); by default such a link stops the pack from loading.
    #[arg(long)]
    pub follow_external_symlinks: bool,
    /// Allow Rego packages under PREFIX besides Charter's namespaces (repeatable).
    #[arg(long, value_name = "PREFIX")]
    pub allow_package: Vec<String>,
    /// Output format.
    #[arg(long, short = 'f', default_value = "text", ignore_case = true, value_parser = super::format::of::<Validation>())]
    pub format: Format,
    /// Exit 1 when a problem at or above this severity is found.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Colour the text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

/// Runs `charter validate`.
pub fn run(args: &ValidateArgs) -> anyhow::Result<ExitCode> {
    let loaded = crate::policies::load(args.policies.as_deref(), args.follow_external_symlinks);
    let validation = match loaded {
        Ok(pack) => authoring::validate(
            &pack,
            &ValidateOptions {
                allow_packages: args.allow_package.clone(),
            },
        ),
        // A settings file that is not YAML stops the pack from loading: a problem, not a crash.
        Err(error) => match error
            .chain()
            .find_map(|cause| cause.downcast_ref::<PackError>())
            .and_then(authoring::unloadable)
        {
            Some(validation) => validation,
            None => return Err(error),
        },
    };
    let options = Options {
        color: args.format == Format::Text && args.color.enabled(true),
        ..Options::default()
    };
    let mut out = output::sink(None)?;
    render(&validation, args.format, &options, &mut out).context("cannot write the result")?;
    out.flush().context("cannot write the result")?;
    Ok(if args.fail_on.fails(validation.worst()) {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
