//! Prometheus metrics: requests by RPC and status code, latency histograms, decisions
//! and column effects, reloads by outcome; served as text
//! on `--metrics-listen` at `/metrics` (axum, the HTTP stack of `--http-listen`).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use axum::http::StatusCode;
use axum::http::header::CONTENT_TYPE;
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

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RevisionLabels {
    revision: String,
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
    bundle: BundleMetrics,
    health: std::sync::OnceLock<HealthDetail>,
}

/// What `GET /health` answers: whether decisions are served, and the JSON detail.
pub type HealthFn = Box<dyn Fn() -> (bool, String) + Send + Sync>;

struct HealthDetail(HealthFn);

impl std::fmt::Debug for HealthDetail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("HealthDetail")
    }
}

/// The bundle source's metrics (`--bundle-url`) and the decision-log shipper's (`--decision-log-url`).
#[derive(Debug, Default)]
struct BundleMetrics {
    polls: Family<OutcomeLabels, Counter>,
    revision: Family<RevisionLabels, Gauge>,
    last_error: Gauge,
    shipped: Family<OutcomeLabels, Counter>,
    spool_bytes: Gauge,
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
        let bundle = BundleMetrics::default();
        registry.register(
            "bundle_polls",
            "bundle server polls by outcome (activated, not_modified, rejected, unreachable)",
            bundle.polls.clone(),
        );
        registry.register(
            "bundle_revision",
            "1 for the manifest revision of the bundle being served",
            bundle.revision.clone(),
        );
        registry.register(
            "bundle_last_error_timestamp_seconds",
            "when a bundle last failed to download, verify or build (Unix time; 0: never)",
            bundle.last_error.clone(),
        );
        registry.register(
            "decision_log_batches_shipped",
            "decision-log batches POSTed to the collector, by outcome (ok, error)",
            bundle.shipped.clone(),
        );
        registry.register(
            "decision_log_spool_bytes",
            "decision-log bytes spooled on disk, not yet delivered",
            bundle.spool_bytes.clone(),
        );
        Self {
            health: std::sync::OnceLock::new(),
            bundle,
            registry,
            requests,
            latency,
            decisions,
            columns,
            reloads,
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

    /// Counts a bundle poll.
    pub fn bundle_poll(&self, outcome: &'static str) {
        self.bundle
            .polls
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Sets the revision being served.
    pub fn bundle_revision(&self, revision: &str) {
        self.bundle.revision.clear();
        self.bundle
            .revision
            .get_or_create(&RevisionLabels {
                revision: revision.to_owned(),
            })
            .set(1);
    }

    /// Sets when a bundle last failed (Unix seconds).
    pub fn bundle_error_at(&self, unix_seconds: i64) {
        self.bundle.last_error.set(unix_seconds);
    }

    /// Counts a decision-log batch POSTed.
    pub fn log_shipped(&self, ok: bool) {
        let outcome = if ok { "ok" } else { "error" };
        self.bundle
            .shipped
            .get_or_create(&OutcomeLabels { outcome })
            .inc();
    }

    /// Sets the bytes spooled on disk.
    pub fn log_spool(&self, bytes: u64) {
        self.bundle
            .spool_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    /// Sets what `GET /health` answers (once).
    pub fn set_health(&self, detail: HealthFn) {
        let _ = self.health.set(HealthDetail(detail));
    }

    /// `GET /health`: 200 with the detail while decisions are served, 503 otherwise.
    /// `GET /health`: 200 with the detail when serving, 503 otherwise.
    fn health_response(&self) -> (StatusCode, String) {
        let (serving, body) = self
            .health
            .get()
            .map_or((true, "{}".to_owned()), |detail| (detail.0)());
        let status = if serving {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        (status, body)
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
        .route("/health", axum::routing::get(health))
        .with_state(metrics);
    tokio::spawn(async move {
        if let Err(error) = axum::serve(listener, app).await {
            tracing::error!(%error, "the metrics server failed");
        }
    });
    Ok(())
}

async fn health(
    axum::extract::State(metrics): axum::extract::State<Arc<Metrics>>,
) -> impl axum::response::IntoResponse {
    let (status, body) = metrics.health_response();
    (status, [(CONTENT_TYPE, "application/json")], body)
}

async fn scrape(
    axum::extract::State(metrics): axum::extract::State<Arc<Metrics>>,
) -> impl axum::response::IntoResponse {
    (
        [(
            CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        metrics.encode(),
    )
}
