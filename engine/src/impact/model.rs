//! The effect of a policy change: two reports of one repository compared finding by finding.

use std::collections::{BTreeMap, HashMap, VecDeque};

use serde::Serialize;

use crate::report::{Finding, Report, Severity, Summary};

/// Version of the JSON impact document; bumped on any incompatible change.
pub const IMPACT_VERSION: u32 = 1;

/// What happened to one finding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ChangeKind {
    /// The new policies report it, the old ones did not.
    Added,
    /// The old policies reported it, the new ones do not.
    Removed,
    /// Both report it, with a different severity.
    SeverityChanged,
}

impl ChangeKind {
    /// `added`, `removed`, `severity_changed`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeKind::Added => "added",
            ChangeKind::Removed => "removed",
            ChangeKind::SeverityChanged => "severity_changed",
        }
    }
}

/// One finding that the policy change adds, removes or re-grades.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// Added, removed or severity changed.
    pub kind: ChangeKind,
    /// The rule id.
    pub rule: String,
    /// The severity under the new policies (for a removed finding: under the old ones).
    pub severity: Severity,
    /// The severity under the old policies, for a severity change.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub previous_severity: Option<Severity>,
    /// The message (under the new policies, except for a removed finding).
    pub message: String,
    /// The product id, when the file was read as a product.
    pub product: Option<String>,
    /// The file, relative to the repository root.
    pub file: String,
    /// 1-based line (under the new policies, except for a removed finding).
    pub line: u32,
    /// A live waiver covers the finding: it is shown but does not fail the run.
    pub waived: bool,
}

impl Change {
    fn new(kind: ChangeKind, finding: &Finding, previous: Option<Severity>) -> Self {
        Self {
            kind,
            rule: finding.rule.clone(),
            severity: finding.severity,
            previous_severity: previous,
            message: finding.message.clone(),
            product: finding.product.clone(),
            file: finding.file.clone(),
            line: finding.line,
            waived: finding.waiver.is_some(),
        }
    }

    /// Whether the change makes a finding at or above `threshold` fail the run that did not
    /// before: an added finding at or above it, or a severity raised across it (never a waived
    /// one).
    #[must_use]
    pub fn introduces(&self, threshold: Severity) -> bool {
        if self.waived || self.severity < threshold {
            return false;
        }
        match self.kind {
            ChangeKind::Added => true,
            ChangeKind::Removed => false,
            ChangeKind::SeverityChanged => self.previous_severity.is_some_and(|p| p < threshold),
        }
    }
}

/// Findings counted by severity (waived ones apart).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    /// Errors not waived.
    pub errors: usize,
    /// Warnings not waived.
    pub warnings: usize,
    /// Waived findings of either severity.
    pub waived: usize,
}

impl Counts {
    /// Every finding counted.
    #[must_use]
    pub fn total(&self) -> usize {
        self.errors + self.warnings + self.waived
    }

    fn add(&mut self, severity: Severity, waived: bool) {
        match (waived, severity) {
            (true, _) => self.waived += 1,
            (false, Severity::Error) => self.errors += 1,
            (false, Severity::Warning) => self.warnings += 1,
        }
    }
}

/// How many findings the change adds, removes and re-grades.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Findings that appear.
    pub added: Counts,
    /// Findings that disappear.
    pub removed: Counts,
    /// Findings raised from warning to error.
    pub raised: usize,
    /// Findings lowered from error to warning.
    pub lowered: usize,
}

impl Totals {
    /// No finding changes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.added.total() == 0 && self.removed.total() == 0 && self.raised + self.lowered == 0
    }

    fn add(&mut self, change: &Change) {
        match change.kind {
            ChangeKind::Added => self.added.add(change.severity, change.waived),
            ChangeKind::Removed => self.removed.add(change.severity, change.waived),
            ChangeKind::SeverityChanged if change.previous_severity < Some(change.severity) => {
                self.raised += 1;
            }
            ChangeKind::SeverityChanged => self.lowered += 1,
        }
    }
}

/// Compliance figures of one side of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Figures {
    /// Products.
    pub products: usize,
    /// Products without error findings.
    pub compliant: usize,
    /// Error findings (not waived).
    pub errors: usize,
    /// Warning findings (not waived).
    pub warnings: usize,
    /// `compliant / products` as a percentage, one decimal.
    pub score: f64,
}

