//! The policy impact preview on reports built by hand: how findings are paired (a moved line
//! is the same finding, a reworded one at the same line too), per-domain and per-rule totals,
//! the exit-code rule, and each renderer.
// The renderers are behind the engine's default feature `render`.
#![cfg(test)]
#![cfg(feature = "render")]

use std::collections::BTreeMap;

use charter_engine::impact::{ChangeKind, IMPACT_VERSION, Impact};
use charter_engine::render::{Format, Options, render, supports};
use charter_engine::report::{Finding, ProductSummary, Report, Severity, Waived};
use serde_json::Value;

use Severity::{Error, Warning};

fn product(id: &str) -> ProductSummary {
    let domain = id.split_once('.').map_or(id, |(d, _)| d);
    ProductSummary {
        id: id.to_owned(),
        domain: domain.to_owned(),
        file: file_of(id),
        format: "datamesh/v1".to_owned(),
        compliant: true,
    }
}

fn file_of(id: &str) -> String {
    format!("{}.yaml", id.replace('.', "/"))
}

fn finding(rule: &str, severity: Severity, product: &str, line: u32, message: &str) -> Finding {
    Finding {
        rule: rule.to_owned(),
        severity,
        message: message.to_owned(),
        product: Some(product.to_owned()),
        domain: product.split_once('.').map(|(d, _)| d.to_owned()),
        file: file_of(product),
        line,
        waiver: None,
    }
}

fn report(revision: &str, findings: Vec<Finding>) -> Report {
    let products = ["orders.checkout", "orders.refunds", "billing.invoices"]
        .into_iter()
        .map(product)
        .collect();
    let unreadable = findings.iter().filter(|f| f.product.is_none()).count();
    Report::new(revision, products, findings, unreadable, BTreeMap::new())
}

/// Old: three findings. New: one moved (same), one re-graded, one gone, two added (one in
/// another domain, one with a message quoting the changed setting at the same line).
fn pair() -> (Report, Report) {
    let old = report(
        "old-rev",
        vec![
            finding(
                "sla/missing_freshness",
                Warning,
                "orders.checkout",
                3,
                "no freshness SLA",
            ),
            finding(
                "pii/unmarked_pii",
                Warning,
                "orders.refunds",
                8,
                "field `email` looks like PII",
            ),
            finding(
                "naming/field_not_snake_case",
                Warning,
                "orders.refunds",
                9,
                "field `A` is not snake_case",
            ),
            finding(
                "sla/availability_too_low",
                Error,
                "billing.invoices",
                16,
                "availability 95% is below the minimum of 99%",
            ),
        ],
    );
    let new = report(
        "new-rev",
        vec![
            // Moved from line 3: the same finding.
            finding(
                "sla/missing_freshness",
                Warning,
                "orders.checkout",
                5,
                "no freshness SLA",
            ),
            // Raised from warning to error.
            finding(
                "pii/unmarked_pii",
                Error,
                "orders.refunds",
                8,
                "field `email` looks like PII",
            ),
            // Reworded at the same line: the same finding.
            finding(
                "sla/availability_too_low",
                Error,
                "billing.invoices",
                16,
                "availability 95% is below the minimum of 99.95%",
            ),
            // New.
            finding(
                "sla/availability_too_low",
                Error,
                "orders.checkout",
                14,
                "availability 99.9% is below the minimum of 99.95%",
            ),
            finding(
                "quality/missing_checks",
                Warning,
                "billing.invoices",
                1,
                "no quality checks",
            ),
        ],
    );
    (old, new)
}

