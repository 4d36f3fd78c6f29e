//! The `charter diff` document: two versions of a contract, their classified changes
//! (each at the line of its path in the file of its side), the semver bump and the
//! versioning findings. `--format json` serializes it as it is; [`DiffDocument::render_text`]
//! groups the changes by class for a person.

#[cfg(feature = "render")]
use std::io::{self, Write};

#[cfg(feature = "render")]
use owo_colors::{OwoColorize, Style};
use serde::Serialize;

use super::change::{Change, ChangeClass, Side};
use super::classify::diff;
use super::versioning::{Bump, bump, versioning_findings};
use crate::contract::Contract;
use crate::report::Finding;

/// One version of the contract: its file, product id and version.
#[derive(Debug, Clone, Serialize)]
pub struct VersionOf {
    /// The file, as given.
    pub file: String,
    /// The product id.
    pub id: String,
    /// The version string, as written.
    pub version: String,
}

/// A change with the line of its path in the file of its side.
#[derive(Debug, Clone, Serialize)]
pub struct LocatedChange {
    /// The change.
    #[serde(flatten)]
    pub change: Change,
    /// Its line in the old file (a removal) or the new one.
    pub line: u32,
}

/// How many changes of each class.
#[derive(Debug, Clone, Copy, Serialize)]
pub struct DiffSummary {
    /// Breaking changes.
    pub breaking: usize,
    /// Governance-breaking changes.
    pub governance: usize,
    /// Compatible changes.
    pub compatible: usize,
}

/// The whole comparison of two versions of a contract.
#[derive(Debug, Clone, Serialize)]
pub struct DiffDocument {
    /// The old version.
    pub old: VersionOf,
    /// The new version.
    pub new: VersionOf,
    /// `major`, `compatible`, `unchanged`, `decreased`, or null when a version is not semver.
    pub bump: Option<&'static str>,
    /// Whether a breaking or governance-breaking change was found.
    pub breaking: bool,
    /// Changes per class.
    pub summary: DiffSummary,
    /// The changes, in the order the classification found them.
    pub changes: Vec<LocatedChange>,
    /// The versioning findings (a breaking change without a major bump, …), sorted.
    pub findings: Vec<Finding>,
}

impl VersionOf {
    fn of(contract: &Contract) -> Self {
        let p = &contract.product;
        Self {
            file: p.source.file.clone(),
            id: p.id.clone(),
            version: p.version.clone(),
        }
    }
}

impl DiffDocument {
    /// Compares `old` with `new`.
    #[must_use]
    pub fn build(old: &Contract, new: &Contract) -> Self {
        let changes = diff(&old.product, &new.product);
        let mut findings = versioning_findings(&old.product, new, &changes);
        findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        let count = |class| changes.iter().filter(|c| c.class == class).count();
        let summary = DiffSummary {
            breaking: count(ChangeClass::Breaking),
            governance: count(ChangeClass::Governance),
            compatible: count(ChangeClass::Compatible),
        };
        let breaking = changes.iter().any(|c| c.class.is_breaking());
        let located = changes
            .into_iter()
            .map(|change| {
                let line = match change.side {
                    Side::Old => old.locations.line(&change.path),
                    Side::New => new.locations.line(&change.path),
                };
                LocatedChange { change, line }
            })
            .collect();
        Self {
            old: VersionOf::of(old),
            new: VersionOf::of(new),
            bump: bump(&old.product.version, &new.product.version).map(|b| match b {
                Bump::Major => "major",
                Bump::Compatible => "compatible",
                Bump::Unchanged => "unchanged",
                Bump::Decreased => "decreased",
            }),
            breaking,
            summary,
            changes: located,
            findings,
        }
    }

    #[cfg(feature = "render")]
    /// The changes grouped by class (breaking, governance-breaking, compatible), the
    /// versioning findings and the counts; coloured when `color`.
    ///
    /// # Errors
    /// Writing to `out` failed.
    pub fn render_text(&self, out: &mut dyn Write, color: bool) -> io::Result<()> {
        let paint = |s: &str, style: Style| {
            if color {
                s.style(style).to_string()
            } else {
                s.to_owned()
            }
        };
        let (o, n) = (&self.old, &self.new);
        writeln!(
            out,
            "{} ({} {}) → {} ({} {})",
            o.file, o.id, o.version, n.file, n.id, n.version
        )?;
        if self.changes.is_empty() {
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
            let group: Vec<&LocatedChange> = self
                .changes
                .iter()
                .filter(|c| c.change.class == class)
                .collect();
            if group.is_empty() {
                continue;
            }
            writeln!(out, "\n{} ({})", paint(title, style), group.len())?;
            let width = group
                .iter()
                .map(|c| c.change.kind.as_str().len())
                .max()
                .unwrap_or(0);
            for c in group {
                let file = match c.change.side {
                    Side::Old => &o.file,
                    Side::New => &n.file,
                };
                writeln!(
                    out,
                    "  {:<width$}  {}  {}:{}",
                    c.change.kind.as_str(),
                    c.change.message,
                    paint(file, Style::new().dimmed()),
                    c.line,
                )?;
            }
        }
        if !self.findings.is_empty() {
            writeln!(out, "\n{}", paint("versioning", Style::new().bold()))?;
            for f in &self.findings {
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
        let s = &self.summary;
        writeln!(
            out,
            "\n{} breaking, {} governance-breaking, {} compatible change(s)",
            s.breaking, s.governance, s.compatible
        )
    }
}
