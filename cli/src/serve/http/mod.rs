//! The HTTP façade of `charter serve` (`--http-listen`): Trino's OPA access-control
//! contract, AuthZEN 1.0 and `GET /health`, with axum on the same snapshot, decision log, limits,
//! bearer tokens and metrics as the gRPC service. Handlers convert, ask the engine
//! (`charter_engine::access::trino`) and convert back.

mod authzen;
mod call;
mod tls;
mod trino;

pub use tls::acceptor;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use axum::Router;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};

use super::auth::TokenAuth;
use super::handlers::Handlers;

/// What every HTTP call shares.
#[derive(Debug, Clone)]
pub struct HttpState {
    /// The gRPC service's state: snapshot, log, limits, metrics.
    pub handlers: Handlers,
    /// Bearer tokens (health stays open).
    pub auth: TokenAuth,
    /// False before the first snapshot, during drain and once the log is broken.
    pub serving: Arc<AtomicBool>,
    /// `https` with TLS, else `http` (AuthZEN's discovery metadata names it).
    pub scheme: &'static str,
}

/// The routes.
fn router(state: HttpState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/v1/data/charter/trino/allow", post(trino::allow))
        .route("/v1/data/charter/trino/batch", post(trino::batch))
        .route(
            "/v1/data/charter/trino/rowFilters",
            post(trino::row_filters),
        )
        .route(
            "/v1/data/charter/trino/columnMask",
            post(trino::column_mask),
        )
        .route(
            "/v1/data/charter/trino/batchColumnMasks",
            post(trino::batch_column_masks),
        )
        .route(
            "/.well-known/authzen-configuration",
            get(authzen::configuration),
        )
        .route("/access/v1/evaluation", post(authzen::evaluation))
        .route("/access/v1/evaluations", post(authzen::evaluations))
        .with_state(state)
}

/// `GET /health`: 200 `{"status":"SERVING"}`, or 503 `NOT_SERVING`.
async fn health(State(state): State<HttpState>) -> Response {
    if state.serving.load(Ordering::Relaxed) && state.handlers.log.check().is_ok() {
        (
            StatusCode::OK,
            axum::Json(serde_json::json!({"status": "SERVING"})),
        )
            .into_response()
    } else {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(serde_json::json!({"status": "NOT_SERVING"})),
        )
            .into_response()
    }
}

/// Binds `addr` (before the service says it is serving: a bad address stops the start).
pub async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("cannot listen for HTTP on {addr}"))
}

/// Serves HTTP/1.1 and HTTP/2 (over TLS when `tls` is given, else cleartext with prior
/// knowledge) on `listener` until `shutdown` completes, then lets calls in flight finish.
/// TLS handshakes run on each connection's own task (bounded to 10 s), never in the
/// accept loop.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: HttpState,
    tls: Option<tokio_rustls::TlsAcceptor>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    use hyper_util::rt::{TokioExecutor, TokioIo};
    use hyper_util::server::conn::auto::Builder;
    use hyper_util::service::TowerToHyperService;

    let local = listener
        .local_addr()
        .context("cannot read the HTTP address")?;
    tracing::info!(addr = %local, tls = tls.is_some(), "serving HTTP (Trino OPA contract, health)");
    let app = router(state);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let builder = Builder::new(TokioExecutor::new());
    tokio::pin!(shutdown);
    loop {
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    tracing::warn!(%error, "cannot accept an HTTP connection");
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone());
        let builder = builder.clone();
        let watcher = graceful.watcher();
        let tls = tls.clone();
        tokio::spawn(async move {
            match tls {
                None => {
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn.into_owned()).await;
                }
                Some(tls) => {
                    let handshake = tokio::time::timeout(
                        std::time::Duration::from_secs(10),
                        tls.accept(stream),
                    );
                    let Ok(Ok(stream)) = handshake.await else {
                        return;
                    };
                    let conn = builder.serve_connection(TokioIo::new(stream), service);
                    let _ = watcher.watch(conn.into_owned()).await;
                }
            }
        });
    }
    drop(listener);
    graceful.shutdown().await;
    Ok(())
}
