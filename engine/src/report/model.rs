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
    /// Metadata of the rules that were evaluated, by id (not serialized in the JSON report).
    #[serde(skip)]
    pub rules: BTreeMap<String, RuleInfo>,
}

impl Report {
    /// Builds a report: sorts products and findings, computes per-product compliance and scores.
    #[must_use]
    pub fn new(
        revision: impl Into<String>,
        mut products: Vec<ProductSummary>,
        mut findings: Vec<Finding>,
        unreadable: usize,
        rules: BTreeMap<String, RuleInfo>,
    ) -> Self {
        findings.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        findings.dedup();
        let failing: std::collections::HashSet<&str> = findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .map(|f| f.file.as_str())
            .collect();
        for p in &mut products {
            p.compliant = !failing.contains(p.file.as_str());
        }
        products.sort_by(|a, b| (&a.id, &a.file).cmp(&(&b.id, &b.file)));

        let mut domains: BTreeMap<&str, DomainSummary> = BTreeMap::new();
        for p in &products {
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
        for f in &findings {
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
        let compliant = products.iter().filter(|p| p.compliant).count();
        let summary = Summary {
            products: products.len(),
            compliant,
            unreadable,
            errors: findings
                .iter()
                .filter(|f| f.severity == Severity::Error)
                .count(),
            warnings: findings
                .iter()
                .filter(|f| f.severity == Severity::Warning)
                .count(),
            score: score(compliant, products.len()),
        };
        Self {
            version: REPORT_VERSION,
            revision: revision.into(),
            summary,
            domains,
            products,
            findings,
            rules,
        }
    }

    /// The highest severity of any finding, if there is one.
    #[must_use]
    pub fn worst(&self) -> Option<Severity> {
        self.findings.iter().map(|f| f.severity).max()
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
