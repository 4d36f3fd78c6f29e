//! Access cases (`tests/access/*.yaml`): requests against a small mesh and the decision
//! each must get, run against the pack's Cedar policies and row-filter rules.
//!
//! ```yaml
//! note: what the file is about            # optional
//! contracts:                              # the mesh: file name -> contract, inline...
//!   sales/orders.yaml: |
//!     apiVersion: datamesh.io/v1
//!     kind: DataProduct
//!     ...
//! mesh: tests/access/mesh                 # ...or a folder of the pack (or both)
//! cases:
//!   - name: PII masked for an analyst
//!     request:                            # as `charter authorize` takes it
//!       principal: { id: ana, roles: [analyst], attributes: { region: eu } }
//!       product: { id: sales.orders }     # or { table: lake.sales.orders }
//!       columns: [order_id, email]
//!       dialect: trino                    # optional
//!     action: write                       # optional: a product action other than `query`
//!     expect:
//!       decision: allow                   # allow | partial | deny
//!       product: allow                    # optional: allow | deny
//!       reasons: [query-granted-role]     # optional: substrings of the product's reasons
//!       columns:                          # optional: every column of the decision
//!         order_id: { effect: allow }
//!         email: { effect: mask, mask_method: hash, reasons: [read-pii-column-masked] }
//!       row_filters: ["\"region\" = 'eu'"]  # optional: the filters' SQL, in order
//! ```
//!
//! A case with an `action` (`write`, `manage`, …) asks that Cedar action on the whole
//! product instead of a query: its `expect` takes `decision` (allow or deny), `product_id`
//! and `reasons` only.
//!
//! A reason matches when it is a substring of a determining policy's `@id` or of a reason's
//! message. This is the format of the engine's own access tests (`testdata/access/`),
//! without their repository-relative `mesh` folders and policy overrides: a pack's cases
//! judge the pack as it is.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Deserialize;

use super::test_report::{TestKind, TestResult, TestStatus, test_id};
use crate::access::{
    AccessEngine, AccessPolicies, AccessRequest, ActionDecision, ColumnDecision, ColumnEffect,
    Decision, MaskMethod, Outcome, ProductEffect, Reason,
};
use crate::contract::{LineIndex, ReaderSettings, read};
use crate::mesh::{Loaded, Mesh, ParseFailure};
use crate::pack::PolicyPack;

/// A file of access cases.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessCaseFile {
    /// What the file is about.
    #[serde(default)]
    pub note: Option<String>,
    /// Contract files of the mesh (file name → YAML text).
    #[serde(default)]
    pub contracts: BTreeMap<String, String>,
    /// A folder of the pack whose `*.yaml` files are contracts of the mesh.
    #[serde(default)]
    pub mesh: Option<String>,
    /// The cases.
    pub cases: Vec<AccessCase>,
}

/// One request and the decision it must get.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessCase {
    /// What the case shows.
    pub name: String,
    /// The request.
    pub request: AccessRequest,
    /// A product action other than `query` (e.g. `write`, `manage`) to ask instead.
    #[serde(default)]
    pub action: Option<String>,
    /// The decision expected.
    pub expect: AccessExpect,
}

impl AccessCase {
    /// Asks `engine` the case's request (or its product action) and says what the answer
    /// gets wrong, one sentence per expectation: empty when the case holds.
    #[must_use]
    pub fn problems(&self, engine: &AccessEngine) -> Vec<String> {
        match self.action.as_deref() {
            None | Some("query") => match engine.decide(&self.request) {
                Ok(decision) => check(&self.expect, &decision),
                Err(e) => vec![format!("the request is refused: {e}")],
            },
            Some(action) => {
                match engine.decide_action(&self.request.principal, &self.request.product, action) {
                    Ok(decision) => check_action(&self.expect, &decision),
                    Err(e) => vec![format!("the request is refused: {e}")],
                }
            }
        }
    }
}

/// The parts of a decision a case expects; what it leaves out is not checked.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AccessExpect {
    /// The overall decision.
    pub decision: Outcome,
    /// The product's effect.
    #[serde(default)]
    pub product: Option<ProductEffect>,
    /// The product id the request resolved to.
    #[serde(default)]
    pub product_id: Option<String>,
    /// Substrings of the product's reasons (policy ids or messages).
    #[serde(default)]
    pub reasons: Vec<String>,
    /// Every column of the decision, by name.
    #[serde(default)]
    pub columns: Option<BTreeMap<String, ColumnExpect>>,
    /// The row filters' SQL, in order.
    #[serde(default)]
    pub row_filters: Option<Vec<String>>,
}

