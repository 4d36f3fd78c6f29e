//! Line coverage of the pack's Rego by its Rego tests, from regorus' coverage report.
//!
//! A line counts when it holds an expression of a rule (its value, or a statement of one of
//! its bodies); it is covered when a test evaluated one. Only policy files count, not the
//! tests (`*_test.rego`). regorus leaves out of its report a file no test reached at all;
//! such a file is counted here with every line not covered.

use std::collections::{BTreeMap, BTreeSet};

use regorus::unstable::{Expr, Literal, Query, Ref, Rule, RuleHead};
use serde::Serialize;

use super::ast::{self, ParsedModule};

/// Coverage of one Rego file.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FileCoverage {
    /// The file, relative to the pack.
    pub file: String,
    /// Lines evaluated by some test.
    pub covered: usize,
    /// Lines that count.
    pub lines: usize,
    /// `covered / lines` in percent (100 for a file without such lines).
    pub percent: f64,
    /// The lines no test evaluated.
    pub not_covered: Vec<u32>,
}

/// Coverage of every Rego policy file, and in all.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Coverage {
    /// Each file, by path.
    pub files: Vec<FileCoverage>,
    /// Lines evaluated by some test, in all.
    pub covered: usize,
    /// Lines that count, in all.
    pub lines: usize,
    /// `covered / lines` in percent (100 without such lines).
    pub percent: f64,
    /// The percentage the run must reach (`--threshold`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub threshold: Option<f64>,
}

impl Coverage {
    /// Whether the coverage reaches the threshold (always, without one).
    #[must_use]
    pub fn meets_threshold(&self) -> bool {
        self.threshold
            .is_none_or(|t| ratio(self.covered, self.lines) + 1e-9 >= t)
    }
}

/// `covered / lines` in percent.
#[expect(clippy::cast_precision_loss, reason = "line counts are far below 2^52")]
fn ratio(covered: usize, lines: usize) -> f64 {
    if lines == 0 {
        return 100.0;
    }
    covered as f64 * 100.0 / lines as f64
}

/// Rounds a percentage to two decimals, for stable output.
fn rounded(percent: f64) -> f64 {
    (percent * 100.0).round() / 100.0
}

/// The coverage of the policy files among `modules`, from regorus' report.
pub(crate) fn measure(
    report: &regorus::coverage::Report,
    modules: &[ParsedModule],
    threshold: Option<f64>,
) -> Coverage {
    let reported: BTreeMap<&str, &regorus::coverage::File> =
        report.files.iter().map(|f| (f.path.as_str(), f)).collect();
    let mut files = Vec::new();
    for module in modules.iter().filter(|m| !m.is_test_file()) {
        let (covered, not_covered): (BTreeSet<u32>, BTreeSet<u32>) =
            match reported.get(module.path.as_str()) {
                Some(file) => (file.covered.clone(), file.not_covered.clone()),
                None => (BTreeSet::new(), coverable_lines(module)),
            };
        let lines = covered.len() + not_covered.len();
        files.push(FileCoverage {
            file: module.path.clone(),
            covered: covered.len(),
            lines,
            percent: rounded(ratio(covered.len(), lines)),
            not_covered: not_covered.into_iter().collect(),
        });
    }
    files.sort_by(|a, b| a.file.cmp(&b.file));
    let covered = files.iter().map(|f| f.covered).sum();
    let lines = files.iter().map(|f| f.lines).sum();
    Coverage {
        files,
        covered,
        lines,
        percent: rounded(ratio(covered, lines)),
        threshold,
    }
}

/// The lines regorus would count for a module (its `get_coverage_report`, with nothing
/// covered): rule values and set elements, and the expressions of every body statement.
fn coverable_lines(module: &ParsedModule) -> BTreeSet<u32> {
    let mut lines = BTreeSet::new();
    for rule in &module.module.policy {
        match rule.as_ref() {
            Rule::Spec { head, bodies, .. } => {
                match head {
                    RuleHead::Compr { assign, .. } | RuleHead::Func { assign, .. } => {
                        if let Some(assign) = assign {
                            expr_lines(&assign.value, &mut lines);
                        }
                    }
                    RuleHead::Set { key, .. } => {
                        if let Some(key) = key {
                            expr_lines(key, &mut lines);
                        }
                    }
                }
                for body in bodies {
                    query_lines(&body.query, &mut lines);
                }
            }
            Rule::Default { value, .. } => expr_lines(value, &mut lines),
        }
    }
    lines
}

fn query_lines(query: &Ref<Query>, lines: &mut BTreeSet<u32>) {
    for stmt in &query.stmts {
        match &stmt.literal {
            Literal::SomeVars { .. } => {}
            Literal::SomeIn {
                value, collection, ..
            } => {
                expr_lines(value, lines);
                expr_lines(collection, lines);
            }
            Literal::Expr { expr, .. } | Literal::NotExpr { expr, .. } => expr_lines(expr, lines),
            Literal::Every { domain, query, .. } => {
                expr_lines(domain, lines);
                query_lines(query, lines);
            }
        }
    }
}

fn expr_lines(expr: &Ref<Expr>, lines: &mut BTreeSet<u32>) {
    ast::walk_expr(expr, &mut |e| match e.as_ref() {
        Expr::ArrayCompr { query, .. }
        | Expr::SetCompr { query, .. }
        | Expr::ObjectCompr { query, .. } => {
            query_lines(query, lines);
            false
        }
        other => {
            lines.insert(other.span().line);
            true
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_unreached_file_counts_as_wholly_uncovered() {
        let text = "package charter.rules.x\n\nimport rego.v1\n\ndeny_x contains msg if {\n\tinput.a == 1\n\tmsg := \"a\"\n}\n";
        let module = ParsedModule::parse("rego/x.rego", text).unwrap();
        let coverage = measure(&regorus::coverage::Report::default(), &[module], Some(50.0));
        assert_eq!(coverage.files[0].not_covered, [5, 6, 7]);
        assert_eq!((coverage.covered, coverage.lines), (0, 3));
        assert!(!coverage.meets_threshold());
    }

    #[test]
    fn thresholds_compare_the_exact_ratio() {
        let coverage = Coverage {
            files: Vec::new(),
            covered: 2,
            lines: 3,
            percent: 66.67,
            threshold: Some(66.67),
        };
        assert!(!coverage.meets_threshold());
        let coverage = Coverage {
            threshold: Some(66.6),
            ..coverage
        };
        assert!(coverage.meets_threshold());
    }
}
