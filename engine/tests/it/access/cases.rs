//! Data-driven access cases: every `testdata/access/*.yaml` holds a small mesh (inline
//! contract files, or a folder of the repository), optional policy files added to the
//! default pack, and requests with the decision expected.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use charter_engine::access::{
    AccessEngine, AccessRequest, ColumnEffect, Decision, MaskMethod, Outcome, ProductEffect, Reason,
};
use serde::Deserialize;

use super::support::{load_mesh, mesh_from_files, pack_with, workspace_root};

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CaseFile {
    /// What the file is about.
    #[expect(dead_code, reason = "documentation for readers of the case file")]
    note: String,
    /// Contract files (path → YAML) of the case's mesh.
    #[serde(default)]
    contracts: BTreeMap<String, String>,
    /// Or a mesh folder, relative to the repository root.
    mesh: Option<String>,
    /// Pack files added to (text) or removed from (null) the default pack.
    #[serde(default)]
    policies: BTreeMap<String, Option<String>>,
    cases: Vec<Case>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    request: AccessRequest,
    expect: Expect,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expect {
    decision: Outcome,
    product: Option<ProductEffect>,
    product_id: Option<String>,
    /// Substrings of the product's reasons (policy ids or messages).
    #[serde(default)]
    reasons: Vec<String>,
    /// Every column of the decision, by name.
    columns: Option<BTreeMap<String, ColumnExpect>>,
    /// The row filters' SQL, in order.
    row_filters: Option<Vec<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ColumnExpect {
    effect: ColumnEffect,
    mask_method: Option<MaskMethod>,
    mask_expression: Option<String>,
    #[serde(default)]
    reasons: Vec<String>,
}

fn has_reason(reasons: &[Reason], wanted: &str) -> bool {
    reasons.iter().any(|r| {
        r.policy.as_deref().is_some_and(|p| p.contains(wanted)) || r.message.contains(wanted)
    })
}

fn check(case: &Case, d: &Decision) -> Vec<String> {
    let mut problems = Vec::new();
    let e = &case.expect;
    if d.decision != e.decision {
        problems.push(format!(
            "decision: expected {:?}, got {:?}",
            e.decision, d.decision
        ));
    }
    if let Some(p) = e.product
        && d.product.effect != p
    {
        problems.push(format!(
            "product effect: expected {p:?}, got {:?}",
            d.product.effect
        ));
    }
    if let Some(id) = &e.product_id
        && d.product.id.as_ref() != Some(id)
    {
        problems.push(format!("product id: expected {id}, got {:?}", d.product.id));
    }
    for r in &e.reasons {
        if !has_reason(&d.reasons, r) {
            problems.push(format!("product reasons lack `{r}`: {:?}", d.reasons));
        }
    }
    if let Some(columns) = &e.columns {
        let got: Vec<&str> = d.columns.iter().map(|c| c.name.as_str()).collect();
        let wanted: Vec<&str> = columns.keys().map(String::as_str).collect();
        let mut sorted = got.clone();
        sorted.sort_unstable();
        if sorted != wanted {
            problems.push(format!("columns: expected {wanted:?}, got {got:?}"));
        }
        for (name, c) in columns {
            let Some(col) = d.column(name) else { continue };
            if col.effect != c.effect {
                problems.push(format!(
                    "column `{name}`: expected {:?}, got {:?} ({:?})",
                    c.effect, col.effect, col.reasons
                ));
            }
            if c.effect == ColumnEffect::Mask || c.mask_method.is_some() {
                if col.mask_method != c.mask_method {
                    problems.push(format!(
                        "column `{name}` mask: expected {:?}, got {:?}",
                        c.mask_method, col.mask_method
                    ));
                }
            } else if col.mask_method.is_some() || col.mask_expression.is_some() {
                problems.push(format!(
                    "column `{name}` has a mask but is {:?}",
                    col.effect
                ));
            }
            if let Some(expr) = &c.mask_expression
                && col.mask_expression.as_ref() != Some(expr)
            {
                problems.push(format!(
                    "column `{name}` mask expression: expected {expr}, got {:?}",
                    col.mask_expression
                ));
            }
            for r in &c.reasons {
                if !has_reason(&col.reasons, r) {
                    problems.push(format!(
                        "column `{name}` reasons lack `{r}`: {:?}",
                        col.reasons
                    ));
                }
            }
        }
    }
    if let Some(filters) = &e.row_filters {
        let got: Vec<&str> = d.row_filters.iter().map(|f| f.sql.as_str()).collect();
        if got != filters.iter().map(String::as_str).collect::<Vec<_>>() {
            problems.push(format!("row filters: expected {filters:?}, got {got:?}"));
        }
    }
    // Every decision: a UUID v7 id, and the revisions it was made with.
    let id = &d.decision_id;
    if id.len() != 36 || id.as_bytes()[14] != b'7' {
        problems.push(format!("decision id `{id}` is not a UUID v7"));
    }
    if d.decision != Outcome::Deny && d.product.effect != ProductEffect::Allow {
        problems.push("an allowed decision for a denied product".into());
    }
    problems
}

#[test]
fn access_cases() {
    let dir = workspace_root().join("testdata/access");
    let mut paths: Vec<_> = std::fs::read_dir(&dir)
        .expect("testdata/access exists")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no cases in {}", dir.display());
    let mut report = String::new();
    let mut count = 0;
    for path in &paths {
        let file = path
            .file_name()
            .map(|f| f.to_string_lossy().into_owned())
            .unwrap_or_default();
        let text = std::fs::read_to_string(path).expect("read a case file");
        let cases: CaseFile = match yaml_serde::from_str(&text) {
            Ok(c) => c,
            Err(e) => {
                let _ = writeln!(report, "{file}: not a case file: {e}");
                continue;
            }
        };
        let pack = pack_with(&cases.policies);
        let mesh = match &cases.mesh {
            Some(folder) => load_mesh(&workspace_root().join(folder), &pack),
            None => mesh_from_files(&cases.contracts, &pack),
        };
        let engine = match AccessEngine::new(&pack, &mesh) {
            Ok(e) => e,
            Err(e) => {
                let _ = writeln!(report, "{file}: the engine does not build: {e}");
                continue;
            }
        };
        for case in &cases.cases {
            count += 1;
            match engine.decide(&case.request) {
                Ok(decision) => {
                    for problem in check(case, &decision) {
                        let _ = writeln!(report, "{file} / {}: {problem}", case.name);
                    }
                }
                Err(e) => {
                    let _ = writeln!(report, "{file} / {}: request refused: {e}", case.name);
                }
            }
        }
    }
    assert!(report.is_empty(), "access cases failed:\n{report}");
    assert!(count >= 30, "only {count} access cases ran");
}
