//! OpenID AuthZEN 1.0 access evaluations over the mesh, independent of HTTP.
//!
//! Resource types `data_product` (id = product id), `table` (`catalog.schema.table`) and
//! `column` (`<table>.<column>`) get data-product semantics with actions `query`, `write`
//! and `manage`: `query` with `properties.columns` is true only when the product may be
//! queried and none of those columns is denied. Any other resource type is decided by
//! the pack's Cedar policies directly ([`AccessEngine::decide_other`]). The subject is
//! completed by the principal directory; `subject.properties.roles/groups/attributes` add
//! to it.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::cedar_direct::OtherResource;
use super::decision::{ColumnEffect, Decision, ProductEffect};
use super::directory::Directory;
use super::engine::AccessEngine;
use super::mask::Dialect;
use super::product_action::ActionDecision;
use super::request::{AccessRequest, Principal, ProductRef};

/// `{type, id, properties?}` (subject and resource alike).
#[derive(Debug, Clone, Deserialize)]
pub struct Entity {
    /// The type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The id.
    pub id: String,
    /// Free-form properties.
    #[serde(default)]
    pub properties: Value,
}

/// `{name, properties?}`.
#[derive(Debug, Clone, Deserialize)]
pub struct Action {
    /// The action's name.
    pub name: String,
    /// Free-form properties.
    #[serde(default)]
    pub properties: Value,
}

/// One evaluation, with every part optional (batch items inherit the top-level defaults).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Partial {
    /// The subject.
    #[serde(default)]
    pub subject: Option<Entity>,
    /// The action.
    #[serde(default)]
    pub action: Option<Action>,
    /// The resource.
    #[serde(default)]
    pub resource: Option<Entity>,
    /// The context.
    #[serde(default)]
    pub context: Option<Value>,
}

/// The body of `POST /access/v1/evaluations` (and, without `evaluations`, of `/evaluation`).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct EvaluationsRequest {
    /// Top-level defaults.
    #[serde(flatten)]
    pub defaults: Partial,
    /// The items.
    #[serde(default)]
    pub evaluations: Option<Vec<Partial>>,
    /// `{"evaluations_semantic": …}`.
    #[serde(default)]
    pub options: Option<Value>,
}

/// How a batch is evaluated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Semantic {
    /// Every item (the default).
    ExecuteAll,
    /// Up to and including the first deny.
    DenyOnFirstDeny,
    /// Up to and including the first permit.
    PermitOnFirstPermit,
}

/// A request that is not AuthZEN's shape (HTTP 400).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed AuthZEN request: {0}")]
pub struct Malformed(pub String);

impl EvaluationsRequest {
    /// Parses a body.
    ///
    /// # Errors
    /// Not JSON, or not AuthZEN's shape.
    pub fn parse(body: &[u8]) -> Result<Self, Malformed> {
        serde_json::from_slice(body).map_err(|e| Malformed(e.to_string()))
    }

    /// The batch semantic of `options.evaluations_semantic`.
    ///
    /// # Errors
    /// An unknown semantic.
    pub fn semantic(&self) -> Result<Semantic, Malformed> {
        let name = self
            .options
            .as_ref()
            .and_then(|o| o.get("evaluations_semantic"));
        match name.and_then(Value::as_str) {
            None | Some("execute_all") => Ok(Semantic::ExecuteAll),
            Some("deny_on_first_deny") => Ok(Semantic::DenyOnFirstDeny),
            Some("permit_on_first_permit") => Ok(Semantic::PermitOnFirstPermit),
            Some(other) => Err(Malformed(format!(
                "options.evaluations_semantic: unknown semantic `{other}`"
            ))),
        }
    }

    /// Item `item` with the top-level defaults filled in.
    #[must_use]
    pub fn merged(&self, item: &Partial) -> Partial {
        let d = &self.defaults;
        Partial {
            subject: item.subject.clone().or_else(|| d.subject.clone()),
            action: item.action.clone().or_else(|| d.action.clone()),
            resource: item.resource.clone().or_else(|| d.resource.clone()),
            context: item.context.clone().or_else(|| d.context.clone()),
        }
    }
}

/// What was decided for one evaluation, for the answer and the decision log.
#[derive(Debug, Clone)]
pub enum Decided {
    /// A data-product read.
    Access(Box<(AccessRequest, Decision)>),
    /// A data-product write or manage, or a Cedar decision on another resource type.
    Action(Principal, ActionDecision),
    /// An evaluation that could not be made.
    Failed(String),
}

/// One evaluation's answer.
#[derive(Debug, Clone)]
pub struct Evaluated {
    /// The decision.
    pub decision: bool,
    /// `{"decision"}` plus `context` (an error, or details when asked for).
    pub response: Value,
    /// For the log.
    pub decided: Decided,
}