#[test]
fn pairs_moved_and_reworded_findings() {
    let (old, new) = pair();
    let impact = Impact::compare(&old, &new);
    assert_eq!(impact.version, IMPACT_VERSION);
    assert_eq!(impact.old_revision, "old-rev");
    assert_eq!(impact.new_revision, "new-rev");
    let changes: Vec<(Option<&str>, ChangeKind, &str, u32)> = impact
        .domains
        .iter()
        .flat_map(|d| {
            d.changes
                .iter()
                .map(move |c| (d.name.as_deref(), c.kind, c.rule.as_str(), c.line))
        })
        .collect();
    assert_eq!(
        changes,
        vec![
            (
                Some("billing"),
                ChangeKind::Added,
                "quality/missing_checks",
                1
            ),
            (
                Some("orders"),
                ChangeKind::Added,
                "sla/availability_too_low",
                14
            ),
            (
                Some("orders"),
                ChangeKind::SeverityChanged,
                "pii/unmarked_pii",
                8
            ),
            (
                Some("orders"),
                ChangeKind::Removed,
                "naming/field_not_snake_case",
                9
            ),
        ]
    );
    let t = impact.totals;
    assert_eq!(
        (t.added.errors, t.added.warnings, t.added.waived),
        (1, 1, 0)
    );
    assert_eq!((t.removed.errors, t.removed.warnings), (0, 1));
    assert_eq!((t.raised, t.lowered), (1, 0));
    let regraded = &impact.domains[1].changes[1];
    assert_eq!(regraded.previous_severity, Some(Warning));
    assert_eq!(regraded.severity, Error);
}

#[test]
fn totals_per_domain_and_rule_and_figures() {
    let (old, new) = pair();
    let impact = Impact::compare(&old, &new);
    let orders = &impact.domains[1];
    assert_eq!(orders.name.as_deref(), Some("orders"));
    assert_eq!(orders.totals.added.errors, 1);
    assert_eq!(orders.totals.removed.warnings, 1);
    assert_eq!(orders.totals.raised, 1);
    assert_eq!(orders.before.as_ref().map(|f| f.score), Some(100.0));
    assert_eq!(orders.after.as_ref().map(|f| f.score), Some(0.0));
    assert_eq!((impact.before.compliant, impact.after.compliant), (2, 0));
    let rules: Vec<(&str, usize, usize)> = impact
        .rules
        .iter()
        .map(|r| {
            (
                r.rule.as_str(),
                r.totals.added.total(),
                r.totals.removed.total(),
            )
        })
        .collect();
    assert_eq!(
        rules,
        vec![
            ("naming/field_not_snake_case", 0, 1),
            ("pii/unmarked_pii", 0, 0),
            ("quality/missing_checks", 1, 0),
            ("sla/availability_too_low", 1, 0),
        ]
    );
}

#[test]
fn identical_reports_have_no_impact() {
    let (old, _) = pair();
    let impact = Impact::compare(&old, &old);
    assert!(impact.domains.is_empty());
    assert!(impact.rules.is_empty());
    assert!(impact.totals.is_empty());
    assert!(!impact.introduces(Warning));
}

#[test]
fn duplicate_keys_pair_in_order() {
    let f = |line| finding("contract/x", Warning, "orders.checkout", line, "same");
    let old = report("a", vec![f(1), f(2)]);
    let new = report("b", vec![f(4), f(5), f(6)]);
    let impact = Impact::compare(&old, &new);
    assert_eq!(impact.totals.added.warnings, 1);
    assert_eq!(impact.domains[0].changes[0].line, 6);
    assert_eq!(impact.totals.removed.total(), 0);
}

#[test]
fn findings_without_a_product_are_grouped_last() {
    let unreadable = |message: &str| Finding {
        rule: "contract/parse".to_owned(),
        severity: Error,
        message: message.to_owned(),
        product: None,
        domain: None,
        file: "broken.yaml".to_owned(),
        line: 2,
        waiver: None,
    };
    let old = report("a", vec![]);
    let new = report(
        "b",
        vec![
            unreadable("odcs is not allowed"),
            finding("x/y", Warning, "orders.checkout", 1, "m"),
        ],
    );
    let impact = Impact::compare(&old, &new);
    let names: Vec<Option<&str>> = impact.domains.iter().map(|d| d.name.as_deref()).collect();
    assert_eq!(names, vec![Some("orders"), None]);
    assert!(impact.domains[1].before.is_none());
}

