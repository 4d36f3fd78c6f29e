//! What every HTTP decision call goes through: the bearer token, the message-size and
//! concurrency limits, the decision log's health; and its answer, counted in metrics.

use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use tokio::sync::OwnedSemaphorePermit;

use super::HttpState;

/// An HTTP error answer: status and message, as `{"error": message}`.
#[derive(Debug)]
pub struct Refusal(pub StatusCode, pub String);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (self.0, axum::Json(serde_json::json!({ "error": self.1 }))).into_response()
    }
}

/// An admitted call: its body, its concurrency slot and when it arrived.
#[derive(Debug)]
pub struct Admitted {
    pub body: Bytes,
    pub started: Instant,
    _slot: OwnedSemaphorePermit,
}

/// Authenticates, reads the body within `--max-message-bytes`, takes a concurrency slot
/// and checks the decision log can be written.
pub async fn admit(
    state: &HttpState,
    headers: &HeaderMap,
    body: Body,
) -> Result<Admitted, Refusal> {
    let started = Instant::now();
    let header = headers.get("authorization").map(|h| h.as_bytes());
    state
        .auth
        .check(header)
        .map_err(|m| Refusal(StatusCode::UNAUTHORIZED, m.to_owned()))?;
    let limit = state.handlers.limits.max_message_bytes;
    let body = axum::body::to_bytes(body, limit).await.map_err(|_| {
        Refusal(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "the request body is larger than the server's limit of {limit} bytes (--max-message-bytes)"
            ),
        )
    })?;
    let slot = state.handlers.limits.admit().map_err(|_| {
        Refusal(
            StatusCode::TOO_MANY_REQUESTS,
            "the server is serving its limit of calls at once (--max-concurrency); retry with backoff"
                .to_owned(),
        )
    })?;
    state
        .handlers
        .log
        .check()
        .map_err(|e| Refusal(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))?;
    Ok(Admitted {
        body,
        started,
        _slot: slot,
    })
}

/// Batches of at least this many items are decided off the async worker.
const BLOCKING_ITEMS: usize = 8;

/// Runs `work`, deciding `items` items, without holding up the other calls of this worker:
/// a batch of [`BLOCKING_ITEMS`] or more first hands the worker's other tasks to another
/// thread (a listing of thousands of tables takes milliseconds; one item, microseconds).
pub fn off_worker_if_large<T>(items: usize, work: impl FnOnce() -> T) -> T {
    if items >= BLOCKING_ITEMS {
        tokio::task::block_in_place(work)
    } else {
        work()
    }
}

/// Writes `lines` to the decision log and flushes them (nothing answered unlogged).
pub fn log(state: &HttpState, lines: &[u8]) -> Result<(), Refusal> {
    state
        .handlers
        .log
        .record(lines)
        .map_err(|e| Refusal(StatusCode::SERVICE_UNAVAILABLE, e.to_string()))
}

/// Counts the call in the metrics (as `http <path>` with the gRPC code its status maps to).
pub fn finish(
    state: &HttpState,
    endpoint: &'static str,
    elapsed: Duration,
    response: Response,
) -> Response {
    let code = match response.status() {
        StatusCode::OK => tonic::Code::Ok,
        StatusCode::BAD_REQUEST => tonic::Code::InvalidArgument,
        StatusCode::UNAUTHORIZED => tonic::Code::Unauthenticated,
        StatusCode::PAYLOAD_TOO_LARGE | StatusCode::TOO_MANY_REQUESTS => {
            tonic::Code::ResourceExhausted
        }
        StatusCode::SERVICE_UNAVAILABLE => tonic::Code::Unavailable,
        _ => tonic::Code::Internal,
    };
    state.handlers.metrics.request(endpoint, code, elapsed);
    response
}
