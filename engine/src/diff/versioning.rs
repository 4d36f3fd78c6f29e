//! Versioning findings: the version bump a set of changes calls for.

use std::cmp::Ordering;
use std::collections::BTreeMap;

use semver::Version;

use crate::contract::{Contract, Product};
use crate::report::{Finding, RuleInfo, Severity};

use super::change::Change;

/// A breaking or governance-breaking change without a major version bump (error).
///
/// For `0.x` versions a minor bump counts as major (`0.3.1` → `0.4.0`), as in Cargo.
pub const RULE_BREAKING_WITHOUT_MAJOR: &str = "versioning/breaking_change_without_major_bump";
/// A compatible change while the version stayed the same (error).
pub const RULE_CHANGE_WITHOUT_BUMP: &str = "versioning/change_without_version_bump";
/// The version is lower than at the base (error).
pub const RULE_VERSION_DECREASED: &str = "versioning/version_decreased";
/// A product of the base is gone (error; a warning when it was `retired` at the base).
pub const RULE_PRODUCT_REMOVED: &str = "versioning/product_removed";

/// How the version moved between two versions of a product (semver precedence: build
/// metadata is ignored, a pre-release is lower than its release).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Bump {
    /// The major number went up (or the minor number of a `0.x` version).
    Major,
    /// Up, but not a major bump: minor, patch or pre-release.
    Compatible,
    /// Same precedence.
    Unchanged,
    /// Lower than before.
    Decreased,
}

/// How the version moved from `old` to `new`; `None` when either is not a semantic version
/// (that is `versioning/invalid_semver`'s business, not a versioning finding).
///
/// ```
/// use charter_engine::diff::{Bump, bump};
/// assert_eq!(bump("1.4.2", "2.0.0"), Some(Bump::Major));
/// assert_eq!(bump("0.3.1", "0.4.0"), Some(Bump::Major));
/// assert_eq!(bump("1.4.2", "1.5.0"), Some(Bump::Compatible));
/// assert_eq!(bump("1.4.2", "1.4.2+build.7"), Some(Bump::Unchanged));
/// assert_eq!(bump("1.4.2", "1.4.1"), Some(Bump::Decreased));
/// assert_eq!(bump("1.4", "2.0.0"), None);
/// ```
#[must_use]
pub fn bump(old: &str, new: &str) -> Option<Bump> {
    let old = Version::parse(old.trim()).ok()?;
    let new = Version::parse(new.trim()).ok()?;
    let precedence = |v: &Version| (v.major, v.minor, v.patch);
    let order = precedence(&new)
        .cmp(&precedence(&old))
        .then_with(|| new.pre.cmp(&old.pre));
    Some(match order {
        Ordering::Less => Bump::Decreased,
        Ordering::Equal => Bump::Unchanged,
        Ordering::Greater
            if new.major > old.major
                || (old.major == 0 && new.major == 0 && new.minor > old.minor) =>
        {
            Bump::Major
        }
        Ordering::Greater => Bump::Compatible,
    })
}

