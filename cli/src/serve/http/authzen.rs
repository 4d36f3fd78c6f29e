//! AuthZEN 1.0: `POST /access/v1/evaluation`, `POST /access/v1/evaluations`,
//! `GET /.well-known/authzen-configuration`; `X-Request-ID` is echoed. Handlers parse,
//! ask `charter_engine::access::authzen` and log every decision before answering.

use std::panic::{AssertUnwindSafe, catch_unwind};

use axum::body::Body;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use charter_engine::access::authzen::{self, Decided, Evaluated, EvaluationsRequest};
use serde_json::{Value, json};

use super::HttpState;
use super::call::{self, Refusal};
use crate::serve::decision_log::{self, Operation};
use crate::serve::snapshot::Snapshot;

const EVALUATION: &str = "/access/v1/evaluation";
const EVALUATIONS: &str = "/access/v1/evaluations";

/// `GET /.well-known/authzen-configuration`: the PDP's base URL (from `Host`) and endpoints.
pub async fn configuration(State(state): State<HttpState>, headers: HeaderMap) -> Response {
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or("127.0.0.1");
    let base = format!("{}://{host}", state.scheme);
    axum::Json(json!({
        "policy_decision_point": base,
        "access_evaluation_endpoint": format!("{base}{EVALUATION}"),
        "access_evaluations_endpoint": format!("{base}{EVALUATIONS}"),
    }))
    .into_response()
}

pub async fn evaluation(state: State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    run(state, headers, body, "authzen/evaluation", false).await
}

pub async fn evaluations(state: State<HttpState>, headers: HeaderMap, body: Body) -> Response {
    run(state, headers, body, "authzen/evaluations", true).await
}

async fn run(
    State(state): State<HttpState>,
    headers: HeaderMap,
    body: Body,
    endpoint: &'static str,
    batch: bool,
) -> Response {
    let started = std::time::Instant::now();
    let mut response = match answer(&state, &headers, body, endpoint, batch).await {
        Ok(value) => axum::Json(value).into_response(),
        Err(refusal) => refusal.into_response(),
    };
    if let Some(id) = headers.get("x-request-id").cloned() {
        response.headers_mut().insert("x-request-id", id);
    } else if let Ok(id) = HeaderValue::from_str(&uuid::Uuid::now_v7().to_string()) {
        response.headers_mut().insert("x-request-id", id);
    }
    call::finish(&state, endpoint, started.elapsed(), response)
}

async fn answer(
    state: &HttpState,
    headers: &HeaderMap,
    body: Body,
    endpoint: &'static str,
    batch: bool,
) -> Result<Value, Refusal> {
    let admitted = call::admit(state, headers, body).await?;
    let bad = |m: String| Refusal(StatusCode::BAD_REQUEST, m);
    let request = EvaluationsRequest::parse(&admitted.body).map_err(|e| bad(e.to_string()))?;
    let semantic = request.semantic().map_err(|e| bad(e.to_string()))?;
    let items = request
        .evaluations
        .clone()
        .filter(|e| batch && !e.is_empty());
    if items
        .as_ref()
        .is_some_and(|i| i.len() > state.handlers.limits.max_batch)
    {
        return Err(Refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "more than {} evaluations in one request (--max-batch)",
                state.handlers.limits.max_batch
            ),
        ));
    }
    let max_columns = state.handlers.limits.max_columns;
    let resources = std::iter::once(&request.defaults)
        .chain(items.iter().flatten())
        .filter_map(|p| p.resource.as_ref());
    for resource in resources {
        let columns = resource.properties.get("columns").and_then(Value::as_array);
        if let Some(columns) = columns.filter(|c| c.len() > max_columns) {
            return Err(Refusal(
                StatusCode::PAYLOAD_TOO_LARGE,
                format!(
                    "{} columns; at most {max_columns} per request (--max-columns)",
                    columns.len()
                ),
            ));
        }
    }
    if items.is_none() {
        let d = &request.defaults;
        for (part, missing) in [
            ("subject", d.subject.is_none()),
            ("action", d.action.is_none()),
            ("resource", d.resource.is_none()),
        ] {
            if missing {
                return Err(bad(format!("`{part}` is missing")));
            }
        }
    }
    let snapshot = state.handlers.store.current();
    let count = items.as_ref().map_or(1, Vec::len);
    let decided = call::off_worker_if_large(count, || {
        catch_unwind(AssertUnwindSafe(|| match &items {
            Some(items) => authzen::evaluate_all(
                &snapshot.access,
                &snapshot.directory,
                &request,
                items,
                semantic,
            ),
            None => vec![authzen::evaluate(
                &snapshot.access,
                &snapshot.directory,
                &request.defaults,
            )],
        }))
    })
    .map_err(|_| {
        Refusal(
            StatusCode::INTERNAL_SERVER_ERROR,
            "internal error while deciding".into(),
        )
    })?;
    let mut lines = Vec::with_capacity(512 * decided.len());
    let elapsed = admitted.started.elapsed();
    for evaluated in &decided {
        write_line(&mut lines, endpoint, evaluated, &snapshot, elapsed);
        state.handlers.metrics.decision(
            if evaluated.decision { "allow" } else { "deny" },
            std::iter::empty(),
        );
    }
    call::log(state, &lines)?;
    let mut responses = decided.into_iter().map(|e| e.response);
    Ok(if items.is_some() {
        json!({ "evaluations": responses.collect::<Vec<_>>() })
    } else {
        responses.next().unwrap_or(Value::Null)
    })
}

fn write_line(
    lines: &mut Vec<u8>,
    endpoint: &'static str,
    evaluated: &Evaluated,
    snapshot: &Snapshot,
    elapsed: std::time::Duration,
) {
    match &evaluated.decided {
        Decided::Access(pair) => decision_log::write_decision(
            lines,
            endpoint,
            &pair.0,
            &pair.1,
            &snapshot.revision,
            elapsed,
        ),
        Decided::Action(principal, decision) => {
            let reasons: Vec<&str> = decision
                .reasons
                .iter()
                .map(|r| r.message.as_str())
                .collect();
            let reason = reasons.join("; ");
            let op = Operation {
                rpc: endpoint,
                principal,
                asked: "evaluation",
                product_id: decision.product.as_deref(),
                allowed: decision.allowed,
                reason: &reason,
            };
            decision_log::write_operation(lines, &op, &snapshot.revision, elapsed);
        }
        Decided::Failed(error) => {
            let nobody = charter_engine::access::Principal::default();
            let op = Operation {
                rpc: endpoint,
                principal: &nobody,
                asked: "evaluation",
                product_id: None,
                allowed: false,
                reason: error,
            };
            decision_log::write_operation(lines, &op, &snapshot.revision, elapsed);
        }
    }
}