impl From<&Summary> for Figures {
    fn from(s: &Summary) -> Self {
        Self {
            products: s.products,
            compliant: s.compliant,
            errors: s.errors,
            warnings: s.warnings,
            score: s.score,
        }
    }
}

/// The effect on one domain.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainImpact {
    /// The domain; `None` for files that were not read as a product.
    pub name: Option<String>,
    /// Figures under the old policies (`None` when the domain had no product).
    pub before: Option<Figures>,
    /// Figures under the new policies (`None` when the domain has no product).
    pub after: Option<Figures>,
    /// The domain's totals.
    pub totals: Totals,
    /// Every change, by file, line, rule, message.
    pub changes: Vec<Change>,
}

/// The effect on one rule, over the whole repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RuleImpact {
    /// The rule id.
    pub rule: String,
    /// The rule's totals.
    pub totals: Totals,
}

/// What a set of new policies changes in the report of a repository, against the old ones.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Impact {
    /// [`IMPACT_VERSION`].
    pub version: u32,
    /// Revision of the old policies.
    pub old_revision: String,
    /// Revision of the new policies.
    pub new_revision: String,
    /// Whole-repository figures under the old policies.
    pub before: Figures,
    /// Whole-repository figures under the new policies.
    pub after: Figures,
    /// Totals over every domain.
    pub totals: Totals,
    /// Per-rule totals, by rule id (only rules with a change).
    pub rules: Vec<RuleImpact>,
    /// Per-domain changes, by name (only domains with a change; files without a domain last).
    pub domains: Vec<DomainImpact>,
}

/// How two findings are recognized as the same: rule, product, file and message. The line is
/// not part of it, so a finding whose key moved is the same finding.
type Key<'a> = (&'a str, Option<&'a str>, &'a str, &'a str);

fn key(f: &Finding) -> Key<'_> {
    (&f.rule, f.product.as_deref(), &f.file, &f.message)
}

impl Impact {
    /// Compares the report of a repository under the old policies with its report under the
    /// new ones.
    ///
    /// Findings are paired first by rule, product, file and message (in order of line when one key
    /// occurs several times), then what is left by rule, product, file and line (the
    /// message of a rule may quote a setting that changed: that is the same finding). A pair
    /// with different severities is a severity change; findings without a pair are added or
    /// removed.
    ///
    /// ```
    /// use std::collections::BTreeMap;
    /// use charter_engine::impact::{ChangeKind, Impact};
    /// use charter_engine::report::{Finding, Report, Severity};
    ///
    /// let finding = |rule: &str, severity, line| Finding {
    ///     rule: rule.to_owned(),
    ///     severity,
    ///     message: "availability 99.5% is below 99.9%".to_owned(),
    ///     product: Some("orders.checkout".to_owned()),
    ///     domain: Some("orders".to_owned()),
    ///     file: "orders/checkout.yaml".to_owned(),
    ///     line,
    ///     waiver: None,
    /// };
    /// let old = Report::new("old", vec![], vec![finding("sla/low", Severity::Warning, 3)], 0, BTreeMap::new());
    /// let new = Report::new("new", vec![], vec![finding("sla/low", Severity::Error, 4)], 0, BTreeMap::new());
    /// let impact = Impact::compare(&old, &new);
    /// assert_eq!(impact.totals.raised, 1);
    /// assert_eq!(impact.domains[0].changes[0].kind, ChangeKind::SeverityChanged);
    /// assert!(impact.introduces(Severity::Error));
    /// ```
    #[must_use]
    pub fn compare(old: &Report, new: &Report) -> Self {
        let changes = pair(old, new);
        let mut totals = Totals::default();
        let mut rules: BTreeMap<&str, Totals> = BTreeMap::new();
        for (_, change) in &changes {
            totals.add(change);
            rules.entry(change.rule.as_str()).or_default().add(change);
        }
        Self {
            version: IMPACT_VERSION,
            old_revision: old.revision.clone(),
            new_revision: new.revision.clone(),
            before: Figures::from(&old.summary),
            after: Figures::from(&new.summary),
            totals,
            rules: rules
                .into_iter()
                .map(|(rule, totals)| RuleImpact {
                    rule: rule.to_owned(),
                    totals,
                })
                .collect(),
            domains: by_domain(&changes, old, new),
        }
    }

