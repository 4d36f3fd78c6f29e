//! `charter serve`: the gRPC decision service (see `crate::serve`).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use clap::Args;

pub use crate::serve::logging::LogFormat;

/// Arguments of `charter serve`.
#[derive(Args, Debug, Clone)]
#[command(
    after_help = "Examples:\n  charter serve --mesh testdata/mesh\n  charter serve --mesh . --policies policies --decision-log decisions.jsonl \\\n      --metrics-listen 127.0.0.1:9464 --token-file tokens.txt\n  charter serve --mesh . --listen 0.0.0.0:50051 --tls-cert server.pem --tls-key server.key \\\n      --client-ca clients-ca.pem\n\nSIGHUP reloads policies and contracts; SIGTERM/SIGINT drain in-flight calls, flush the\ndecision log and exit 0. Exit code 2: the service could not start."
)]
pub struct ServeArgs {
    /// The mesh: a folder of data-product contracts (or serve a bundle: --bundle-url).
    #[arg(long, value_name = "DIR", required_unless_present = "bundle_url")]
    pub mesh: Option<PathBuf>,
    /// A policy folder (rego/, cedar/, data/) to use instead of the embedded default pack.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// A principal directory (YAML: users and groups with roles, groups, attributes) that
    /// completes every caller; reloaded with the snapshot.
    #[arg(long, value_name = "FILE")]
    pub principals: Option<PathBuf>,
    /// The address to serve gRPC on (loopback unless told otherwise).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:50051")]
    pub listen: SocketAddr,
    /// Also serve HTTP on this address: Trino's OPA access-control contract at
    /// `/v1/data/charter/trino/…` and `GET /health`.
    #[arg(long, value_name = "ADDR")]
    pub http_listen: Option<SocketAddr>,
    /// Where to append the JSON-lines decision log; `-` is standard output.
    #[arg(long, value_name = "PATH|-", default_value = "-")]
    pub decision_log: String,
    /// Serve Prometheus metrics (text format) over HTTP on this address, at `/metrics`.
    #[arg(long, value_name = "ADDR")]
    pub metrics_listen: Option<SocketAddr>,
    /// The server's TLS certificate chain (PEM); needs --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The server's TLS private key (PEM); needs --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Require client certificates signed by this CA (PEM): mutual TLS.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    pub client_ca: Option<PathBuf>,
    /// Accept only calls with `authorization: Bearer <token>` for a token of this file (one per line; `#` comments).
    #[arg(long, value_name = "FILE")]
    pub token_file: Option<PathBuf>,
    /// The most requests a CheckAccessBatch call may hold.
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = at_least_one)]
    pub max_batch: usize,
    /// The most calls served at once; beyond it calls get RESOURCE_EXHAUSTED.
    #[arg(long, value_name = "N", default_value_t = 256, value_parser = at_least_one)]
    pub max_concurrency: usize,
    /// The most columns one access request may name.
    #[arg(long, value_name = "N", default_value_t = 1000, value_parser = at_least_one)]
    pub max_columns: usize,
    /// The largest request message, in bytes.
    #[arg(long, value_name = "BYTES", default_value_t = 4 * 1024 * 1024, value_parser = at_least_one)]
    pub max_message_bytes: usize,
    /// How often to look for changed policy or contract files (`0s`: only SIGHUP reloads).
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = humantime::parse_duration)]
    pub watch_interval: Duration,
    /// How long in-flight calls may take to finish once shutdown starts.
    #[arg(long, value_name = "DURATION", default_value = "15s", value_parser = humantime::parse_duration)]
    pub drain_timeout: Duration,
    /// Format of the service's own logs (on standard error).
    #[arg(long, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    /// Runtime worker threads [default: one per core].
    #[arg(long, value_name = "N", value_parser = at_least_one)]
    pub worker_threads: Option<usize>,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
    #[command(flatten)]
    pub bundle: crate::serve::bundle_source::BundleArgs,
    #[command(flatten)]
    pub ship: crate::serve::log_shipper::ShipArgs,
}

/// A count that must be at least 1 (0 would refuse every call, or start no worker).
fn at_least_one(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("must be at least 1".to_owned()),
        Ok(n) => Ok(n),
        Err(e) => Err(format!("not a whole number: {e}")),
    }
}

impl ServeArgs {
    /// The service's configuration from the flags.
    #[must_use]
    pub fn config(&self) -> crate::serve::Config {
        crate::serve::Config {
            mesh: self.mesh.clone(),
            policies: self.policies.clone(),
            principals: self.principals.clone(),
            limits: self.limits.reading(),
            listen: self.listen,
            http_listen: self.http_listen,
            decision_log: self.decision_log.clone(),
            metrics_listen: self.metrics_listen,
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            client_ca: self.client_ca.clone(),
            token_file: self.token_file.clone(),
            max_batch: self.max_batch,
            max_concurrency: self.max_concurrency,
            max_columns: self.max_columns,
            max_message_bytes: self.max_message_bytes,
            watch_interval: self.watch_interval,
            drain_timeout: self.drain_timeout,
            log_format: self.log_format,
            bundle: self.bundle.clone(),
            ship: self.ship.clone(),
        }
    }
}

/// Runs `charter serve` until SIGTERM or SIGINT.
pub fn run(args: &ServeArgs) -> anyhow::Result<ExitCode> {
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    runtime.enable_all();
    if let Some(threads) = args.worker_threads {
        runtime.worker_threads(threads);
    }
    let runtime = runtime.build().context("cannot start the async runtime")?;
    runtime.block_on(crate::serve::run(args.config()))?;
    Ok(ExitCode::SUCCESS)
}
