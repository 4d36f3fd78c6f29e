//! The `charter diff` document: two versions of a contract, their classified changes
//! (each at the line of its path in the file of its side), the semver bump and the
//! versioning findings. [`crate::render`] writes it as JSON (as it is) or as text (the
//! changes grouped by class, for a person).

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
}