    /// Whether the new policies make a finding at or above `threshold` fail the run that did not
    /// before (see [`Change::introduces`]).
    #[must_use]
    pub fn introduces(&self, threshold: Severity) -> bool {
        self.domains
            .iter()
            .flat_map(|d| &d.changes)
            .any(|c| c.introduces(threshold))
    }
}

/// Pairs the findings of two reports and returns each change with its domain.
///
/// First by [`key`] (rule, product, file and message), the k-th occurrence of a key in
/// the old report with its k-th in the new one (both lists are in file, line order);
/// what is left, by rule, product, file and line (a message that changed with the
/// policy); whatever is still unpaired was added or removed.
fn pair<'a>(old: &'a Report, new: &'a Report) -> Vec<(Option<&'a str>, Change)> {
    let mut changes: Vec<(Option<&str>, Change)> = Vec::new();
    let mut unpaired_old: Vec<Option<&Finding>> = old.findings.iter().map(Some).collect();
    let mut unpaired_new: Vec<&Finding> = Vec::new();
    let severity_change = |o: &Finding, f: &'a Finding| {
        (o.severity != f.severity).then(|| {
            (
                f.domain.as_deref(),
                Change::new(ChangeKind::SeverityChanged, f, Some(o.severity)),
            )
        })
    };

    let mut by_key: HashMap<Key<'_>, VecDeque<usize>> = HashMap::new();
    for (i, f) in old.findings.iter().enumerate() {
        by_key.entry(key(f)).or_default().push_back(i);
    }
    for f in &new.findings {
        let paired = by_key
            .get_mut(&key(f))
            .and_then(VecDeque::pop_front)
            .and_then(|i| unpaired_old.get_mut(i).and_then(Option::take));
        match paired {
            Some(o) => changes.extend(severity_change(o, f)),
            None => unpaired_new.push(f),
        }
    }

    let mut by_line: HashMap<(&str, Option<&str>, &str, u32), VecDeque<usize>> = HashMap::new();
    for (i, f) in unpaired_old.iter().enumerate() {
        if let Some(f) = f {
            by_line
                .entry((&f.rule, f.product.as_deref(), &f.file, f.line))
                .or_default()
                .push_back(i);
        }
    }
    for f in unpaired_new {
        let paired = by_line
            .get_mut(&(&f.rule, f.product.as_deref(), &f.file, f.line))
            .and_then(VecDeque::pop_front)
            .and_then(|i| unpaired_old.get_mut(i).and_then(Option::take));
        match paired {
            Some(o) => changes.extend(severity_change(o, f)),
            None => changes.push((f.domain.as_deref(), Change::new(ChangeKind::Added, f, None))),
        }
    }
    for f in unpaired_old.into_iter().flatten() {
        changes.push((
            f.domain.as_deref(),
            Change::new(ChangeKind::Removed, f, None),
        ));
    }
    changes
}

/// The changes grouped by domain (named domains first, by name; then the findings of no
/// domain), each group in file and line order with its totals and the domain's figures.
fn by_domain(changes: &[(Option<&str>, Change)], old: &Report, new: &Report) -> Vec<DomainImpact> {
    let mut domains: BTreeMap<(bool, Option<&str>), Vec<Change>> = BTreeMap::new();
    for (domain, change) in changes {
        domains
            .entry((domain.is_none(), *domain))
            .or_default()
            .push(change.clone());
    }
    let figures = |report: &Report, name: &str| {
        report
            .domains
            .iter()
            .find(|d| d.name == name)
            .map(|d| Figures {
                products: d.products,
                compliant: d.compliant,
                errors: d.errors,
                warnings: d.warnings,
                score: d.score,
            })
    };
    domains
        .into_iter()
        .map(|((_, name), mut changes)| {
            changes.sort_by(|a, b| {
                (&a.file, a.line, &a.rule, &a.message, a.kind)
                    .cmp(&(&b.file, b.line, &b.rule, &b.message, b.kind))
            });
            let mut totals = Totals::default();
            for change in &changes {
                totals.add(change);
            }
            DomainImpact {
                name: name.map(str::to_owned),
                before: name.and_then(|n| figures(old, n)),
                after: name.and_then(|n| figures(new, n)),
                totals,
                changes,
            }
        })
        .collect()
}
