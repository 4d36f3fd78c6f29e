//! Prometheus metrics: requests by RPC and status code, latency histograms, decisions
//! and column effects, reloads by outcome, the decision-log backlog; served as text
//! on `--metrics-listen` at `/metrics` (axum, the HTTP stack of `--http-listen`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tokio::net::TcpListener;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    rpc: &'static str,
    code: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RpcLabels {
    rpc: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct EffectLabels {
    effect: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// Every metric of the service, in one registry.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    latency: Family<RpcLabels, Histogram>,
    decisions: Family<EffectLabels, Counter>,
    columns: Family<EffectLabels, Counter>,
    reloads: Family<OutcomeLabels, Counter>,
    log_backlog: Gauge,
}

impl Metrics {
    /// Registers every metric.
    pub fn new() -> Self {
        let mut registry = Registry::with_prefix("charter");
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "grpc_requests",
            "gRPC calls by RPC and status code",
            requests.clone(),
        );
        let latency = Family::<RpcLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.000_025, 2.0, 18))
        });
        registry.register(
            "grpc_request_duration_seconds",
            "time to answer a gRPC call, by RPC",
            latency.clone(),
        );
        let decisions = Family::<EffectLabels, Counter>::default();
        registry.register(
            "decisions",
            "access decisions by outcome (allow, partial, deny)",
            decisions.clone(),
        );
        let columns = Family::<EffectLabels, Counter>::default();
        registry.register(
            "column_decisions",
            "column decisions by effect (allow, mask, deny)",
            columns.clone(),
        );
        let reloads = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "reloads",
            "snapshot reloads by outcome (ok, error)",
            reloads.clone(),
        );
        let log_backlog = Gauge::default();
        registry.register(
            "decision_log_backlog",
            "decision-log lines waiting to be written",
            log_backlog.clone(),
        );
        Self {
            registry,
            requests,
            latency,
            decisions,
            columns,
            reloads,
            log_backlog,
        }
    }

    /// Counts a finished call and its latency.
    pub fn request(&self, rpc: &'static str, code: tonic::Code, elapsed: Duration) {
        self.requests
            .get_or_create(&RequestLabels {
                rpc,
                code: code_name(code),
            })
            .inc();
        self.latency
            .get_or_create(&RpcLabels { rpc })
            .observe(elapsed.as_secs_f64());
    }

    /// Counts one decision and its column effects.
    pub fn decision(
        &self,
        outcome: &'static str,
        column_effects: impl Iterator<Item = &'static str>,
    ) {
        self.decisions
            .get_or_create(&EffectLabels { effect: outcome })
            .inc();
        for effect in column_effects {
            self.columns.get_or_create(&EffectLabels { effect }).inc();
        }
    }

    /// Counts a reload.
    pub fn reload(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.reloads.get_or_create(&OutcomeLabels { outcome }).inc();
    }

    /// Sets the decision-log backlog.
    pub fn log_backlog(&self, lines: usize) {
        self.log_backlog
            .set(i64::try_from(lines).unwrap_or(i64::MAX));
    }

    /// The OpenMetrics text exposition.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        if let Err(error) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::error!(%error, "cannot encode metrics");
        }
        out
    }
}

/// The lowercase name of a gRPC status code, as a label value.
fn code_name(code: tonic::Code) -> &'static str {
    use tonic::Code;
    match code {
        Code::Ok => "ok",
        Code::Cancelled => "cancelled",
        Code::Unknown => "unknown",
        Code::InvalidArgument => "invalid_argument",
        Code::DeadlineExceeded => "deadline_exceeded",
        Code::NotFound => "not_found",
        Code::AlreadyExists => "already_exists",
        Code::PermissionDenied => "permission_denied",
        Code::ResourceExhausted => "resource_exhausted",
        Code::FailedPrecondition => "failed_precondition",
        Code::Aborted => "aborted",
        Code::OutOfRange => "out_of_range",
        Code::Unimplemented => "unimplemented",
        Code::Internal => "internal",
        Code::Unavailable => "unavailable",
        Code::DataLoss => "data_loss",
        Code::Unauthenticated => "unauthenticated",
    }
}

/// Binds `addr` and serves `/metrics` (and `/`) over HTTP/1.1 and HTTP/2 with axum until
/// the task is dropped.
pub async fn serve(addr: SocketAddr, metrics: Arc<Metrics>) -> anyhow::Result<()> {
    let listener = TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for metrics on {addr}"))?;
    tracing::info!(%addr, "metrics on http://{addr}/metrics");
    let app = axum::Router::new()
        .route("/metrics", axum::routing::get(scrape))
        .route("/", axum::routing::get(scrape))
        .with_state(metrics);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics server failed");
        }
    });
    Ok(())
}

async fn scrape(
    axum::extract::State(metrics): axum::extract::State<Arc<Metrics>>,
) -> impl axum::response::IntoResponse {
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
}
