//! `charter check PATH...`: the given contract files or folders, per-contract rules.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use charter_engine::mesh::discover;
use clap::Args;

use super::gate::GateArgs;

/// Arguments of `charter check`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  charter check domains/orders/order_events.yaml\n  charter check domains/ --format github\n  git diff --name-only origin/main -- '*.yaml' | xargs charter check --fail-on warning"
)]
pub struct CheckArgs {
    /// Contract files, or folders to search for `*.yaml` / `*.yml` contracts.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Glob of contract files inside folders (repeatable) [default: **/*.yaml, **/*.yml].
    #[arg(long, value_name = "GLOB")]
    pub include: Vec<String>,
    #[command(flatten)]
    pub gate: GateArgs,
}

/// Runs `charter check`.
pub fn run(args: &CheckArgs) -> anyhow::Result<ExitCode> {
    let mut load = args.gate.limits.load_options();
    if !args.include.is_empty() {
        load.include.clone_from(&args.include);
    }
    let mut files = Vec::new();
    for path in &args.paths {
        let found =
            discover(path, &load).with_context(|| format!("cannot check `{}`", path.display()))?;
        let is_dir = path.is_dir();
        files.extend(found.into_iter().map(|mut f| {
            if is_dir {
                f.display = format!(
                    "{}/{}",
                    path.display().to_string().trim_end_matches('/'),
                    f.display
                );
            }
            f
        }));
    }
    files.sort_by(|a, b| a.display.cmp(&b.display));
    files.dedup_by(|a, b| a.display == b.display);
    args.gate.run(&files, Some(PathBuf::from(".charter-cache")))
}