/// What a case expects of one column.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColumnExpect {
    /// Allow, mask or deny.
    pub effect: ColumnEffect,
    /// The masking method (checked for `mask`, and whenever given).
    #[serde(default)]
    pub mask_method: Option<MaskMethod>,
    /// The SQL mask expression.
    #[serde(default)]
    pub mask_expression: Option<String>,
    /// Substrings of the column's reasons.
    #[serde(default)]
    pub reasons: Vec<String>,
}

impl AccessCaseFile {
    /// The mesh of the file: its inline contracts and the contracts of its `mesh` folder.
    fn mesh(&self, pack: &PolicyPack, reader: &ReaderSettings) -> Mesh {
        let mut loaded = Vec::new();
        let mut add = |name: &str, text: &str| {
            loaded.push(match read(name, text, reader) {
                Ok(contract) => Loaded::Contract(Box::new(contract)),
                Err(e) => Loaded::Failure(ParseFailure {
                    file: name.to_owned(),
                    line: e.line,
                    message: e.message,
                }),
            });
        };
        for (name, text) in &self.contracts {
            add(name, text);
        }
        if let Some(folder) = &self.mesh {
            let folder = folder.trim_end_matches('/');
            for file in pack.files() {
                let Some(rel) = file
                    .path
                    .strip_prefix(folder)
                    .and_then(|rest| rest.strip_prefix('/'))
                else {
                    continue;
                };
                if rel.ends_with(".yaml") || rel.ends_with(".yml") {
                    add(rel, &file.text);
                }
            }
        }
        Mesh::from_loaded(loaded)
    }
}

/// Runs the cases of one access-case file.
pub(crate) fn run(
    policies: &Arc<AccessPolicies>,
    pack: &PolicyPack,
    path: &str,
    text: &str,
    selected: &dyn Fn(&str) -> bool,
) -> Vec<TestResult> {
    let file: AccessCaseFile = match yaml_serde::from_str(text) {
        Ok(file) => file,
        Err(e) => {
            return vec![super::rule_cases::bad_file(
                TestKind::AccessCase,
                path,
                format!("not an access-case file: {e}"),
            )];
        }
    };
    if let Some(folder) = &file.mesh
        && !has_contracts(pack, folder)
    {
        return vec![super::rule_cases::bad_file(
            TestKind::AccessCase,
            path,
            format!("the mesh folder `{folder}` holds no `*.yaml` file in the pack"),
        )];
    }
    let reader = ReaderSettings::from_settings(pack.settings());
    let mesh = file.mesh(pack, &reader);
    let engine = AccessEngine::with_policies(Arc::clone(policies), &mesh);
    let lines = LineIndex::build(text);
    let mut results = Vec::new();
    for (i, case) in file.cases.iter().enumerate() {
        if !selected(&test_id(TestKind::AccessCase, path, &case.name)) {
            continue;
        }
        let problems = match &engine {
            Err(e) => vec![format!(
                "the access engine cannot be built for this mesh: {e}"
            )],
            Ok(engine) => case.problems(engine),
        };
        results.push(TestResult {
            kind: TestKind::AccessCase,
            suite: path.to_owned(),
            name: case.name.clone(),
            file: path.to_owned(),
            line: lines.exact(&format!("cases[{i}]")),
            status: if problems.is_empty() {
                TestStatus::Pass
            } else {
                TestStatus::Fail
            },
            reason: (!problems.is_empty()).then(|| problems.join("; ")),
            output: Vec::new(),
        });
    }
    results
}

fn has_contracts(pack: &PolicyPack, folder: &str) -> bool {
    let prefix = format!("{}/", folder.trim_end_matches('/'));
    pack.files().iter().any(|f| {
        f.path.starts_with(&prefix) && (f.path.ends_with(".yaml") || f.path.ends_with(".yml"))
    })
}

fn has_reason(reasons: &[Reason], wanted: &str) -> bool {
    reasons.iter().any(|r| {
        r.policy.as_deref().is_some_and(|p| p.contains(wanted)) || r.message.contains(wanted)
    })
}

