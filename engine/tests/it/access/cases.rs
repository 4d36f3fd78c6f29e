//! Data-driven access cases: every `testdata/access/*.yaml` holds a small mesh (inline
//! contract files, or a folder of the repository), optional policy files added to the
//! default pack, and requests with the decision expected. The cases are the engine's own
//! access-case format ([`AccessCase`], as `charter test` runs a pack's), checked by the same
//! code; this runner adds repository folders, policy overrides and decision invariants.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use charter_engine::access::{AccessEngine, Decision, Outcome, ProductEffect};
use charter_engine::authoring::AccessCase;
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
    cases: Vec<AccessCase>,
}

/// Invariants of every decision, beyond what a case expects: a UUID v7 id, and no allowed
/// decision for a denied product.
fn invariants(d: &Decision) -> Vec<String> {
    let mut problems = Vec::new();
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
            let mut problems = case.problems(&engine);
            if case.action.is_none()
                && let Ok(decision) = engine.decide(&case.request)
            {
                problems.extend(invariants(&decision));
            }
            for problem in problems {
                let _ = writeln!(report, "{file} / {}: {problem}", case.name);
            }
        }
    }
    assert!(report.is_empty(), "access cases failed:\n{report}");
    assert!(count >= 30, "only {count} access cases ran");
}
