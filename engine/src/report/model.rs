//! The report model: what every renderer renders.

use std::collections::BTreeMap;

use serde::Serialize;

use super::finding::{Finding, Severity};

/// Version of the JSON report document; bumped on any incompatible change.
pub const REPORT_VERSION: u32 = 1;

/// One product as the report lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProductSummary {
    /// Product id.
    pub id: String,
    /// Domain.
    pub domain: String,
    /// File, relative to the repository root.
    pub file: String,
    /// Contract format (`datamesh/v1`, `odcs`).
    pub format: String,
    /// No error finding.
    pub compliant: bool,
}

/// Per-domain figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DomainSummary {
    /// Domain name.
    pub name: String,
    /// Products in the domain.
    pub products: usize,
    /// Products without error findings.
    pub compliant: usize,
    /// Error findings in the domain.
    pub errors: usize,
    /// Warning findings in the domain.
    pub warnings: usize,
    /// `compliant / products` as a percentage, one decimal.
    pub score: f64,
}

/// Whole-run figures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Summary {
    /// Products read.
    pub products: usize,
    /// Products without error findings.
    pub compliant: usize,
    /// Files that could not be read as contracts.
    pub unreadable: usize,
    /// Error findings.
    pub errors: usize,
    /// Warning findings.
    pub warnings: usize,
    /// Findings a live waiver covers (not counted as errors or warnings).
    pub waived: usize,
    /// `compliant / products` as a percentage, one decimal (100 with no products).
    pub score: f64,
}

/// A metadata entry for a rule that appears in the report (for SARIF `rules`, HTML, `--explain`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Default)]
pub struct RuleInfo {
    /// `<area>/<name>`.
    pub id: String,
    /// Default severity.
    pub severity: Option<Severity>,
    /// One line.
    pub title: Option<String>,
    /// What the rule checks and why.
    pub description: Option<String>,
    /// How to fix a finding.
    pub remediation: Option<String>,
}

/// A waiver as the report shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WaiverStatus {
    /// The rule id it waives.
    pub rule: String,
    /// The product id glob it applies to.
    pub product: String,
    /// Why.
    pub reason: String,
    /// Who approved it.
    pub approved_by: String,
    /// Expiry date (`YYYY-MM-DD`).
    pub expires: String,
    /// Days until it expires (negative once expired).
    pub days_left: i64,
    /// Findings it covers in this run.
    pub matched: usize,
    /// The waivers file and the entry's line.
    pub file: String,
    /// 1-based line of the entry.
    pub line: u32,
}

/// A compliance report over a set of contracts.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    /// [`REPORT_VERSION`].
    pub version: u32,
    /// The policy revision (content hash of the pack).
    pub revision: String,
    /// Whole-run figures.
    pub summary: Summary,
    /// Per-domain figures, by name.
    pub domains: Vec<DomainSummary>,
    /// Every product, by id then file.
    pub products: Vec<ProductSummary>,
    /// Every finding, sorted by file, line, rule, message.
    pub findings: Vec<Finding>,
    /// The waivers of the repository and what became of them (empty without a waivers file).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub waivers: Vec<WaiverStatus>,
    /// Metadata of the rules that were evaluated, by id (not serialized in the JSON report).
    #[serde(skip)]
    pub rules: BTreeMap<String, RuleInfo>,
}

impl Report {
    /// Builds a report: sorts products and findings, computes per-product compliance and scores.
    #[must_use]
    pub fn new(
        revision: impl Into<String>,
        products: Vec<ProductSummary>,
        findings: Vec<Finding>,
        unreadable: usize,
        rules: BTreeMap<String, RuleInfo>,
    ) -> Self {
        let mut report = Self {
            version: REPORT_VERSION,
            revision: revision.into(),
            summary: Summary {
                products: 0,
                compliant: 0,
                unreadable,
                errors: 0,
                warnings: 0,
                waived: 0,
                score: 100.0,
            },
            domains: Vec::new(),
            products,
            findings,
            waivers: Vec::new(),
            rules,
        };
        report.recompute();
        report
    }

    /// Adds findings from a later stage (mesh rules, breaking changes, waivers) and
    /// recomputes compliance and scores.
    pub fn add_findings(&mut self, findings: impl IntoIterator<Item = Finding>) {
        self.findings.extend(findings);
        self.recompute();
    }

    /// Sorts, deduplicates and recomputes every derived figure.
    pub fn recompute(&mut self) {
        self.findings
            .sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        self.findings.dedup();
        let failing: std::collections::HashSet<&str> = self
            .findings
            .iter()
            .filter(|f| f.counts() && f.severity == Severity::Error)
            .map(|f| f.file.as_str())
            .collect();
        for p in &mut self.products {
            p.compliant = !failing.contains(p.file.as_str());
        }
        self.products
            .sort_by(|a, b| (&a.id, &a.file).cmp(&(&b.id, &b.file)));

        let mut domains: BTreeMap<&str, DomainSummary> = BTreeMap::new();
        for p in &self.products {
            let d = domains.entry(&p.domain).or_insert_with(|| DomainSummary {
                name: p.domain.clone(),
                products: 0,
                compliant: 0,
                errors: 0,
                warnings: 0,
                score: 0.0,
            });
            d.products += 1;
            d.compliant += usize::from(p.compliant);
        }
        for f in self.findings.iter().filter(|f| f.counts()) {
            if let Some(d) = f.domain.as_deref().and_then(|name| domains.get_mut(name)) {
                match f.severity {
                    Severity::Error => d.errors += 1,
                    Severity::Warning => d.warnings += 1,
                }
            }
        }
        let mut domains: Vec<DomainSummary> = domains.into_values().collect();
        for d in &mut domains {
            d.score = score(d.compliant, d.products);
        }
        self.domains = domains;
        let compliant = self.products.iter().filter(|p| p.compliant).count();
        let count = |severity| {
            self.findings
                .iter()
                .filter(|f| f.counts() && f.severity == severity)
                .count()
        };
        self.summary = Summary {
            products: self.products.len(),
            compliant,
            unreadable: self.summary.unreadable,
            errors: count(Severity::Error),
            warnings: count(Severity::Warning),
            waived: self.findings.iter().filter(|f| f.waiver.is_some()).count(),
            score: score(compliant, self.products.len()),
        };
    }

    /// The highest severity of any finding that counts (waived findings never fail a run).
    #[must_use]
    pub fn worst(&self) -> Option<Severity> {
        self.findings
            .iter()
            .filter(|f| f.counts())
            .map(|f| f.severity)
            .max()
    }
}

fn score(compliant: usize, products: usize) -> f64 {
    if products == 0 {
        return 100.0;
    }
    #[expect(
        clippy::cast_precision_loss,
        reason = "product counts are far below 2^52"
    )]
    let ratio = compliant as f64 * 100.0 / products as f64;
    (ratio * 10.0).round() / 10.0
}
