//! `charter diff OLD NEW`: the classified changes between two versions of a contract.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use charter_engine::contract::{Contract, ReaderSettings, read_bytes};

use super::limits::LimitArgs;
use charter_engine::diff::{Bump, Change, ChangeClass, Side, bump, diff, versioning_findings};
use charter_engine::report::Finding;
use clap::{Args, ValueEnum};
use owo_colors::{OwoColorize, Style};
use serde::Serialize;

use crate::output::{self, ColorChoice};

/// Arguments of `charter diff`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  charter diff old/order_events.yaml domains/orders/order_events.yaml\n  git show origin/main:domains/orders/order_events.yaml > /tmp/old.yaml\n  charter diff /tmp/old.yaml domains/orders/order_events.yaml --format json\n\nExit codes: 0 no breaking change, 1 breaking or governance-breaking changes, 2 a file could not be read."
)]
pub struct DiffArgs {
    /// The old version of the contract.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The new version of the contract.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// A policy folder whose settings the contract readers use, instead of the embedded pack's.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = DiffFormat::Text)]
    pub format: DiffFormat,
    /// Colour the text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Output formats of `charter diff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    /// Changes grouped by class, for a person.
    Text,
    /// One JSON document.
    Json,
}

/// One version as the JSON output names it.
#[derive(Serialize)]
struct VersionOf<'a> {
    file: &'a str,
    id: &'a str,
    version: &'a str,
}

/// A change with the line of its path in the file of its side.
#[derive(Serialize)]
struct Located<'a> {
    #[serde(flatten)]
    change: &'a Change,
    line: u32,
}

#[derive(Serialize)]
struct Summary {
    breaking: usize,
    governance: usize,
    compatible: usize,
}

#[derive(Serialize)]
struct Document<'a> {
    old: VersionOf<'a>,
    new: VersionOf<'a>,
    /// `major`, `compatible`, `unchanged`, `decreased`, or null when a version is not semver.
    bump: Option<&'static str>,
    /// Whether a breaking or governance-breaking change was found (the exit code 1).
    breaking: bool,
    summary: Summary,
    changes: Vec<Located<'a>>,
    findings: &'a [Finding],
}

/// Runs `charter diff`.
pub fn run(args: &DiffArgs) -> anyhow::Result<ExitCode> {
    let pack = crate::policies::load(
        args.policies.as_deref(),
        args.limits.follow_external_symlinks,
    )?;
    let reader = args.limits.reader(pack.settings());
    let old = load(&args.old, &reader, &args.limits)?;
    let new = load(&args.new, &reader, &args.limits)?;
    let changes = diff(&old.product, &new.product);
    let mut findings = versioning_findings(&old.product, &new, &changes);
    findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    let breaking = changes.iter().any(|c| c.class.is_breaking());

    let mut out = output::sink(None)?;
    match args.format {
        DiffFormat::Json => {
            let count = |class| changes.iter().filter(|c| c.class == class).count();
            let (o, n) = (&old.product, &new.product);
            let document = Document {
                old: VersionOf {
                    file: &o.source.file,
                    id: &o.id,
                    version: &o.version,
                },
                new: VersionOf {
                    file: &n.source.file,
                    id: &n.id,
                    version: &n.version,
                },
                bump: bump(&o.version, &n.version).map(|b| match b {
                    Bump::Major => "major",
                    Bump::Compatible => "compatible",
                    Bump::Unchanged => "unchanged",
                    Bump::Decreased => "decreased",
                }),
                breaking,
                summary: Summary {
                    breaking: count(ChangeClass::Breaking),
                    governance: count(ChangeClass::Governance),
                    compatible: count(ChangeClass::Compatible),
                },
                changes: changes
                    .iter()
                    .map(|change| Located {
                        change,
                        line: line(change, &old, &new),
                    })
                    .collect(),
                findings: &findings,
            };
            serde_json::to_writer_pretty(&mut out, &document).context("cannot write the diff")?;
            writeln!(out).context("cannot write the diff")?;
        }
        DiffFormat::Text => {
            let color = args.color.enabled(true);
            text(&mut out, &old, &new, &changes, &findings, color)
                .context("cannot write the diff")?;
        }
    }
    out.flush().context("cannot write the diff")?;
    Ok(if breaking {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads one contract file; anything wrong with it stops the command (exit 2).
fn load(path: &Path, reader: &ReaderSettings, limits: &LimitArgs) -> anyhow::Result<Contract> {
    let bytes = limits.read_file(path)?;
    let display = path.to_string_lossy().replace('\\', "/");
    read_bytes(&display, &bytes, reader)
        .map_err(|e| anyhow::anyhow!("`{display}` is not a readable contract: {e}"))
}

/// The line of a change's path in the file of its side.
fn line(change: &Change, old: &Contract, new: &Contract) -> u32 {
    match change.side {
        Side::Old => old.locations.line(&change.path),
        Side::New => new.locations.line(&change.path),
    }
}

fn text(
    out: &mut dyn Write,
    old: &Contract,
    new: &Contract,
    changes: &[Change],
    findings: &[Finding],
    color: bool,
) -> std::io::Result<()> {
    let paint = |s: &str, style: Style| {
        if color {
            s.style(style).to_string()
        } else {
            s.to_owned()
        }
    };
    let (o, n) = (&old.product, &new.product);
    writeln!(
        out,
        "{} ({} {}) → {} ({} {})",
        o.source.file, o.id, o.version, n.source.file, n.id, n.version
    )?;
    if changes.is_empty() {
        writeln!(out, "\nno changes")?;
    }
    let groups = [
        (ChangeClass::Breaking, "breaking", Style::new().red().bold()),
        (
            ChangeClass::Governance,
            "governance-breaking",
            Style::new().magenta().bold(),
        ),
        (
            ChangeClass::Compatible,
            "compatible",
            Style::new().green().bold(),
        ),
    ];
    for (class, title, style) in groups {
        let group: Vec<&Change> = changes.iter().filter(|c| c.class == class).collect();
        if group.is_empty() {
            continue;
        }
        writeln!(out, "\n{} ({})", paint(title, style), group.len())?;
        let width = group
            .iter()
            .map(|c| c.kind.as_str().len())
            .max()
            .unwrap_or(0);
        for c in group {
            let file = match c.side {
                Side::Old => &o.source.file,
                Side::New => &n.source.file,
            };
            writeln!(
                out,
                "  {:<width$}  {}  {}:{}",
                c.kind.as_str(),
                c.message,
                paint(file, Style::new().dimmed()),
                line(c, old, new),
            )?;
        }
    }
    if !findings.is_empty() {
        writeln!(out, "\n{}", paint("versioning", Style::new().bold()))?;
        for f in findings {
            writeln!(
                out,
                "  {}:{}: {} {}: {}",
                f.file,
                f.line,
                paint(f.severity.as_str(), Style::new().red().bold()),
                f.rule,
                f.message
            )?;
        }
    }
    let count = |class| changes.iter().filter(|c| c.class == class).count();
    writeln!(
        out,
        "\n{} breaking, {} governance-breaking, {} compatible change(s)",
        count(ChangeClass::Breaking),
        count(ChangeClass::Governance),
        count(ChangeClass::Compatible)
    )?;
    Ok(())
}
