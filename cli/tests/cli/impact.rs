//! `charter report --policies NEW --compare-policies OLD` on the sample mesh, with a real
//! policy change: a raised setting, a new rule and a re-graded rule.
#![cfg(test)]

use std::process::Output;

use serde_json::Value;

use crate::common::{charter, copy_dir, repo};

const NEW_RULE: &str = r#"# A rule the central team is about to add.
package charter.rules.stewardship

import rego.v1

# METADATA
# title: Confidential product without a steward review
# description: Confidential products are reviewed by a data steward.
# custom:
#   severity: warning
#   remediation: Ask the data stewards for a review.
warn_confidential_unreviewed contains {"msg": "confidential product not reviewed by a steward", "path": "classification"} if {
	input.classification == "confidential"
}
"#;

/// The default policies with `sla.min_availability` raised to 99.95, a new warning rule
/// (`stewardship/confidential_unreviewed`) and `sla/missing_freshness` lowered to a warning
/// (`deny_` → `warn_`).
fn new_policies() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for part in ["rego", "cedar", "data"] {
        copy_dir(&repo().join("policies").join(part), &dir.path().join(part));
    }
    let settings = dir.path().join("data/settings.yaml");
    let text = std::fs::read_to_string(&settings).unwrap();
    assert!(text.contains("min_availability: 99.0"));
    std::fs::write(
        &settings,
        text.replace("min_availability: 99.0", "min_availability: 99.95"),
    )
    .unwrap();
    let sla = dir.path().join("rego/rules/sla.rego");
    let text = std::fs::read_to_string(&sla).unwrap();
    let (head, tail) = text.split_once("deny_missing_freshness contains").unwrap();
    let head = head.replacen("severity: error", "severity: warning", 1);
    std::fs::write(&sla, format!("{head}warn_missing_freshness contains{tail}")).unwrap();
    std::fs::write(dir.path().join("rego/rules/stewardship.rego"), NEW_RULE).unwrap();
    dir
}

fn changes_of(doc: &Value) -> Vec<(String, String, String, String)> {
    doc["domains"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|d| d["changes"].as_array().unwrap())
        .map(|c| {
            (
                c["kind"].as_str().unwrap().to_owned(),
                c["rule"].as_str().unwrap().to_owned(),
                c["severity"].as_str().unwrap().to_owned(),
                format!("{}:{}", c["file"].as_str().unwrap(), c["line"]),
            )
        })
        .collect()
}

fn preview(new: &str, old: &str, format: &str) -> Output {
    charter(&[
        "report",
        "testdata/mesh",
        "--no-cache",
        "--policies",
        new,
        "--compare-policies",
        old,
        "--format",
        format,
    ])
}

#[test]
fn a_policy_change_is_previewed() {
    let new = new_policies();
    let new = new.path().to_str().unwrap();
    let out = preview(new, "policies", "json");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "new errors fail the run: {stderr}"
    );
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], 1);
    assert_ne!(doc["old_revision"], doc["new_revision"]);
    let changes = changes_of(&doc);

    let kinds = |kind: &str, rule: &str| {
        changes
            .iter()
            .filter(|c| c.0 == kind && c.1 == rule)
            .map(|c| c.3.as_str())
            .collect::<Vec<_>>()
    };
    // Availability 99.9 and 99.5 are now too low; the 95% product was already reported
    // (its message quotes the new minimum, but it is the same finding).
    let availability = kinds("added", "sla/availability_too_low");
    assert!(
        availability.contains(&"domains/orders/order_events.yaml:18"),
        "{availability:?}"
    );
    assert!(
        availability.contains(&"domains/billing/refunds.yaml:16"),
        "{availability:?}"
    );
    assert!(
        !availability.contains(&"domains/billing/payments.yaml:99"),
        "{availability:?}"
    );
    assert!(
        changes
            .iter()
            .filter(|c| c.1 == "sla/availability_too_low")
            .all(|c| c.0 == "added" && c.2 == "error")
    );
    // The new rule, as warnings.
    let stewardship = kinds("added", "stewardship/confidential_unreviewed");
    assert!(
        stewardship.contains(&"domains/orders/returns.yaml:11"),
        "{changes:?}"
    );
    assert!(
        changes
            .iter()
            .filter(|c| c.1 == "stewardship/confidential_unreviewed")
            .all(|c| c.2 == "warning")
    );
    // The re-graded rule.
    let freshness: Vec<_> = changes
        .iter()
        .filter(|c| c.1 == "sla/missing_freshness")
        .collect();
    assert!(!freshness.is_empty());
    assert!(
        freshness
            .iter()
            .all(|c| c.0 == "severity_changed" && c.2 == "warning")
    );
    // Nothing else changes.
    assert!(changes.iter().all(|c| {
        [
            "sla/availability_too_low",
            "stewardship/confidential_unreviewed",
            "sla/missing_freshness",
        ]
        .contains(&c.1.as_str())
    }));
    let totals = &doc["totals"];
    assert_eq!(
        totals["added"]["errors"].as_u64().unwrap() as usize,
        availability.len()
    );
    assert_eq!(
        totals["added"]["warnings"].as_u64().unwrap() as usize,
        stewardship.len()
    );
    assert_eq!(totals["removed"]["errors"], 0);
    assert_eq!(
        totals["lowered"].as_u64().unwrap() as usize,
        freshness.len()
    );

    // The other way round, the same findings are removed; the run still fails, because
    // `sla/missing_freshness` is raised back to an error.
    let back = preview("policies", new, "json");
    assert_eq!(
        back.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&back.stderr)
    );
    let back: Value = serde_json::from_slice(&back.stdout).unwrap();
    let removed: Vec<_> = changes_of(&back)
        .into_iter()
        .filter(|c| c.0 == "removed")
        .map(|c| (c.1, c.3))
        .collect();
    let added: Vec<_> = changes
        .iter()
        .filter(|c| c.0 == "added")
        .map(|c| (c.1.clone(), c.3.clone()))
        .collect();
    let mut removed_sorted = removed.clone();
    removed_sorted.sort();
    let mut added_sorted = added;
    added_sorted.sort();
    assert_eq!(removed_sorted, added_sorted);
}

#[test]
fn text_and_markdown_name_the_change() {
    let new = new_policies();
    let new = new.path().to_str().unwrap();
    let text = preview(new, "policies", "text");
    let text = String::from_utf8_lossy(&text.stdout);
    assert!(text.starts_with("Policy impact: "), "{text}");
    assert!(
        text.contains("stewardship/confidential_unreviewed"),
        "{text}"
    );
    assert!(!text.contains('\u{1b}'), "no colour when NO_COLOR is set");
    let md = preview(new, "policies", "markdown");
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.starts_with("## Charter policy impact"), "{md}");
    assert!(md.contains("| `sla/availability_too_low` |"), "{md}");
}

#[test]
fn same_policies_no_impact() {
    let out = preview("policies", "policies", "text");
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.starts_with("Policy impact: no finding added, removed or re-graded"),
        "{text}"
    );
}

#[test]
fn other_formats_are_refused() {
    let out = preview("policies", "policies", "sarif");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains(
            "the policy impact preview has no `sarif` format: expected one of text, json, markdown"
        ),
        "{stderr}"
    );
    assert!(out.stdout.is_empty());
}