fn reasons_text(reasons: &[Reason]) -> String {
    let items: Vec<String> = reasons
        .iter()
        .map(|r| match &r.policy {
            Some(policy) => policy.clone(),
            None => format!("\"{}\"", r.message),
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// What a product action's answer gets wrong; expectations about columns, masks and row
/// filters mean nothing for it and are reported as such.
fn check_action(expect: &AccessExpect, d: &ActionDecision) -> Vec<String> {
    let mut problems = Vec::new();
    let got = if d.allowed {
        Outcome::Allow
    } else {
        Outcome::Deny
    };
    check_outcome(expect, got, d.product.as_deref(), &d.reasons, &mut problems);
    if expect.product.is_some() || expect.columns.is_some() || expect.row_filters.is_some() {
        problems.push(
            "a product action has no product effect, columns or row filters to expect".to_owned(),
        );
    }
    problems
}

/// What the decision gets wrong, one sentence per expectation.
fn check(expect: &AccessExpect, d: &Decision) -> Vec<String> {
    let mut problems = Vec::new();
    check_outcome(
        expect,
        d.decision,
        d.product.id.as_deref(),
        &d.reasons,
        &mut problems,
    );
    if let Some(p) = expect.product
        && d.product.effect != p
    {
        problems.push(format!(
            "expected product {}, got {}",
            product_effect(p),
            product_effect(d.product.effect)
        ));
    }
    if let Some(columns) = &expect.columns {
        let got: Vec<&str> = d.columns.iter().map(|c| c.name.as_str()).collect();
        let mut sorted = got.clone();
        sorted.sort_unstable();
        let wanted: Vec<&str> = columns.keys().map(String::as_str).collect();
        if sorted != wanted {
            problems.push(format!(
                "expected columns [{}], got [{}]",
                wanted.join(", "),
                got.join(", ")
            ));
        }
        for (name, c) in columns {
            if let Some(col) = d.column(name) {
                check_column(name, c, col, &mut problems);
            }
        }
    }
    if let Some(filters) = &expect.row_filters {
        let got: Vec<&str> = d.row_filters.iter().map(|f| f.sql.as_str()).collect();
        if got != filters.iter().map(String::as_str).collect::<Vec<_>>() {
            problems.push(format!(
                "expected row filters [{}], got [{}]",
                filters.join("; "),
                got.join("; ")
            ));
        }
    }
    problems
}

/// The overall decision, the product id and the product's reasons.
fn check_outcome(
    expect: &AccessExpect,
    got: Outcome,
    product_id: Option<&str>,
    reasons: &[Reason],
    problems: &mut Vec<String>,
) {
    if got != expect.decision {
        problems.push(format!(
            "expected decision {}, got {} (reasons: {})",
            expect.decision.as_str(),
            got.as_str(),
            reasons_text(reasons)
        ));
    }
    if let Some(id) = &expect.product_id
        && product_id != Some(id.as_str())
    {
        problems.push(format!(
            "expected product id `{id}`, got {}",
            product_id.map_or_else(|| "none".to_owned(), |i| format!("`{i}`"))
        ));
    }
    for r in &expect.reasons {
        if !has_reason(reasons, r) {
            problems.push(format!(
                "the product's reasons lack `{r}`: {}",
                reasons_text(reasons)
            ));
        }
    }
}

/// One column's effect, mask method and expression, and reasons.
fn check_column(name: &str, c: &ColumnExpect, col: &ColumnDecision, problems: &mut Vec<String>) {
    if col.effect != c.effect {
        problems.push(format!(
            "column `{name}`: expected {}, got {} (reasons: {})",
            c.effect.as_str(),
            col.effect.as_str(),
            reasons_text(&col.reasons)
        ));
    }
    if (c.effect == ColumnEffect::Mask || c.mask_method.is_some())
        && col.mask_method != c.mask_method
    {
        problems.push(format!(
            "column `{name}`: expected mask method {}, got {}",
            method(c.mask_method),
            method(col.mask_method)
        ));
    }
    if let Some(expr) = &c.mask_expression
        && col.mask_expression.as_ref() != Some(expr)
    {
        problems.push(format!(
            "column `{name}`: expected mask expression `{expr}`, got {}",
            col.mask_expression
                .as_deref()
                .map_or_else(|| "none".to_owned(), |e| format!("`{e}`"))
        ));
    }
    for r in &c.reasons {
        if !has_reason(&col.reasons, r) {
            problems.push(format!(
                "column `{name}`: its reasons lack `{r}`: {}",
                reasons_text(&col.reasons)
            ));
        }
    }
}

fn product_effect(effect: ProductEffect) -> &'static str {
    match effect {
        ProductEffect::Allow => "allow",
        ProductEffect::Deny => "deny",
    }
}

fn method(method: Option<MaskMethod>) -> &'static str {
    method.map_or("none", MaskMethod::as_str)
}
