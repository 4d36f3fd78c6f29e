//! The `html` audit report on a report built by hand: a snapshot (the time of the run
//! filtered), escaping of contract text, the sections a governance lead reads, and that the
//! document is self-contained.
// The renderers are behind the engine's default feature `render`.
#![cfg(test)]
#![cfg(feature = "render")]

use std::collections::BTreeMap;

use charter_engine::render::{Format, Options, render};
use charter_engine::report::{
    Finding, ProductSummary, Report, RuleInfo, Severity, Waived, WaiverStatus,
};

fn product(id: &str, domain: &str, file: &str) -> ProductSummary {
    ProductSummary {
        id: id.to_owned(),
        domain: domain.to_owned(),
        file: file.to_owned(),
        format: "datamesh/v1".to_owned(),
        compliant: true,
    }
}

fn finding(
    rule: &str,
    severity: Severity,
    product: Option<&str>,
    file: &str,
    line: u32,
    message: &str,
) -> Finding {
    Finding {
        rule: rule.to_owned(),
        severity,
        message: message.to_owned(),
        product: product.map(str::to_owned),
        domain: product
            .and_then(|p| p.split_once('.'))
            .map(|(d, _)| d.to_owned()),
        file: file.to_owned(),
        line,
        waiver: None,
    }
}

fn waiver(rule: &str, product: &str, expires: &str, days_left: i64, line: u32) -> WaiverStatus {
    WaiverStatus {
        rule: rule.to_owned(),
        product: product.to_owned(),
        reason: "migration to the new platform <Q3>".to_owned(),
        approved_by: "governance@acme.example".to_owned(),
        expires: expires.to_owned(),
        days_left,
        matched: 1,
        file: "waivers.yaml".to_owned(),
        line,
    }
}

/// Two domains, a waived finding, an unreadable file, a hostile message, three waivers (one
/// expired, one expiring soon, one far off).
fn sample() -> Report {
    use Severity::{Error, Warning};
    let products = vec![
        product("orders.checkout", "orders", "orders/checkout.yaml"),
        product("orders.refunds", "orders", "orders/refunds.yaml"),
        product("billing.invoices", "billing", "billing/invoices.yaml"),
    ];
    let mut waived = finding(
        "sla/missing_freshness",
        Warning,
        Some("billing.invoices"),
        "billing/invoices.yaml",
        3,
        "the product declares no freshness SLA",
    );
    waived.waiver = Some(Waived {
        reason: "batch product, daily by design".to_owned(),
        approved_by: "lead@acme.example".to_owned(),
        expires: "2025-02-01".to_owned(),
    });
    let findings = vec![
        finding(
            "pii/masking_required",
            Error,
            Some("orders.checkout"),
            "orders/checkout.yaml",
            12,
            "PII field `email` has no masking method",
        ),
        finding(
            "naming/field_not_snake_case",
            Warning,
            Some("orders.checkout"),
            "orders/checkout.yaml",
            20,
            "field <script>alert(1)</script> & \"Total\" is not snake_case",
        ),
        waived,
        finding(
            "contract/parse",
            Error,
            None,
            "orders/broken.yaml",
            4,
            "expected a mapping",
        ),
    ];
    let rules = BTreeMap::from([
        (
            "pii/masking_required".to_owned(),
            RuleInfo {
                id: "pii/masking_required".to_owned(),
                severity: Some(Error),
                title: Some("PII field without a masking method".to_owned()),
                description: Some("Every PII field names how it is masked.".to_owned()),
                remediation: Some("Add `masking: hash` (or redact, nullify, last4).".to_owned()),
            },
        ),
        (
            "naming/field_not_snake_case".to_owned(),
            RuleInfo {
                id: "naming/field_not_snake_case".to_owned(),
                severity: Some(Warning),
                title: Some("Field name is not <snake_case>".to_owned()),
                description: None,
                remediation: None,
            },
        ),
    ]);
    let mut report = Report::new("0123456789abcdef", products, findings, 1, rules);
    report.waivers = vec![
        waiver("sla/missing_freshness", "billing.*", "2025-02-01", 12, 2),
        waiver("pii/masking_required", "orders.legacy", "2025-01-01", -3, 7),
        waiver(
            "quality/missing_checks",
            "billing.revenue",
            "2025-06-30",
            160,
            12,
        ),
    ];
    report
}