#[test]
fn what_fails_the_run() {
    let (old, new) = pair();
    let impact = Impact::compare(&old, &new);
    assert!(impact.introduces(Error));
    assert!(impact.introduces(Warning));

    // Only a warning added, and a waived error: nothing fails with `--fail-on error`.
    let mut waived = finding("pii/masking_required", Error, "orders.checkout", 2, "m");
    waived.waiver = Some(Waived {
        reason: "r".to_owned(),
        approved_by: "a".to_owned(),
        expires: "2099-01-01".to_owned(),
    });
    let new = report(
        "b",
        vec![waived, finding("x/y", Warning, "orders.refunds", 1, "m")],
    );
    let impact = Impact::compare(&report("a", vec![]), &new);
    assert_eq!(impact.totals.added.waived, 1);
    assert!(!impact.introduces(Error));
    assert!(impact.introduces(Warning));

    // Lowering a finding never fails the run; raising one that already failed does not either.
    let old = report("a", vec![finding("x/y", Error, "orders.refunds", 1, "m")]);
    let new = report("b", vec![finding("x/y", Warning, "orders.refunds", 1, "m")]);
    let impact = Impact::compare(&old, &new);
    assert_eq!(impact.totals.lowered, 1);
    assert!(!impact.introduces(Warning));
    let impact = Impact::compare(&new, &old);
    assert!(impact.introduces(Error));
    assert!(!impact.introduces(Warning));
}

fn rendered(impact: &Impact, format: Format, color: bool) -> String {
    let options = Options {
        color,
        tool_version: "0.0.0-test".to_owned(),
        ..Options::default()
    };
    let mut out = Vec::new();
    render(impact, format, &options, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn text_snapshot_and_colour() {
    let (old, new) = pair();
    let impact = Impact::compare(&old, &new);
    let plain = rendered(&impact, Format::Text, false);
    assert!(!plain.contains('\u{1b}'));
    insta::assert_snapshot!("impact_text", plain);
    let coloured = rendered(&impact, Format::Text, true);
    assert!(coloured.contains("\u{1b}[31;1m+"), "{coloured}");
    assert!(coloured.contains("\u{1b}[32;1m-"), "{coloured}");
}

#[test]
fn markdown_snapshot() {
    let (old, new) = pair();
    let impact = Impact::compare(&old, &new);
    insta::assert_snapshot!(
        "impact_markdown",
        rendered(&impact, Format::Markdown, false)
    );
}

#[test]
fn json_is_stable_and_versioned() {
    let (old, new) = pair();
    let impact = Impact::compare(&old, &new);
    let json = rendered(&impact, Format::Json, false);
    insta::assert_snapshot!("impact_json", json);
    let doc: Value = serde_json::from_str(&json).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["totals"]["added"]["errors"], 1);
    assert_eq!(doc["domains"][1]["changes"][1]["kind"], "severity_changed");
    assert_eq!(
        doc["domains"][1]["changes"][1]["previous_severity"],
        "warning"
    );
    assert_eq!(
        doc["domains"][0]["changes"][0].get("previous_severity"),
        None
    );
}

#[test]
fn contract_text_cannot_escape_its_format() {
    let hostile = "a | b <img src=x> [link](http://x) \u{1b}[31m\nsecond";
    let old = report("a", vec![]);
    let new = report(
        "b",
        vec![finding("x/y", Warning, "orders.refunds", 1, hostile)],
    );
    let impact = Impact::compare(&old, &new);
    let text = rendered(&impact, Format::Text, false);
    assert!(!text.contains('\u{1b}'), "{text}");
    assert!(text.contains("\\u{1b}[31m second"), "{text}");
    let md = rendered(&impact, Format::Markdown, false);
    assert!(
        md.contains("a \\| b &lt;img src=x&gt; \\[link\\](http://x)"),
        "{md}"
    );
    assert!(!md.contains("<img"));
}

#[test]
fn only_text_json_and_markdown() {
    for format in Format::ALL {
        let supported = matches!(format, Format::Text | Format::Json | Format::Markdown);
        let mut out = Vec::new();
        let rendered = render(
            &Impact::compare(&pair().0, &pair().1),
            *format,
            &Options::default(),
            &mut out,
        );
        assert_eq!(rendered.is_ok(), supported, "{format}");
        assert_eq!(supports::<Impact>(*format).is_ok(), supported, "{format}");
        if !supported {
            let err = rendered.unwrap_err().to_string();
            assert!(err.contains(&format!("`{format}`")), "{err}");
            assert!(out.is_empty(), "{format}: nothing is written");
        }
    }
}
