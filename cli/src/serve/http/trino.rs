//! Trino's OPA access-control endpoints (`/v1/data/charter/trino/…`): the request as the
//! `trino-opa` plugin posts it in, `{"result": …}` out as it decodes it. A malformed
//! request or a missing identity is 400; a filter or mask that cannot be decided on a
//! governed table is 500 (Trino fails the query), never `{}`.

use std::panic::{AssertUnwindSafe, catch_unwind};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use charter_engine::access::Principal;
use charter_engine::access::trino::{
    Asked, Trino, TrinoAnswer, TrinoFailure, TrinoInput, TrinoRequest,
};
use serde_json::{Value, json};

use super::HttpState;
use super::call::{self, Refusal};
use crate::serve::decision_log::{self, Operation};
use crate::serve::snapshot::Snapshot;

type Answer = Result<TrinoAnswer<Value>, TrinoFailure>;

pub async fn allow(state: State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    run(
        state,
        headers,
        body,
        "trino/allow",
        |trino, input, principal| {
            let answer = trino.allow(input, principal);
            Ok(convert(answer, Value::Bool))
        },
    )
    .await
}

pub async fn batch(state: State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    run(
        state,
        headers,
        body,
        "trino/batch",
        |trino, input, principal| Ok(convert(trino.batch(input, principal), |kept| json!(kept))),
    )
    .await
}

pub async fn row_filters(state: State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    run(
        state,
        headers,
        body,
        "trino/rowFilters",
        |trino, input, principal| {
            let answer = trino.row_filters(input, principal)?;
            Ok(convert(answer, |filters| {
                Value::Array(
                    filters
                        .into_iter()
                        .map(|sql| json!({ "expression": sql }))
                        .collect(),
                )
            }))
        },
    )
    .await
}

pub async fn column_mask(state: State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    run(
        state,
        headers,
        body,
        "trino/columnMask",
        |trino, input, principal| {
            let Some(resource) = input.action.resource.as_ref() else {
                return Err(TrinoFailure("GetColumnMask names no column".into()));
            };
            let answer = trino.column_masks(&[resource], principal)?;
            Ok(convert(answer, |masks| match masks.into_iter().next() {
                Some((_, expression)) => json!({ "expression": expression }),
                None => Value::Null,
            }))
        },
    )
    .await
}

pub async fn batch_column_masks(
    state: State<HttpState>,
    headers: HeaderMap,
    body: Body,
) -> Response {
    run(
        state,
        headers,
        body,
        "trino/batchColumnMasks",
        |trino, input, principal| {
            let resources: Vec<_> = input.action.filter_resources.iter().collect();
            let answer = trino.column_masks(&resources, principal)?;
            Ok(convert(answer, |masks| {
                Value::Array(
                    masks
                        .into_iter()
                        .map(|(index, expression)| {
                            json!({ "index": index, "viewExpression": { "expression": expression } })
                        })
                        .collect(),
                )
            }))
        },
    )
    .await
}

fn convert<T>(answer: TrinoAnswer<T>, f: impl FnOnce(T) -> Value) -> TrinoAnswer<Value> {
    TrinoAnswer {
        result: f(answer.result),
        asked: answer.asked,
    }
}

