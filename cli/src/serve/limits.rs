//! Limits: message size, columns per request, batch size, concurrency and the caller's
//! deadline.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::body::Body;
use tonic::codegen::{Service, http};
use tonic::server::NamedService;
use tonic::{Code, Status};

/// The limits a server enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The most requests in one CheckAccessBatch call.
    pub max_batch: usize,
    /// The most columns in one access request.
    pub max_columns: usize,
    /// The largest request message, in bytes.
    pub max_message_bytes: usize,
    concurrency: Arc<Semaphore>,
    max_concurrency: usize,
}

impl Limits {
    /// Limits with room for `max_concurrency` calls at once.
    pub fn new(
        max_batch: usize,
        max_columns: usize,
        max_message_bytes: usize,
        max_concurrency: usize,
    ) -> Self {
        let max_concurrency = max_concurrency.min(Semaphore::MAX_PERMITS);
        Self {
            max_batch,
            max_columns,
            max_message_bytes,
            concurrency: Arc::new(Semaphore::new(max_concurrency)),
            max_concurrency,
        }
    }

    /// A slot for one call, or `RESOURCE_EXHAUSTED` when every slot is taken (no queueing:
    /// overload is refused at once rather than answered late). Work handed to another
    /// thread takes the slot along: a call dropped by its caller gives it back only when
    /// that work is done.
    pub fn admit(&self) -> Result<OwnedSemaphorePermit, Status> {
        Arc::clone(&self.concurrency)
            .try_acquire_owned()
            .map_err(|_| {
                Status::resource_exhausted(format!(
                    "the server is serving its limit of {} calls at once; retry with backoff",
                    self.max_concurrency
                ))
            })
    }
}

/// When the caller's deadline passes (from `grpc-timeout`, counted from the call's arrival),
/// put in the request's extensions for the handlers.
#[derive(Debug, Clone, Copy)]
pub struct Deadline(pub Instant);

impl Deadline {
    /// The deadline of a call arriving `now` with these headers, if it has one.
    fn of(headers: &http::HeaderMap, now: Instant) -> Option<Self> {
        // `1*8DIGIT unit` (gRPC over HTTP/2); anything else is no deadline, as in tonic.
        let value = headers.get("grpc-timeout")?.to_str().ok()?;
        let (digits, unit) = value.split_at_checked(value.len().checked_sub(1)?)?;
        if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let amount: u64 = digits.parse().ok()?;
        let timeout = match unit {
            "H" => Duration::from_secs(amount.checked_mul(3600)?),
            "M" => Duration::from_secs(amount.checked_mul(60)?),
            "S" => Duration::from_secs(amount),
            "m" => Duration::from_millis(amount),
            "u" => Duration::from_micros(amount),
            "n" => Duration::from_nanos(amount),
            _ => return None,
        };
        now.checked_add(timeout).map(Self)
    }

    /// `DEADLINE_EXCEEDED` once the caller's deadline has passed ("… before {what}").
    /// tonic's own timer only cancels a call still waiting when it fires (tokio's timer
    /// counts whole milliseconds, and tonic polls the call first), so without this a fast
    /// handler decides, logs and answers a call whose caller had already given up, or logs
    /// a decision nobody receives.
    pub fn check(deadline: Option<Self>, what: &str) -> Result<(), Status> {
        match deadline {
            Some(Self(at)) if Instant::now() >= at => Err(Status::deadline_exceeded(format!(
                "the caller's deadline passed before {what}"
            ))),
            _ => Ok(()),
        }
    }
}

/// The decision service as served: notes each call's [`Deadline`] on arrival, and answers
/// an oversized request with `RESOURCE_EXHAUSTED` naming the limit and its flag, as
/// grpc-go and grpc-java do (tonic says `OUT_OF_RANGE`, with neither).
#[derive(Debug, Clone)]
pub struct Guarded<S> {
    inner: S,
    max_message_bytes: usize,
}

impl<S> Guarded<S> {
    /// `inner`, refusing requests above `max_message_bytes` (the limit tonic enforces).
    pub fn new(inner: S, max_message_bytes: usize) -> Self {
        Self {
            inner,
            max_message_bytes,
        }
    }
}

impl<S: NamedService> NamedService for Guarded<S> {
    const NAME: &'static str = S::NAME;
}

impl<S, B> Service<http::Request<B>> for Guarded<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>, Error = Infallible>,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<http::Response<Body>, Infallible>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        if let Some(deadline) = Deadline::of(request.headers(), Instant::now()) {
            request.extensions_mut().insert(deadline);
        }
        let limit = self.max_message_bytes;
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await?;
            Ok(oversized(response, limit))
        })
    }
}

/// Rewrites tonic's refusal of a request above the decoding limit. A status raised before
/// the handler runs travels in the response's extensions; the handlers never use
/// `OUT_OF_RANGE`, and tonic uses it, on requests, only for this.
fn oversized(response: http::Response<Body>, limit: usize) -> http::Response<Body> {
    let Some(status) = response.extensions().get::<Status>() else {
        return response;
    };
    if status.code() != Code::OutOfRange || !status.message().contains("length too large") {
        return response;
    }
    // tonic's message: "…: found {len} bytes, the limit is: {limit} bytes".
    let found = status
        .message()
        .split_once("found ")
        .and_then(|(_, rest)| rest.split(' ').next())
        .and_then(|n| n.parse::<u64>().ok());
    let size = found.map_or_else(String::new, |n| format!(" of {n} bytes"));
    Status::resource_exhausted(format!(
        "the request message{size} is larger than the server's limit of {limit} bytes (--max-message-bytes)"
    ))
    .into_http()
}
