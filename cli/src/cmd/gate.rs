//! What `check` and `report` share: policies, output format, the CI gate (`--fail-on`).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use charter_engine::cache::CacheConfig;
use charter_engine::check::{CheckOptions, check_files};
use charter_engine::contract::ReaderSettings;
use charter_engine::mesh::ContractFile;
use charter_engine::mesh_rules::MeshRules;
use charter_engine::render::{Format, Options, render};
use charter_engine::report::{Report, Severity};
use charter_engine::rules::{RuleEngine, RuleSet, RuleSetOptions};
use clap::{Args, ValueEnum};

use super::limits::LimitArgs;
use crate::output::{self, ColorChoice};

/// Flags common to `check` and `report`.
#[derive(Args, Debug)]
pub struct GateArgs {
    /// A policy folder (rego/, cedar/, data/) to use instead of the embedded default pack.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', default_value = "text", ignore_case = true, value_parser = super::format::of::<Report>())]
    pub format: Format,
    /// Write the report to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Exit 1 when a finding at or above this severity is found.
    #[arg(long, value_enum, default_value_t = FailOn::Error)]
    pub fail_on: FailOn,
    /// Colour the text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    /// With `--format text`: explain every rule that has findings (what it checks, how to fix it).
    #[arg(long)]
    pub explain: bool,
    /// Do not read or write the result cache.
    #[arg(long)]
    pub no_cache: bool,
    /// Where to keep the result cache [default: .charter-cache in the checked folder]. Its
    /// files are sealed with a key kept outside the checked tree (`CHARTER_CACHE_KEY`, else
    /// ~/.cache/charter/cache-key), so a cache committed to the repository is not trusted.
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Per-contract time limit for rule evaluation (e.g. `2s`, `500ms`).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = super::duration::time_limit)]
    pub timeout: std::time::Duration,
    /// Time limit for the repository-wide rules of `charter report`, over all contracts at once.
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = super::duration::time_limit)]
    pub mesh_timeout: std::time::Duration,
    /// How the contract rules run: `compiled` to regorus's bytecode machine (a pack it cannot
    /// compile is interpreted, with a note), or `interpreter`. Both give the same findings,
    /// but for a rule that assigns an undefined reference or collects one into an array
    /// (the machine goes on; see the README).
    #[arg(long, value_enum, value_name = "ENGINE", default_value_t = RegoEngine::Compiled, env = "CHARTER_REGO_ENGINE")]
    pub rego_engine: RegoEngine,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// How the contract rules run (`--rego-engine`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RegoEngine {
    /// Compiled once to bytecode (faster).
    Compiled,
    /// regorus's interpreter.
    Interpreter,
}

impl From<RegoEngine> for RuleEngine {
    fn from(engine: RegoEngine) -> Self {
        match engine {
            RegoEngine::Compiled => Self::Compiled,
            RegoEngine::Interpreter => Self::Interpreter,
        }
    }
}

/// The severity that fails the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum FailOn {
    /// Errors fail the run.
    Error,
    /// Warnings and errors fail the run.
    Warning,
    /// Nothing fails the run.
    Never,
}

impl FailOn {
    /// The least severity that fails the run, if any does.
    #[must_use]
    pub fn threshold(self) -> Option<Severity> {
        match self {
            Self::Error => Some(Severity::Error),
            Self::Warning => Some(Severity::Warning),
            Self::Never => None,
        }
    }

    /// Whether a run whose worst finding is `worst` fails.
    #[must_use]
    pub fn fails(self, worst: Option<Severity>) -> bool {
        matches!((worst, self.threshold()), (Some(worst), Some(t)) if worst >= t)
    }
}

/// A loaded, compiled policy pack and what a check needs from it.
#[derive(Debug)]
pub struct Prepared {
    /// The pack.
    pub pack: charter_engine::PolicyPack,
    /// Its compiled contract rules.
    pub rules: RuleSet,
    /// What the contract readers take from its settings.
    pub reader: ReaderSettings,
    /// Cache and load options.
    pub options: CheckOptions,
    /// The compiled repository-wide rules (`charter.mesh.*`), when the pack has any.
    pub mesh_rules: Option<MeshRules>,
}

