//! Data-driven rule cases: a contract (or a patch over a base input) and the rule ids it
//! must and must not raise. The same YAML format serves the engine's tests and `charter test`.
//!
//! ```yaml
//! base: { ...a compliant normalized product... }
//! # or, shared by every case file of a pack: a pack file holding that product
//! # base_from: tests/products/compliant.yaml
//! cases:
//!   - name: pii field without masking
//!     input: { fields: [ {name: email, pii: true, masking: null} ] }   # JSON merge patch over base
//!     raises: [pii/masking_required]
//!     not_raises: [pii/unmarked_pii]
//!   - name: through the reader
//!     contract: |
//!       apiVersion: datamesh.io/v1
//!       ...
//!     raises: [contract/parse]
//! ```

use serde::Deserialize;
use serde_json::Value as Json;

use super::eval::RuleSet;
use crate::contract::{ReaderSettings, read};
use crate::pack::PolicyPack;

/// A file of rule cases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleCaseFile {
    /// The input `input:` patches apply to.
    #[serde(default)]
    pub base: Option<Json>,
    /// A file of the pack (path from its root) whose YAML is the base, instead of `base`.
    #[serde(default)]
    pub base_from: Option<String>,
    /// The cases.
    pub cases: Vec<RuleCase>,
}

/// One case.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleCase {
    /// What the case shows.
    pub name: String,
    /// A JSON merge patch (RFC 7386) over the file's `base`.
    #[serde(default)]
    pub input: Option<Json>,
    /// A whole contract file, read by the real readers.
    #[serde(default)]
    pub contract: Option<String>,
    /// Rule ids that must be raised.
    #[serde(default)]
    pub raises: Vec<String>,
    /// Rule ids that must not be raised.
    #[serde(default)]
    pub not_raises: Vec<String>,
}

/// Pass, or fail with the reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaseOutcome {
    /// Every expectation held.
    Pass,
    /// What did not hold.
    Fail(String),
}

/// The result of one case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The case's name.
    pub name: String,
    /// Pass or fail.
    pub outcome: CaseOutcome,
}

/// Runs every case of a rule-case file of `pack` (which holds the file a `base_from`
/// names).
///
/// # Errors
/// The file is not a valid case file, or its `base_from` is not a readable file of the pack
/// (a message saying what is wrong).
pub fn run_case_file(
    rules: &RuleSet,
    settings: &ReaderSettings,
    pack: &PolicyPack,
    text: &str,
) -> Result<Vec<CaseResult>, String> {
    let mut file: RuleCaseFile =
        yaml_serde::from_str(text).map_err(|e| format!("not a rule-case file: {e}"))?;
    if let Some(path) = &file.base_from {
        if file.base.is_some() {
            return Err("a rule-case file gives either `base` or `base_from`, not both".to_owned());
        }
        file.base = Some(base_from(pack, path)?);
    }
    let mut evaluator = rules.evaluator();
    let mut results = Vec::new();
    for case in &file.cases {
        let raised: Result<Vec<String>, String> = match (&case.contract, &case.input) {
            (Some(contract), None) => match read("case.yaml", contract, settings) {
                Ok(c) => evaluator
                    .evaluate(&c.product)
                    .map(|f| f.into_iter().map(|f| f.rule).collect())
                    .map_err(|e| e.to_string()),
                Err(_) => Ok(vec!["contract/parse".to_owned()]),
            },
            (None, patch) => {
                let mut input = file
                    .base
                    .clone()
                    .unwrap_or(Json::Object(serde_json::Map::new()));
                if let Some(patch) = patch {
                    merge_patch(&mut input, patch);
                }
                evaluator
                    .evaluate_input(regorus::Value::from(input))
                    .map(|f| f.into_iter().map(|f| f.rule).collect())
                    .map_err(|e| e.to_string())
            }
            (Some(_), Some(_)) => {
                Err("a case gives either `contract` or `input`, not both".to_owned())
            }
        };
        let outcome = match raised {
            Err(e) => CaseOutcome::Fail(e),
            Ok(raised) => {
                let missing: Vec<&str> = case
                    .raises
                    .iter()
                    .filter(|r| !raised.contains(r))
                    .map(String::as_str)
                    .collect();
                let unexpected: Vec<&str> = case
                    .not_raises
                    .iter()
                    .filter(|r| raised.contains(r))
                    .map(String::as_str)
                    .collect();
                if missing.is_empty() && unexpected.is_empty() {
                    CaseOutcome::Pass
                } else {
                    let mut why = Vec::new();
                    if !missing.is_empty() {
                        why.push(format!("expected {} to be raised", missing.join(", ")));
                    }
                    if !unexpected.is_empty() {
                        why.push(format!(
                            "expected {} not to be raised",
                            unexpected.join(", ")
                        ));
                    }
                    let mut raised = raised;
                    raised.sort();
                    raised.dedup();
                    CaseOutcome::Fail(format!(
                        "{} (raised: [{}])",
                        why.join("; "),
                        raised.join(", ")
                    ))
                }
            }
        };
        results.push(CaseResult {
            name: case.name.clone(),
            outcome,
        });
    }
    Ok(results)
}

/// RFC 7386 JSON merge patch.
fn merge_patch(target: &mut Json, patch: &Json) {
    let Json::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = Json::Object(serde_json::Map::new());
    }
    if let Json::Object(map) = target {
        for (key, value) in patch {
            if value.is_null() {
                map.remove(key);
            } else {
                merge_patch(map.entry(key.clone()).or_insert(Json::Null), value);
            }
        }
    }
}

/// The base product in the pack file `path`.
fn base_from(pack: &PolicyPack, path: &str) -> Result<Json, String> {
    let file = pack
        .files()
        .iter()
        .find(|f| f.path == path)
        .ok_or_else(|| format!("`base_from`: the pack has no file `{path}`"))?;
    yaml_serde::from_str(&file.text).map_err(|e| format!("`base_from`: `{path}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merge_patch_follows_rfc7386() {
        let mut doc = serde_json::json!({"a": 1, "b": {"c": 2, "d": 3}, "e": [1]});
        merge_patch(
            &mut doc,
            &serde_json::json!({"a": null, "b": {"c": 5}, "e": [2, 3]}),
        );
        assert_eq!(doc, serde_json::json!({"b": {"c": 5, "d": 3}, "e": [2, 3]}));
    }
}
