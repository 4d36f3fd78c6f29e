//! `charter report [DIR]`: every contract of a repository — per-contract rules, repository-wide
//! (mesh) rules, breaking changes against a base revision, waivers — with per-domain scores.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use charter_engine::fsread::{Confinement, ReadError, read_text};
use charter_engine::mesh::{LoadOptions, discover};
use charter_engine::report::plan::{ReportError, ReportPlan};
use clap::Args;

use super::gate::GateArgs;
use crate::output;

/// Arguments of `charter report`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  charter report testdata/mesh\n  charter report . --format sarif --output charter.sarif\n  charter report . --base origin/main --format github\n  charter report . --format html --output audit.html --fail-on never\n  charter report . --policies ./new-policies --compare-policies ./policies --format markdown"
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
    /// The waivers file [default: waivers.yaml in DIR, when it exists].
    #[arg(long, value_name = "FILE")]
    pub waivers: Option<PathBuf>,
    /// Judge waiver expiry as of this date (`YYYY-MM-DD`) instead of today, for reproducible reports.
    #[arg(long, value_name = "DATE", hide_short_help = true)]
    pub today: Option<String>,
    /// Compare every contract with its version at this git revision (e.g. `origin/main`):
    /// breaking changes need a major version bump, any change a version bump.
    #[arg(long, value_name = "GIT_REF")]
    pub base: Option<String>,
    /// Preview a policy change: report what the policies of `--policies` (or the default
    /// pack) add, remove or re-grade against these (old) policies, per domain, instead of the
    /// findings themselves (formats text, json, markdown). Exits 1 when the change makes a
    /// finding at or above `--fail-on` fail that did not before, 0 otherwise.
    #[arg(long, value_name = "DIR")]
    pub compare_policies: Option<PathBuf>,
    #[command(flatten)]
    pub gate: GateArgs,
}

impl ReportArgs {
    /// The contract files of the repository.
    pub fn files(&self) -> anyhow::Result<Vec<charter_engine::mesh::ContractFile>> {
        if !self.dir.is_dir() {
            anyhow::bail!(
                "`{}` is not a folder; `charter report` takes the root of a repository of contracts (use `charter check FILE` for single files)",
                self.dir.display()
            );
        }
        discover(&self.dir, &self.load_options())
            .with_context(|| format!("cannot read `{}`", self.dir.display()))
    }

    /// Which files are contracts.
    pub fn load_options(&self) -> LoadOptions {
        let mut load = self.gate.limits.load_options();
        if !self.include.is_empty() {
            load.include.clone_from(&self.include);
        }
        load.exclude.extend(self.exclude.iter().cloned());
        load
    }

    /// Builds the full report with the policies in `policies` (the embedded default pack when `None`).
    pub fn build(
        &self,
        policies: Option<&std::path::Path>,
    ) -> anyhow::Result<charter_engine::report::Report> {
        // The folder is walked while the pack compiles: each takes a few tens of
        // milliseconds on a large repository, and neither needs the other.
        let (files, prepared) = rayon::join(
            || self.files(),
            || {
                self.gate
                    .prepare_with(policies, Some(self.dir.join(".charter-cache")))
            },
        );
        let (files, prepared) = (files?, prepared?);
        let plan = ReportPlan {
            rules: &prepared.rules,
            reader: &prepared.reader,
            options: &prepared.options,
            pack_revision: prepared.pack.revision(),
            mesh_rules: prepared.mesh_rules.as_ref(),
            keep_mesh: self.base.is_some(),
        };
        let progress = output::Progress::new("contracts");
        let run = plan.run(&files, &progress).map_err(|e| match e {
            ReportError::MeshTimeout { .. } => anyhow::anyhow!(
                "{e}; raise `--mesh-timeout`, or run `charter check` for the per-contract rules alone"
            ),
            e @ ReportError::MeshRules(_) => e.into(),
        })?;
        let mut report = run.report;
        if let (Some(base), Some(mesh)) = (&self.base, &run.mesh) {
            report.add_findings(super::base::findings(&self.dir, base, mesh, &prepared)?);
            report.rules.extend(charter_engine::diff::rules());
        }
        self.apply_waivers(report, &prepared)
    }

    /// Applies the waivers file (`--waivers`, or `waivers.yaml` in DIR when it exists).
    fn apply_waivers(
        &self,
        mut report: charter_engine::report::Report,
        prepared: &super::gate::Prepared,
    ) -> anyhow::Result<charter_engine::report::Report> {
        // `waivers.yaml` is there when anything is, even a FIFO or a dangling link: reading
        // it says what is wrong with it.
        let waivers = match &self.waivers {
            Some(path) => Some(path.clone()),
            None => Some(self.dir.join("waivers.yaml")).filter(|p| p.symlink_metadata().is_ok()),
        };
        if let Some(path) = waivers {
            let display = path
                .strip_prefix(&self.dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let cannot_read = || format!("cannot read the waivers file `{}`", path.display());
            let limits = &self.gate.limits;
            let tree = Confinement::for_tree(&path, limits.follow_external_symlinks)
                .with_context(cannot_read)?;
            let text = match read_text(&path, limits.max_file_size, &tree) {
                Ok(text) => text,
                Err(ReadError::Io(e)) if e.kind() != std::io::ErrorKind::InvalidData => {
                    return Err(e).with_context(cannot_read);
                }
                Err(e) => {
                    let hint = if matches!(e, ReadError::TooLarge { .. }) {
                        " (--max-file-size)"
                    } else {
                        ""
                    };
                    charter_engine::waiver::unreadable(
                        &mut report,
                        &display,
                        &format!("{e}{hint}"),
                    );
                    return Ok(report);
                }
            };
            let settings =
                charter_engine::waiver::WaiverSettings::from_settings(prepared.pack.settings());
            let today = self
                .today
                .clone()
                .unwrap_or_else(charter_engine::waiver::today);
            charter_engine::waiver::apply(&mut report, &display, &text, &settings, &today);
        }
        Ok(report)
    }
}

/// Runs `charter report`.
pub fn run(args: &ReportArgs) -> anyhow::Result<ExitCode> {
    if let Some(old) = &args.compare_policies {
        return super::impact::run(args, old);
    }
    let report = args.build(args.gate.policies.as_deref())?;
    args.gate.emit(&report)
}