impl Prepared {
    /// Checks `files` against the contract rules (with a progress bar on a terminal).
    pub fn check(&self, files: &[ContractFile]) -> Report {
        let progress = output::Progress::new("contracts");
        check_files(files, &self.rules, &self.reader, &self.options, &progress)
    }
}

impl GateArgs {
    /// Loads and compiles the pack (`--policies`, or the embedded default).
    pub fn prepare(&self, default_cache: Option<PathBuf>) -> anyhow::Result<Prepared> {
        self.prepare_with(self.policies.as_deref(), default_cache)
    }

    /// Loads and compiles the pack in `policies` (or the embedded default).
    pub fn prepare_with(
        &self,
        policies: Option<&std::path::Path>,
        default_cache: Option<PathBuf>,
    ) -> anyhow::Result<Prepared> {
        let pack = crate::policies::load(policies, self.limits.follow_external_symlinks)?;
        let rules = RuleSet::compile(
            &pack,
            RuleSetOptions {
                timeout: self.timeout,
                engine: self.rego_engine.into(),
            },
        )
        .context("the policies do not compile")?;
        if let Some(why) = rules.interpreted_because() {
            let _ = writeln!(
                std::io::stderr(),
                "note: the contract rules run in regorus's interpreter (slower), not compiled: {why}"
            );
        }
        let reader = self.limits.reader(pack.settings());
        let mesh_rules = MeshRules::from_rules(&rules, &pack)
            .context("the mesh policies do not compile")?
            .map(|rules| rules.with_timeout(self.mesh_timeout));
        let options = CheckOptions {
            cache: self.cache(default_cache),
        };
        Ok(Prepared {
            pack,
            rules,
            reader,
            options,
            mesh_rules,
        })
    }

    /// The result cache: its folder and the key that authenticates it (see
    /// [`crate::cache_key`]); none with `--no-cache`, when there is no key to be had, or
    /// when the folder is a symlink.
    fn cache(&self, default_dir: Option<PathBuf>) -> Option<CacheConfig> {
        if self.no_cache {
            return None;
        }
        let dir = self.cache_dir.clone().or(default_dir)?;
        // Without a cache the run is only slower: say why, and check every contract.
        let why = if std::fs::symlink_metadata(&dir).is_ok_and(|m| m.file_type().is_symlink()) {
            // The checked tree (a pull request) could point it anywhere the run may write.
            format!(
                "`{}` is a symlink; give the folder it points to with --cache-dir",
                dir.display()
            )
        } else {
            match crate::cache_key::load() {
                Ok(Some(key)) => return Some(CacheConfig { dir, key }),
                Ok(None) => format!(
                    "no place for its key (set {} or HOME)",
                    crate::cache_key::ENV
                ),
                Err(e) => format!("{e:#}"),
            }
        };
        let _ = writeln!(
            std::io::stderr(),
            "note: running without the result cache: {why}"
        );
        None
    }

    /// Loads the pack, checks `files`, renders the report and returns the exit code.
    pub fn run(
        &self,
        files: &[ContractFile],
        default_cache: Option<PathBuf>,
    ) -> anyhow::Result<ExitCode> {
        let report = self.prepare(default_cache)?.check(files);
        self.emit(&report)
    }

    /// Renders the report and returns the exit code for `--fail-on`.
    pub fn emit(&self, report: &Report) -> anyhow::Result<ExitCode> {
        let render_options = Options {
            color: self.format == Format::Text && self.color.enabled(self.output.is_none()),
            explain: self.explain,
            generated_at: (self.format == Format::Html).then(|| {
                humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string()
            }),
            ..Options::default()
        };
        let mut out = output::sink(self.output.as_deref())?;
        render(report, self.format, &render_options, &mut out)
            .context("cannot write the report")?;
        out.flush().context("cannot write the report")?;
        Ok(if self.fail_on.fails(report.worst()) {
            ExitCode::from(1)
        } else {
            ExitCode::SUCCESS
        })
    }
}