fn html(report: &Report) -> String {
    let options = Options {
        color: false,
        tool_version: "0.0.0-test".to_owned(),
        generated_at: Some("2025-01-20T09:30:00Z".to_owned()),
        explain: false,
        ..Options::default()
    };
    let mut out = Vec::new();
    render(report, Format::Html, &options, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn snapshot() {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        r#"<time datetime="\d{4}-\d\d-\d\dT[^"]*">[^<]*</time>"#,
        "<time>[time]</time>",
    );
    settings.bind(|| insta::assert_snapshot!("html", html(&sample())));
}

#[test]
fn contract_text_is_escaped() {
    let out = html(&sample());
    assert!(
        out.contains(
            "field &lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;Total&quot; is not snake_case"
        ),
        "{out}"
    );
    assert!(!out.contains("<script"), "no script element at all");
    assert!(out.contains("Field name is not &lt;snake_case&gt;"));
    assert!(out.contains("migration to the new platform &lt;Q3&gt;"));
}

#[test]
fn is_self_contained_and_accessible() {
    let out = html(&sample());
    assert!(out.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"));
    assert!(out.contains("<meta charset=\"utf-8\">"));
    for external in ["http://", "https://", "src=", "@import", "url("] {
        assert!(!out.contains(external), "{external} in the document");
    }
    assert!(out.contains("@media print"));
    assert!(out.contains("<th scope=\"col\">Domain</th>"));
    assert!(out.trim_end().ends_with("</html>"));
}

#[test]
fn shows_what_an_auditor_reads() {
    let out = html(&sample());
    // Revision and time of the run.
    assert!(out.contains("<code>0123456789abcdef</code>"));
    assert!(out.contains("<time datetime=\"2025-01-20T09:30:00Z\">2025-01-20T09:30:00Z</time>"));
    // Summary figures: 3 products, 2 compliant, 2 errors (one in an unreadable file), 1 warning, 1 waived.
    assert!(out.contains("<dt>Score</dt><dd>66.7%</dd>"), "{out}");
    assert!(out.contains("<dt>Errors</dt><dd>2</dd>"));
    assert!(out.contains("<dt>Waived</dt><dd>1</dd>"));
    assert!(out.contains("<dt>Unreadable</dt><dd>1</dd>"));
    // A table per domain.
    assert!(out.contains("<caption>orders: 1 of 2 products compliant (50.0%)</caption>"));
    assert!(out.contains("<caption>billing: 1 of 1 product compliant (100.0%)</caption>"));
    // Findings per rule, with the rule's description and remediation.
    assert!(out.contains("Every PII field names how it is masked."));
    assert!(out.contains("Add `masking: hash` (or redact, nullify, last4)."));
    // Every finding with its file and line.
    for location in [
        "orders/<wbr>checkout.<wbr>yaml:12",
        "orders/<wbr>checkout.<wbr>yaml:20",
        "billing/<wbr>invoices.<wbr>yaml:3",
        "orders/<wbr>broken.<wbr>yaml:4",
    ] {
        assert!(out.contains(location), "{location}");
    }
    assert!(out.contains("Waived until 2025-02-01 by lead@acme.example"));
    // Waivers: the expired and the soon-expiring ones, not the far one.
    assert!(out.contains("expired</span> 3 days ago"));
    assert!(out.contains("expiring</span> in 12 days"));
    assert!(!out.contains("quality/<wbr>missing_<wbr>checks"));
}

#[test]
fn an_empty_report_renders() {
    let report = Report::new("rev", Vec::new(), Vec::new(), 0, BTreeMap::new());
    let out = html(&report);
    assert!(out.contains("No products were read."));
    assert!(out.contains("No waivers."));
    assert!(out.contains("<dt>Score</dt><dd>100.0%</dd>"));
}