/// Admits, parses, decides on the current snapshot, logs every decision, answers.
async fn run(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Body,
    endpoint: &'static str,
    decide: impl FnOnce(&Trino<'_>, &TrinoInput, &Principal) -> Answer,
) -> Response {
    let started = std::time::Instant::now();
    let response = match answer(&state, &headers, body, endpoint, decide).await {
        Ok(result) => axum::Json(json!({ "result": result })).into_response(),
        Err(refusal) => refusal.into_response(),
    };
    call::finish(&state, endpoint, started.elapsed(), response)
}

async fn answer(
    state: &HttpState,
    headers: &HeaderMap,
    body: Body,
    endpoint: &'static str,
    decide: impl FnOnce(&Trino<'_>, &TrinoInput, &Principal) -> Answer,
) -> Result<Value, Refusal> {
    let admitted = call::admit(state, headers, body).await?;
    let request = TrinoRequest::parse(&admitted.body)
        .map_err(|e| Refusal(StatusCode::BAD_REQUEST, e.to_string()))?;
    within_limits(&request.input, &state.handlers.limits)?;
    let snapshot = state.handlers.store.current();
    let principal = snapshot.directory.resolve(&request.principal());
    let trino = Trino::new(&snapshot.access, snapshot.trino);
    let items = request.input.action.filter_resources.len();
    let decided = call::off_worker_if_large(items, || {
        catch_unwind(AssertUnwindSafe(|| {
            decide(&trino, &request.input, &principal)
        }))
    })
    .map_err(|_| {
        Refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error while deciding".into(),
        )
    })?;
    let mut lines = Vec::with_capacity(1024);
    let elapsed = admitted.started.elapsed();
    match decided {
        Ok(answer) => {
            write_lines(
                &mut lines,
                endpoint,
                &principal,
                &request,
                &answer.asked,
                &snapshot,
                elapsed,
            );
            count(state, &answer.asked);
            call::log(state, &lines)?;
            Ok(answer.result)
        }
        Err(failure) => {
            let op = Operation {
                rpc: endpoint,
                principal: &principal,
                asked: &request.input.action.operation,
                product_id: None,
                allowed: false,
                reason: &failure.0,
            };
            decision_log::write_operation(&mut lines, &op, &snapshot.revision, elapsed);
            state.handlers.metrics.decision("deny", std::iter::empty());
            call::log(state, &lines)?;
            Err(Refusal(StatusCode::INTERNAL_SERVER_ERROR, failure.0))
        }
    }
}

/// `--max-columns` bounds the columns of one table (listed, filtered or masked),
/// `--max-batch` the items of a listing filter.
fn within_limits(input: &TrinoInput, limits: &crate::serve::limits::Limits) -> Result<(), Refusal> {
    let action = &input.action;
    let too_large = |what: String| Err(Refusal(StatusCode::PAYLOAD_TOO_LARGE, what));
    let tables = action.resource.iter().chain(&action.filter_resources);
    for table in tables.filter_map(|r| r.table.as_ref()) {
        let columns = table.columns.as_ref().map_or(0, Vec::len);
        if columns > limits.max_columns {
            return too_large(format!(
                "{columns} columns; at most {} per request (--max-columns)",
                limits.max_columns
            ));
        }
    }
    let items = action.filter_resources.len();
    let masks = action.operation == "GetColumnMask";
    if masks && items > limits.max_columns {
        return too_large(format!(
            "{items} columns; at most {} per request (--max-columns)",
            limits.max_columns
        ));
    }
    if !masks && items > limits.max_batch {
        return too_large(format!(
            "{items} resources; at most {} per request (--max-batch)",
            limits.max_batch
        ));
    }
    Ok(())
}

fn count(state: &HttpState, asked: &[Asked]) {
    let metrics = &state.handlers.metrics;
    for item in asked {
        match item {
            Asked::Access(pair) => metrics.decision(
                pair.1.decision.as_str(),
                pair.1.columns.iter().map(|c| c.effect.as_str()),
            ),
            Asked::Action { decision, .. } => metrics.decision(
                if decision.allowed { "allow" } else { "deny" },
                std::iter::empty(),
            ),
            Asked::Operation { allowed, .. } => {
                metrics.decision(if *allowed { "allow" } else { "deny" }, std::iter::empty())
            }
        }
    }
}

fn write_lines(
    lines: &mut Vec<u8>,
    endpoint: &'static str,
    principal: &Principal,
    request: &TrinoRequest,
    asked: &[Asked],
    snapshot: &Snapshot,
    elapsed: std::time::Duration,
) {
    let operation = &request.input.action.operation;
    for item in asked {
        match item {
            Asked::Access(pair) => decision_log::write_decision(
                lines,
                endpoint,
                &pair.0,
                &pair.1,
                &snapshot.revision,
                elapsed,
            ),
            Asked::Action {
                table,
                action,
                decision,
            } => {
                let asked = format!("{operation}: {action} on `{table}`");
                let reasons: Vec<&str> = decision
                    .reasons
                    .iter()
                    .map(|r| r.message.as_str())
                    .collect();
                let reason = reasons.join("; ");
                let op = Operation {
                    rpc: endpoint,
                    principal,
                    asked: &asked,
                    product_id: decision.product.as_deref(),
                    allowed: decision.allowed,
                    reason: &reason,
                };
                decision_log::write_operation(lines, &op, &snapshot.revision, elapsed);
            }
            Asked::Operation { allowed, reason } => {
                let op = Operation {
                    rpc: endpoint,
                    principal,
                    asked: operation,
                    product_id: None,
                    allowed: *allowed,
                    reason,
                };
                decision_log::write_operation(lines, &op, &snapshot.revision, elapsed);
            }
        }
    }
}
