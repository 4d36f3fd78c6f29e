//! Conversions between `charter.v1` messages and the engine's models, validating
//! every field on the way in.

use charter_engine::access::{
    AccessRequest, ColumnEffect, Decision, Dialect, Outcome, PolicyOutcome, Principal, ProductRef,
    Reason,
};
use charter_engine::report::Severity;
use charter_proto::v1 as pb;
use tonic::Status;

use super::errors::invalid;

/// A validated access request, and whether the caller asked for an explanation.
#[derive(Debug)]
pub struct Validated {
    /// The engine's request.
    pub request: AccessRequest,
    /// Record every policy evaluated.
    pub explain: bool,
}

/// Checks every field of `message` (`prefix` names it inside a batch) and converts it.
pub fn access_request(
    message: pb::AccessRequest,
    max_columns: usize,
    prefix: &str,
) -> Result<Validated, Status> {
    let field = |name: &str| format!("{prefix}{name}");
    let principal = message
        .principal
        .ok_or_else(|| invalid(&field("principal"), "required"))?;
    if principal.id.trim().is_empty() {
        return Err(invalid(&field("principal.id"), "must not be empty"));
    }
    if let Some(i) = principal.roles.iter().position(|r| r.trim().is_empty()) {
        return Err(invalid(
            &field(&format!("principal.roles[{i}]")),
            "must not be empty",
        ));
    }
    if let Some(i) = principal.groups.iter().position(|g| g.trim().is_empty()) {
        return Err(invalid(
            &field(&format!("principal.groups[{i}]")),
            "must not be empty",
        ));
    }
    if principal.attributes.keys().any(|k| k.trim().is_empty()) {
        return Err(invalid(&field("principal.attributes"), "a key is empty"));
    }
    let product = match message.product {
        Some(pb::access_request::Product::ProductId(id)) if !id.trim().is_empty() => {
            ProductRef::Id(id)
        }
        Some(pb::access_request::Product::ProductId(_)) => {
            return Err(invalid(&field("product_id"), "must not be empty"));
        }
        Some(pb::access_request::Product::Table(table)) if !table.trim().is_empty() => {
            ProductRef::Table(table)
        }
        Some(pb::access_request::Product::Table(_)) => {
            return Err(invalid(&field("table"), "must not be empty"));
        }
        None => {
            return Err(invalid(&field("product"), "give a product_id or a table"));
        }
    };
    if message.columns.len() > max_columns {
        return Err(invalid(
            &field("columns"),
            format_args!(
                "{} columns; at most {max_columns} per request",
                message.columns.len()
            ),
        ));
    }
    if let Some(i) = message.columns.iter().position(|c| c.trim().is_empty()) {
        return Err(invalid(
            &field(&format!("columns[{i}]")),
            "must not be empty",
        ));
    }
    if !(message.action.is_empty() || message.action == "query") {
        return Err(invalid(
            &field("action"),
            format_args!("`{}` is not supported (only `query`)", message.action),
        ));
    }
    let dialect = if message.dialect.is_empty() {
        None
    } else {
        Some(
            message
                .dialect
                .parse::<Dialect>()
                .map_err(|e| invalid(&field("dialect"), e))?,
        )
    };
    Ok(Validated {
        request: AccessRequest {
            principal: Principal {
                id: principal.id,
                roles: principal.roles,
                groups: principal.groups,
                attributes: principal.attributes.into_iter().collect(),
            },
            product,
            columns: message.columns,
            purpose: (!message.purpose.is_empty()).then_some(message.purpose),
            dialect,
        },
        explain: message.explain,
    })
}

/// The wire form of an engine decision (moved, not copied: the decision is done with).
pub fn decision(decision: Decision, revision: &str) -> pb::AccessDecision {
    pb::AccessDecision {
        decision_id: decision.decision_id,
        decision: outcome(decision.decision) as i32,
        columns: decision
            .columns
            .into_iter()
            .map(|c| pb::ColumnDecision {
                effect: column_effect(c.effect) as i32,
                mask_method: c
                    .mask_method
                    .map(|m| m.as_str().to_owned())
                    .unwrap_or_default(),
                mask_expression: c.mask_expression.unwrap_or_default(),
                reasons: reasons(c.reasons),
                name: c.name,
            })
            .collect(),
        row_filters: decision
            .row_filters
            .into_iter()
            .map(|f| pb::RowFilter {
                value_json: f.value.to_string(),
                column: f.column,
                op: f.op,
                sql: f.sql,
                reason: f.reason.unwrap_or_default(),
            })
            .collect(),
        reasons: reasons(decision.reasons),
        revision: revision.to_owned(),
        product_id: decision.product.id.unwrap_or_default(),
        explanation: decision
            .explanation
            .map(|e| {
                e.evaluations
                    .into_iter()
                    .map(|ev| pb::Evaluation {
                        action: ev.action,
                        resource: ev.resource,
                        columns: ev.columns,
                        allowed: ev.allowed,
                        policies: ev
                            .policies
                            .into_iter()
                            .map(|p| pb::PolicyEvaluation {
                                outcome: policy_outcome(p.outcome).to_owned(),
                                id: p.id,
                                effect: p.effect,
                                error: p.error.unwrap_or_default(),
                                file: p.file,
                                line: p.line,
                            })
                            .collect(),
                    })
                    .collect()
            })
            .unwrap_or_default(),
    }
}

/// A batch item that could not be decided: a DENY with its reason.
pub fn failed_item(decision_id: String, message: String, revision: &str) -> pb::AccessDecision {
    pb::AccessDecision {
        decision_id,
        decision: pb::Outcome::Deny as i32,
        reasons: vec![pb::Reason {
            policy: String::new(),
            message,
        }],
        revision: revision.to_owned(),
        ..pb::AccessDecision::default()
    }
}

fn reasons(reasons: Vec<Reason>) -> Vec<pb::Reason> {
    reasons
        .into_iter()
        .map(|r| pb::Reason {
            policy: r.policy.unwrap_or_default(),
            message: r.message,
        })
        .collect()
}

fn outcome(outcome: Outcome) -> pb::Outcome {
    match outcome {
        Outcome::Allow => pb::Outcome::Allow,
        Outcome::Partial => pb::Outcome::Partial,
        Outcome::Deny => pb::Outcome::Deny,
    }
}

fn column_effect(effect: ColumnEffect) -> pb::ColumnEffect {
    match effect {
        ColumnEffect::Allow => pb::ColumnEffect::Allow,
        ColumnEffect::Mask => pb::ColumnEffect::Mask,
        ColumnEffect::Deny => pb::ColumnEffect::Deny,
    }
}

fn policy_outcome(outcome: PolicyOutcome) -> &'static str {
    outcome.as_str()
}

/// The wire form of a finding's severity.
pub fn severity(severity: Severity) -> pb::Severity {
    match severity {
        Severity::Warning => pb::Severity::Warning,
        Severity::Error => pb::Severity::Error,
    }
}

/// RFC 3339 in UTC, to the millisecond.
pub fn timestamp(at: std::time::SystemTime) -> String {
    humantime::format_rfc3339_millis(at).to_string()
}
