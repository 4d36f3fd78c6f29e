//! The answer to an access request: product and column effects with masks, row
//! filters, reasons, and (on request) an explanation of every policy evaluated.
//!
//! Serialized, a decision is the JSON `charter authorize --format json` prints:
//! `{"decision","decision_id","revision","product","columns":[{"name","effect",
//! "mask_method","mask_expression","reasons"}],"row_filters","reasons"}`.

use serde::{Deserialize, Serialize};

use super::mask::{Dialect, MaskMethod};

/// The overall answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Outcome {
    /// The product may be queried and every column comes back (in clear or masked).
    Allow,
    /// The product may be queried but some columns are denied.
    Partial,
    /// Nothing may be read.
    Deny,
}

impl Outcome {
    /// `allow`, `partial` or `deny`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Allow => "allow",
            Outcome::Partial => "partial",
            Outcome::Deny => "deny",
        }
    }
}

/// Whether the product may be queried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ProductEffect {
    /// It may.
    Allow,
    /// It may not (or it is unknown, or the decision failed).
    Deny,
}

/// What happens to one column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ColumnEffect {
    /// Returned in clear.
    Allow,
    /// Returned masked (see the column's method and expression).
    Mask,
    /// Not returned.
    Deny,
}

impl ColumnEffect {
    /// `allow`, `mask` or `deny`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            ColumnEffect::Allow => "allow",
            ColumnEffect::Mask => "mask",
            ColumnEffect::Deny => "deny",
        }
    }
}

/// Why: a determining policy, or a sentence saying why nothing could permit.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Reason {
    /// The `@id` of the Cedar policy that determined the effect, when one did.
    pub policy: Option<String>,
    /// What happened, for people.
    pub message: String,
}

impl Reason {
    pub(crate) fn message(message: impl Into<String>) -> Self {
        Self {
            policy: None,
            message: message.into(),
        }
    }
}

/// The policy pack and mesh a decision was made with.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Revision {
    /// The policy pack's content hash.
    pub policies: String,
    /// The mesh's content hash.
    pub mesh: String,
}

/// The product part of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProductDecision {
    /// The product id; `None` when the request named a table no product serves.
    pub id: Option<String>,
    /// The table the request named, when it named one.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub table: Option<String>,
    /// Whether it may be queried.
    pub effect: ProductEffect,
}

/// One column of a decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnDecision {
    /// The column as the request named it (or as the contract names it, for whole-product requests).
    pub name: String,
    /// Allow, mask or deny.
    pub effect: ColumnEffect,
    /// The masking method, for `mask`.
    pub mask_method: Option<MaskMethod>,
    /// The SQL expression to select instead of the column, for `mask`.
    pub mask_expression: Option<String>,
    /// The determining policies, or why the column is denied.
    pub reasons: Vec<Reason>,
}

/// A predicate the query must AND into its `WHERE` clause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowFilter {
    /// The column the predicate constrains.
    pub column: String,
    /// The comparison: `=`, `<>`, `in` or `not in`.
    pub op: String,
    /// The value(s) compared with, as JSON (a list for `in` and `not in`).
    pub value: serde_json::Value,
    /// The predicate in the request's SQL dialect, identifiers quoted and literals escaped.
    pub sql: String,
    /// Why the rule applies, as the rule says.
    pub reason: Option<String>,
}

/// The answer to an [`AccessRequest`](super::AccessRequest).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// `allow` (every column in clear or masked), `partial` (some column denied) or `deny`.
    pub decision: Outcome,
    /// A UUID v7, unique to this decision (for the decision log).
    pub decision_id: String,
    /// The policy pack and mesh the decision was made with.
    pub revision: Revision,
    /// The product, and whether it may be queried.
    pub product: ProductDecision,
    /// One entry per requested column (every column of the product when none was named).
    pub columns: Vec<ColumnDecision>,
    /// Predicates to AND into the query, when the product may be queried.
    pub row_filters: Vec<RowFilter>,
    /// The product's determining policies, or why it is denied.
    pub reasons: Vec<Reason>,
    /// The dialect of the SQL in this decision.
    #[serde(skip)]
    pub dialect: Dialect,
    /// Every policy evaluated, for each action asked (only when asked for).
    #[serde(rename = "explain", skip_serializing_if = "Option::is_none", default)]
    pub explanation: Option<Explanation>,
}

impl Decision {
    /// Exit-code friendly: the query may run (every column allowed or masked).
    #[must_use]
    pub fn is_allowed(&self) -> bool {
        self.decision == Outcome::Allow
    }

    /// The decision for a column, by the name the request used.
    #[must_use]
    pub fn column(&self, name: &str) -> Option<&ColumnDecision> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// Every policy evaluated for each action asked.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Explanation {
    /// One entry per Cedar request made, in order.
    pub evaluations: Vec<Evaluation>,
}

/// One Cedar request and what every policy made of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Evaluation {
    /// `query`, `read` or `readMasked`.
    pub action: String,
    /// The resource entity, e.g. `DataProduct::"sales.orders"` or `Column::"sales.orders/email"`.
    pub resource: String,
    /// The column asked about, as the contract names it (none for `query`).
    pub columns: Vec<String>,
    /// Cedar's answer.
    pub allowed: bool,
    /// Every policy of the pack, in file order.
    pub policies: Vec<PolicyEvaluation>,
}

/// What one policy made of one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyEvaluation {
    /// The policy's `@id`.
    pub id: String,
    /// `permit` or `forbid`.
    pub effect: String,
    /// Satisfied, errored or skipped (its scope or conditions do not hold).
    pub outcome: PolicyOutcome,
    /// The evaluation error, for `errored`.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub error: Option<String>,
    /// The file of the pack the policy is in.
    pub file: String,
    /// 1-based line of the policy in its file.
    pub line: u32,
}

/// What one policy made of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyOutcome {
    /// Scope and conditions hold: the policy applies.
    Satisfied,
    /// Evaluating the policy failed (the decision then fails closed).
    Errored,
    /// Scope or conditions do not hold.
    Skipped,
}

impl PolicyOutcome {
    /// `satisfied`, `errored` or `skipped`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            PolicyOutcome::Satisfied => "satisfied",
            PolicyOutcome::Errored => "errored",
            PolicyOutcome::Skipped => "skipped",
        }
    }
}