/// The `versioning/*` findings for `changes` between `old` and `new` (as [`diff`] returns
/// them), each at the changed key's line in the new file.
///
/// - version lower than the old one: one `versioning/version_decreased` at `version`;
/// - otherwise, for each breaking or governance change without a major bump:
///   `versioning/breaking_change_without_major_bump`;
/// - and when the version did not move, for each compatible change:
///   `versioning/change_without_version_bump`.
///
/// No finding when either version is not a semantic version.
///
/// [`diff`]: super::diff
#[must_use]
pub fn versioning_findings(old: &Product, new: &Contract, changes: &[Change]) -> Vec<Finding> {
    let Some(bump) = bump(&old.version, &new.product.version) else {
        return Vec::new();
    };
    let finding = |rule: &str, line: u32, message: String| Finding {
        rule: rule.to_owned(),
        severity: Severity::Error,
        message,
        product: Some(new.product.id.clone()),
        domain: Some(new.product.domain.clone()).filter(|d| !d.is_empty()),
        file: new.product.source.file.clone(),
        line,
        waiver: None,
    };
    let (was, is) = (&old.version, &new.product.version);
    match bump {
        Bump::Decreased => vec![finding(
            RULE_VERSION_DECREASED,
            new.locations.line("version"),
            format!("version went down from `{was}` to `{is}`; versions only go up"),
        )],
        Bump::Major => Vec::new(),
        Bump::Compatible | Bump::Unchanged => changes
            .iter()
            .filter_map(|c| {
                let line = new.locations.line(c.new_path());
                if c.class.is_breaking() {
                    let what = if c.class == super::ChangeClass::Governance {
                        "governance-breaking"
                    } else {
                        "breaking"
                    };
                    Some(finding(
                        RULE_BREAKING_WITHOUT_MAJOR,
                        line,
                        format!(
                            "{what} change without a major version bump (`{was}` → `{is}`): {}",
                            c.message
                        ),
                    ))
                } else if bump == Bump::Unchanged {
                    Some(finding(
                        RULE_CHANGE_WITHOUT_BUMP,
                        line,
                        format!(
                            "change without a version bump (still `{is}`): {}",
                            c.message
                        ),
                    ))
                } else {
                    None
                }
            })
            .collect(),
    }
}

/// The finding for a product of the base that no longer exists, at the line of its id
/// in the base version of its file (the file may be gone).
///
/// An error: its consumers lose it. A warning when the base version was already
/// `retired`, the end of a product's lifecycle.
#[must_use]
pub fn removal_finding(old: &Contract) -> Finding {
    let p = &old.product;
    let retired = p
        .status
        .as_deref()
        .is_some_and(|s| s.eq_ignore_ascii_case("retired"));
    Finding {
        rule: RULE_PRODUCT_REMOVED.to_owned(),
        severity: if retired {
            Severity::Warning
        } else {
            Severity::Error
        },
        message: if retired {
            format!("product `{}` was removed (it was retired)", p.id)
        } else {
            format!(
                "product `{}` (version `{}`) was removed without being retired first; its consumers lose it",
                p.id, p.version
            )
        },
        product: Some(p.id.clone()),
        domain: Some(p.domain.clone()).filter(|d| !d.is_empty()),
        file: p.source.file.clone(),
        line: old.locations.line("id"),
        waiver: None,
    }
}

/// Metadata of the `versioning/*` rules this module raises (for SARIF `rules`, HTML).
#[must_use]
pub fn rules() -> BTreeMap<String, RuleInfo> {
    let info = |id: &str, severity, title: &str, description: &str, remediation: &str| {
        (
            id.to_owned(),
            RuleInfo {
                id: id.to_owned(),
                severity: Some(severity),
                title: Some(title.to_owned()),
                description: Some(description.to_owned()),
                remediation: Some(remediation.to_owned()),
            },
        )
    };
    BTreeMap::from([
        info(
            RULE_BREAKING_WITHOUT_MAJOR,
            Severity::Error,
            "Breaking change without a major version bump",
            "A change that breaks consumers (a field removed, a type changed, a field made required, the primary key changed, uniqueness tightened, a table removed) or governance (PII flag or masking removed or weakened, classification lowered, retention or freshness lengthened, availability lowered, owner removed) needs a new major version.",
            "Bump the major version (`1.4.0` → `2.0.0`; `0.3.0` → `0.4.0`), or undo the change.",
        ),
        info(
            RULE_CHANGE_WITHOUT_BUMP,
            Severity::Error,
            "Change without a version bump",
            "Any change to a contract needs a new version, so consumers can tell the versions apart.",
            "Bump the minor version for additions and relaxations, the patch version for fixes.",
        ),
        info(
            RULE_VERSION_DECREASED,
            Severity::Error,
            "Version decreased",
            "The version is lower than at the base revision; versions only go up.",
            "Set a version higher than the base version.",
        ),
        info(
            RULE_PRODUCT_REMOVED,
            Severity::Error,
            "Product removed",
            "A product of the base revision no longer exists; its consumers lose it. Retire it first (status `retired`), then remove it (a warning then).",
            "Restore the contract with status `deprecated` or `retired`, and remove it once no one consumes it.",
        ),
    ])
}
