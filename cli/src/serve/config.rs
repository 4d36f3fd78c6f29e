//! What the service is started with, as plain values: the command line builds it from
//! `charter serve`'s flags (`cmd::serve`), an embedding program builds it itself.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use super::bundle_source::BundleArgs;
use super::log_shipper::ShipArgs;
use super::logging::LogFormat;
use charter_engine::reading::Reading;

/// The service's configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The mesh folder (`None`: fed by bundles).
    pub mesh: Option<PathBuf>,
    /// A policy folder; the embedded default pack when `None`.
    pub policies: Option<PathBuf>,
    /// The principal directory file.
    pub principals: Option<PathBuf>,
    /// How contract files are read.
    pub limits: Reading,
    /// The gRPC address.
    pub listen: SocketAddr,
    /// The HTTP address (Trino, AuthZEN), if any.
    pub http_listen: Option<SocketAddr>,
    /// The decision log: a path, or `-` for standard output.
    pub decision_log: String,
    /// The Prometheus metrics address, if any.
    pub metrics_listen: Option<SocketAddr>,
    /// TLS certificate chain (PEM).
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// CA of client certificates (mutual TLS).
    pub client_ca: Option<PathBuf>,
    /// Bearer tokens, one a line.
    pub token_file: Option<PathBuf>,
    /// The most requests of one batch.
    pub max_batch: usize,
    /// The most calls decided at once.
    pub max_concurrency: usize,
    /// The most columns of one request.
    pub max_columns: usize,
    /// The largest message, in bytes.
    pub max_message_bytes: usize,
    /// How often the mesh and pack are checked for changes (zero: never).
    pub watch_interval: Duration,
    /// How long calls in flight are waited for at shutdown.
    pub drain_timeout: Duration,
    /// The service's own logs.
    pub log_format: LogFormat,
    /// Bundles to serve instead of a folder.
    pub bundle: BundleArgs,
    /// Shipping the decision log.
    pub ship: ShipArgs,
}