/// Decides one (merged) evaluation. A missing subject, action or resource is an error
/// item (`{"decision": false, "context": {"error": …}}`).
#[must_use]
pub fn evaluate(engine: &AccessEngine, directory: &Directory, request: &Partial) -> Evaluated {
    let (Some(subject), Some(action), Some(resource)) =
        (&request.subject, &request.action, &request.resource)
    else {
        return failed("the evaluation needs a subject, an action and a resource".into());
    };
    let principal = directory.resolve(&principal_of(subject));
    if principal.id.trim().is_empty() {
        return failed("subject.id must not be empty".into());
    }
    let context = request.context.clone().unwrap_or(Value::Null);
    let details = context.get("include_reasons").and_then(Value::as_bool) == Some(true)
        || context.get("include_details").and_then(Value::as_bool) == Some(true);
    let product = match resource.kind.as_str() {
        "data_product" => Some((ProductRef::Id(resource.id.clone()), None)),
        "table" => Some((ProductRef::Table(resource.id.clone()), None)),
        "column" => match resource.id.rsplit_once('.') {
            Some((table, column)) => {
                Some((ProductRef::Table(table.to_owned()), Some(column.to_owned())))
            }
            None => {
                return failed(format!(
                    "column id `{}` is not `<table>.<column>`",
                    resource.id
                ));
            }
        },
        _ => None,
    };
    let Some((product, column)) = product else {
        let other = OtherResource {
            kind: &resource.kind,
            id: &resource.id,
            properties: &resource.properties,
        };
        return match engine.decide_other(&principal, &action.name, &other, &context) {
            Ok(d) => action_answer(principal, d, details),
            Err(e) => failed(e.to_string()),
        };
    };
    match action.name.as_str() {
        "query" => {
            let mut columns: Vec<String> = column.into_iter().collect();
            if let Some(listed) = resource.properties.get("columns").and_then(Value::as_array) {
                columns.extend(listed.iter().filter_map(Value::as_str).map(str::to_owned));
            }
            let request = AccessRequest {
                principal,
                product,
                columns,
                purpose: context
                    .get("purpose")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                dialect: Some(Dialect::Trino),
            };
            match engine.decide(&request) {
                Ok(decision) => read_answer(request, decision, details),
                Err(e) => failed(e.to_string()),
            }
        }
        "write" | "manage" => match engine.decide_action(&principal, &product, &action.name) {
            Ok(d) => action_answer(principal, d, details),
            Err(e) => failed(e.to_string()),
        },
        other => action_answer(
            principal,
            ActionDecision {
                allowed: false,
                product: None,
                reasons: vec![super::decision::Reason {
                    policy: None,
                    message: format!(
                        "action `{other}` does not apply to a {}: one of query, write, manage",
                        resource.kind
                    ),
                }],
            },
            details,
        ),
    }
}

fn principal_of(subject: &Entity) -> Principal {
    let strings = |key: &str| -> Vec<String> {
        subject
            .properties
            .get(key)
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(Value::as_str)
                    .map(str::to_owned)
                    .collect()
            })
            .unwrap_or_default()
    };
    let attributes = subject
        .properties
        .get("attributes")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| v.as_str().map(|v| (k.clone(), v.to_owned())))
                .collect()
        })
        .unwrap_or_default();
    Principal {
        id: subject.id.clone(),
        roles: strings("roles"),
        groups: strings("groups"),
        attributes,
    }
}

fn failed(error: String) -> Evaluated {
    Evaluated {
        decision: false,
        response: json!({"decision": false, "context": {"error": error}}),
        decided: Decided::Failed(error),
    }
}

fn action_answer(principal: Principal, decision: ActionDecision, details: bool) -> Evaluated {
    let mut response = json!({"decision": decision.allowed});
    if details {
        let reasons: Vec<&str> = decision
            .reasons
            .iter()
            .map(|r| r.message.as_str())
            .collect();
        response["context"] = json!({ "reasons": reasons });
    }
    Evaluated {
        decision: decision.allowed,
        response,
        decided: Decided::Action(principal, decision),
    }
}

fn read_answer(request: AccessRequest, decision: Decision, details: bool) -> Evaluated {
    let allowed = decision.product.effect == ProductEffect::Allow
        && decision
            .columns
            .iter()
            .all(|c| c.effect != ColumnEffect::Deny);
    let mut response = json!({"decision": allowed});
    if details {
        let mut context = Map::new();
        let reasons: Vec<&str> = decision
            .reasons
            .iter()
            .map(|r| r.message.as_str())
            .collect();
        context.insert("reasons".into(), json!(reasons));
        context.insert(
            "columns".into(),
            Value::Array(
                decision
                    .columns
                    .iter()
                    .map(|c| {
                        json!({"name": c.name, "effect": c.effect.as_str(),
                               "mask_method": c.mask_method.map(|m| m.as_str()),
                               "mask_expression": c.mask_expression})
                    })
                    .collect(),
            ),
        );
        let filters: Vec<&str> = decision
            .row_filters
            .iter()
            .map(|f| f.sql.as_str())
            .collect();
        context.insert("row_filters".into(), json!(filters));
        response["context"] = Value::Object(context);
    }
    Evaluated {
        decision: allowed,
        response,
        decided: Decided::Access(Box::new((request, decision))),
    }
}

/// Decides a batch in order; the short-circuit semantics stop after the deciding item.
#[must_use]
pub fn evaluate_all(
    engine: &AccessEngine,
    directory: &Directory,
    request: &EvaluationsRequest,
    items: &[Partial],
    semantic: Semantic,
) -> Vec<Evaluated> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let evaluated = evaluate(engine, directory, &request.merged(item));
        let stop = match semantic {
            Semantic::ExecuteAll => false,
            Semantic::DenyOnFirstDeny => !evaluated.decision,
            Semantic::PermitOnFirstPermit => evaluated.decision,
        };
        out.push(evaluated);
        if stop {
            break;
        }
    }
    out
}
