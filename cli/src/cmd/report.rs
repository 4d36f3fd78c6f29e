//! `charter report [DIR]`: every contract of a repository, with per-domain scores.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use charter_engine::mesh::{LoadOptions, discover};
use clap::Args;

use super::gate::GateArgs;

/// Arguments of `charter report`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  charter report testdata/mesh\n  charter report . --format sarif --output charter.sarif\n  charter report . --format junit --output charter.xml --fail-on never\n  charter report . --policies ./governance/policies --format markdown"
)]
pub struct ReportArgs {
    /// The repository of contracts (paths in the report are relative to it).
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
    /// Glob of contract files (repeatable) [default: **/*.yaml, **/*.yml].
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    /// Glob of files that are not contracts (repeatable, added to the defaults: hidden folders, waivers.yaml).
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    #[command(flatten)]
    pub gate: GateArgs,
}

/// Runs `charter report`.
pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    if !args.dir.is_dir() {
        anyhow::bail!(
            "`{}` is not a folder; `charter report` takes the root of a repository of contracts (use `charter check FILE` for single files)",
            args.dir.display()
        );
    }
    let mut load = LoadOptions::default();
    if !args.include.is_empty() {
        load.include.clone_from(&args.include);
    }
    load.exclude.extend(args.exclude.iter().cloned());
    let files = discover(&args.dir, &load)
        .with_context(|| format!("cannot read `{}`", args.dir.display()))?;
    args.gate.run(&files, Some(args.dir.join(".charter-cache")))
}
