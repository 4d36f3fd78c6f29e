//! Waivers: live ones waive, expired, unused, incomplete and too-long ones are findings.
#![cfg(test)]

use charter_engine::report::{Finding, ProductSummary, Report, Severity};
use charter_engine::waiver::{WaiverSettings, apply};

const TODAY: &str = "2026-11-27";

fn finding(rule: &str, product: &str, severity: Severity) -> Finding {
    Finding {
        rule: rule.into(),
        severity,
        message: format!("{rule} on {product}"),
        product: Some(product.into()),
        domain: product.split_once('.').map(|(d, _)| d.to_owned()),
        file: format!("domains/{product}.yaml"),
        line: 3,
        waiver: None,
    }
}

fn report() -> Report {
    let products = ["orders.events", "billing.invoices"]
        .iter()
        .map(|id| ProductSummary {
            id: (*id).into(),
            domain: id
                .split_once('.')
                .map(|(d, _)| d.to_owned())
                .unwrap_or_default(),
            file: format!("domains/{id}.yaml"),
            format: "datamesh/v1".into(),
            compliant: true,
        })
        .collect();
    Report::new(
        "rev",
        products,
        vec![
            finding("pii/masking_required", "orders.events", Severity::Error),
            finding(
                "sla/missing_availability",
                "billing.invoices",
                Severity::Error,
            ),
        ],
        0,
        Default::default(),
    )
}

fn run(text: &str) -> Report {
    let mut report = report();
    apply(
        &mut report,
        "waivers.yaml",
        text,
        &WaiverSettings::default(),
        TODAY,
    );
    report
}

fn rules_of(report: &Report) -> Vec<(&str, u32)> {
    report
        .findings
        .iter()
        .filter(|f| f.rule.starts_with("waiver/"))
        .map(|f| (f.rule.as_str(), f.line))
        .collect()
}

#[test]
fn a_live_waiver_waives_matching_findings_only() {
    let report = run(
        "waivers:\n  - rule: pii/*\n    product: orders.*\n    reason: tokenized upstream\n    approved_by: gov@acme.example\n    expires: 2027-01-15\n",
    );
    let waived: Vec<&str> = report
        .findings
        .iter()
        .filter(|f| f.waiver.is_some())
        .map(|f| f.rule.as_str())
        .collect();
    assert_eq!(waived, ["pii/masking_required"]);
    assert_eq!(report.summary.waived, 1);
    assert_eq!(
        report.summary.errors, 1,
        "the waived error no longer counts"
    );
    assert_eq!(
        report.summary.compliant, 1,
        "orders.events is compliant once its only error is waived"
    );
    assert_eq!(report.worst(), Some(Severity::Error), "billing still fails");
    assert_eq!(report.waivers[0].matched, 1);
    assert_eq!(report.waivers[0].days_left, 49);
    assert!(rules_of(&report).is_empty());
}

#[test]
fn waived_findings_never_fail_the_run() {
    let report = run(
        "waivers:\n  - {rule: '*', product: '*', reason: migration, approved_by: gov, expires: 2027-01-01}\n",
    );
    assert_eq!(report.summary.waived, 2);
    assert_eq!(report.worst(), None);
}

#[test]
fn expired_unused_incomplete_and_too_long_waivers_are_findings_at_their_lines() {
    let text = "waivers:\n  - rule: pii/masking_required\n    product: orders.events\n    reason: old\n    approved_by: gov\n    expires: 2026-10-01\n  - rule: quality/missing_checks\n    product: '*'\n    reason: nothing matches\n    approved_by: gov\n    expires: 2027-01-01\n  - rule: sla/missing_availability\n    product: billing.*\n    expires: 2027-01-01\n  - rule: sla/missing_availability\n    product: billing.*\n    reason: far out\n    approved_by: gov\n    expires: 2028-01-01\n";
    let report = run(text);
    assert_eq!(
        rules_of(&report),
        [
            ("waiver/expired", 6),
            ("waiver/unused", 7),
            ("waiver/incomplete", 12),
            ("waiver/too_long", 19)
        ]
    );
    let severity = |rule: &str| {
        report
            .findings
            .iter()
            .find(|f| f.rule == rule)
            .map(|f| f.severity)
    };
    assert_eq!(severity("waiver/unused"), Some(Severity::Warning));
    assert_eq!(severity("waiver/expired"), Some(Severity::Error));
    assert_eq!(
        report.summary.waived, 0,
        "expired and too-long waivers waive nothing"
    );
    let incomplete = report
        .findings
        .iter()
        .find(|f| f.rule == "waiver/incomplete")
        .unwrap();
    assert!(
        incomplete.message.contains("reason, approved_by"),
        "{}",
        incomplete.message
    );
}

#[test]
fn a_malformed_waivers_file_is_a_finding_with_its_line() {
    let report = run("waivers:\n  - rule: x\n    product: [\n");
    assert_eq!(
        rules_of(&report).first().map(|(r, _)| *r),
        Some("waiver/invalid")
    );
    let report =
        run("waivers:\n  - rule: x\n    expires: tomorrow\n    reason: r\n    approved_by: a\n");
    assert_eq!(rules_of(&report), [("waiver/invalid", 3)]);
    let report = run("waivers:\n  - rule: x\n    owner: someone\n");
    assert_eq!(
        rules_of(&report).first().map(|(r, _)| *r),
        Some("waiver/invalid"),
        "unknown keys are refused"
    );
}
