//! `--decision-log-url`: decision-log lines shipped to a collector, nothing lost.
//!
//! Every call that logs appends its lines to a spool on disk
//! (`--decision-log-spool`) before it is answered. The spool is a folder of
//! segments: the open one (`N.open`) is sealed into a batch (`N.batch`) once it holds
//! `--decision-log-batch-bytes` or is `--decision-log-batch-interval` old. Batches are POSTed
//! oldest first as a gzip JSON array of OPA decision-log events (one object per decision,
//! with its `decision_id`), retried with exponential backoff on errors and non-2xx answers,
//! and deleted once the collector took them. A spool over `--decision-log-spool-max-bytes`
//! refuses new lines: decision calls get `UNAVAILABLE` and health says `NOT_SERVING` until
//! it drains. At shutdown what is left is shipped within the drain timeout or kept for the
//! next start. Duplicates after a retry are possible (same `decision_id`); losses are not.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use anyhow::Context;
use bytes::Bytes;
use clap::Args;
use http::Method;
use serde_json::{Value as Json, json};
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use super::http_client;
use super::metrics::Metrics;
use super::server::SERVICE_NAME;
use super::snapshot::SnapshotStore;

/// Flags of `charter serve` for shipping decision logs.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Decision logs to a collector")]
pub struct ShipArgs {
    /// POST decision-log batches (gzip JSON arrays, OPA's upload shape) to this http(s):// URL.
    #[arg(long, value_name = "URL", requires = "decision_log_spool")]
    pub decision_log_url: Option<String>,
    /// The CA certificate(s) (PEM) an https:// collector's certificate is checked against.
    #[arg(long, value_name = "PEM", requires = "decision_log_url")]
    pub decision_log_ca: Option<PathBuf>,
    /// The folder undelivered batches are spooled in (kept across restarts).
    #[arg(long, value_name = "DIR", requires = "decision_log_url")]
    pub decision_log_spool: Option<PathBuf>,
    /// The most bytes the spool may hold; beyond it decision calls get UNAVAILABLE.
    #[arg(long, value_name = "BYTES", default_value_t = 256 * 1024 * 1024, requires = "decision_log_url")]
    pub decision_log_spool_max_bytes: u64,
    /// A batch is sent once it holds this many bytes of log lines.
    #[arg(long, value_name = "BYTES", default_value_t = 1024 * 1024, requires = "decision_log_url")]
    pub decision_log_batch_bytes: u64,
    /// … or once it is this old.
    #[arg(long, value_name = "DURATION", default_value = "1s", value_parser = humantime::parse_duration, requires = "decision_log_url")]
    pub decision_log_batch_interval: Duration,
}

/// The spool is over its limit.
#[derive(Debug)]
pub struct SpoolFull;

struct Open {
    seq: u64,
    file: File,
    bytes: u64,
    since: Instant,
}

struct State {
    open: Option<Open>,
    next_seq: u64,
    total: u64,
}

/// The spool, shared by the log writer (appends) and the shipper (seals, sends, deletes).
pub struct Spool {
    dir: PathBuf,
    max_bytes: u64,
    batch_bytes: u64,
    batch_interval: Duration,
    state: Mutex<State>,
    full: AtomicBool,
    metrics: Arc<Metrics>,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("dir", &self.dir)
            .finish_non_exhaustive()
    }
}

impl Spool {
    /// Opens the spool, sealing segments a previous run left open.
    ///
    /// # Errors
    /// The folder cannot be created or listed.
    pub fn open(args: &ShipArgs, dir: &Path, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("cannot create the spool `{}`", dir.display()))?;
        let mut total = 0;
        let mut next_seq = 0;
        for (seq, path) in segments(dir)? {
            next_seq = next_seq.max(seq + 1);
            total += std::fs::metadata(&path).map_or(0, |m| m.len());
            if path.extension().is_some_and(|e| e == "open") {
                std::fs::rename(&path, path.with_extension("batch"))
                    .with_context(|| format!("cannot seal `{}`", path.display()))?;
            }
        }
        if total > 0 {
            tracing::info!(bytes = total, spool = %dir.display(), "undelivered decision logs from an earlier run will be shipped");
        }
        metrics.log_spool(total);
        Ok(Self {
            dir: dir.to_path_buf(),
            max_bytes: args.decision_log_spool_max_bytes,
            batch_bytes: args.decision_log_batch_bytes.max(1),
            batch_interval: args.decision_log_batch_interval,
            state: Mutex::new(State {
                open: None,
                next_seq,
                total,
            }),
            full: AtomicBool::new(false),
            metrics,
        })
    }

    /// Whether the spool refuses lines.
    pub fn is_full(&self) -> bool {
        self.full.load(Ordering::Acquire)
    }

    /// Appends lines (written to the file before this returns).
    ///
    /// # Errors
    /// `Ok(Err(SpoolFull))` over the limit; `Err` when the file cannot be written.
    pub fn append(&self, lines: &[u8]) -> std::io::Result<Result<(), SpoolFull>> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        if state.total + lines.len() as u64 > self.max_bytes {
            if !self.full.swap(true, Ordering::AcqRel) {
                tracing::error!(
                    limit = self.max_bytes,
                    "the decision-log spool is full; answering UNAVAILABLE to decision calls until it drains"
                );
            }
            return Ok(Err(SpoolFull));
        }
        if state.open.is_none() {
            let seq = state.next_seq;
            state.next_seq += 1;
            let mut options = OpenOptions::new();
            options.create(true).append(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let file = options.open(self.segment(seq, "open"))?;
            state.open = Some(Open {
                seq,
                file,
                bytes: 0,
                since: Instant::now(),
            });
        }
        if let Some(open) = state.open.as_mut() {
            open.file.write_all(lines)?;
            open.bytes += lines.len() as u64;
        }
        state.total += lines.len() as u64;
        self.metrics.log_spool(state.total);
        if state
            .open
            .as_ref()
            .is_some_and(|o| o.bytes >= self.batch_bytes)
        {
            self.seal(&mut state)?;
        }
        Ok(Ok(()))
    }

    fn segment(&self, seq: u64, ext: &str) -> PathBuf {
        self.dir.join(format!("{seq:016}.{ext}"))
    }

    fn seal(&self, state: &mut State) -> std::io::Result<()> {
        if let Some(open) = state.open.take() {
            drop(open.file);
            std::fs::rename(
                self.segment(open.seq, "open"),
                self.segment(open.seq, "batch"),
            )?;
        }
        Ok(())
    }

    /// Seals the open segment if it is old enough (or at once with `force`).
    fn seal_due(&self, force: bool) {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let due = state
            .open
            .as_ref()
            .is_some_and(|o| force || o.since.elapsed() >= self.batch_interval);
        if due && let Err(error) = self.seal(&mut state) {
            tracing::error!(%error, "cannot seal a decision-log batch");
        }
    }

    /// The sealed batches, oldest first.
    fn batches(&self) -> Vec<PathBuf> {
        segments(&self.dir)
            .unwrap_or_default()
            .into_iter()
            .filter(|(_, p)| p.extension().is_some_and(|e| e == "batch"))
            .map(|(_, p)| p)
            .collect()
    }

    fn delivered(&self, path: &Path, bytes: u64) {
        if let Err(error) = std::fs::remove_file(path) {
            tracing::error!(%error, file = %path.display(), "cannot delete a delivered batch; it will be sent again");
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        state.total = state.total.saturating_sub(bytes);
        self.metrics.log_spool(state.total);
        if state.total < self.max_bytes && self.full.swap(false, Ordering::AcqRel) {
            tracing::info!("the decision-log spool drained; decisions are answered again");
        }
    }
}

/// `(sequence, path)` of every segment, by sequence.
fn segments(dir: &Path) -> anyhow::Result<Vec<(u64, PathBuf)>> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir)
        .with_context(|| format!("cannot list the spool `{}`", dir.display()))?
    {
        let path = entry?.path();
        let seq = path
            .file_stem()
            .and_then(|s| s.to_str())
            .and_then(|s| s.parse::<u64>().ok());
        let ext = path.extension().and_then(|e| e.to_str());
        if let (Some(seq), Some("open" | "batch")) = (seq, ext) {
            found.push((seq, path));
        }
    }
    found.sort();
    Ok(found)
}

/// Sends sealed batches to the collector.
#[derive(Debug)]
pub struct Shipper {
    spool: Arc<Spool>,
    url: http_client::Endpoint,
    metrics: Arc<Metrics>,
}

impl Shipper {
    /// The shipper the flags describe; `None` without `--decision-log-url`.
    ///
    /// # Errors
    /// A bad URL or a spool that cannot be opened.
    pub fn from_args(args: &ShipArgs, metrics: &Arc<Metrics>) -> anyhow::Result<Option<Self>> {
        let (Some(url), Some(dir)) = (&args.decision_log_url, &args.decision_log_spool) else {
            return Ok(None);
        };
        Ok(Some(Self {
            spool: Arc::new(Spool::open(args, dir, Arc::clone(metrics))?),
            url: http_client::Endpoint::new(
                url,
                args.decision_log_ca.as_deref(),
                "--decision-log-ca",
            )?,
            metrics: Arc::clone(metrics),
        }))
    }

    /// The spool the log writer appends to.
    pub fn spool(&self) -> Arc<Spool> {
        Arc::clone(&self.spool)
    }

    /// Ships forever: seals due segments, sends batches oldest first, backs off on failure,
    /// and keeps health in step with the spool (NOT_SERVING while full).
    pub async fn run(self: Arc<Self>, health: HealthReporter, store: Arc<SnapshotStore>) {
        let mut backoff = Duration::from_millis(100);
        let mut was_full = false;
        loop {
            let full = self.spool.is_full();
            if full != was_full {
                // Back to SERVING only when there is something to serve.
                if full {
                    health
                        .set_service_status(SERVICE_NAME, ServingStatus::NotServing)
                        .await;
                } else if store.is_ready() {
                    health
                        .set_service_status(SERVICE_NAME, ServingStatus::Serving)
                        .await;
                }
                was_full = full;
            }
            self.spool.seal_due(false);
            match self.ship_one().await {
                Ok(true) => backoff = Duration::from_millis(100),
                Ok(false) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(error) => {
                    tracing::warn!(error = %format!("{error:#}"), retry_in = ?backoff, "cannot deliver a decision-log batch; it stays spooled");
                    tokio::time::sleep(backoff.mul_f64(0.8 + 0.4 * fastrand::f64())).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// At shutdown (the log writer has stopped): ships everything within `timeout`;
    /// what is left stays in the spool for the next start.
    pub async fn flush(&self, timeout: Duration) {
        self.spool.seal_due(true);
        let flushed = tokio::time::timeout(timeout, async {
            let mut backoff = Duration::from_millis(50);
            loop {
                match self.ship_one().await {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(_) => {
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                    }
                }
            }
        })
        .await;
        let left = self.spool.batches().len();
        if flushed.is_err() || left > 0 {
            tracing::warn!(batches = left, spool = %self.spool.dir.display(), "decision logs not delivered before the drain timeout; kept for the next start");
        } else {
            tracing::info!("decision logs delivered");
        }
    }

    /// Sends the oldest batch; `Ok(false)` when there is none.
    async fn ship_one(&self) -> anyhow::Result<bool> {
        let Some(path) = self.spool.batches().into_iter().next() else {
            return Ok(false);
        };
        let (body, size) = tokio::task::spawn_blocking({
            let path = path.clone();
            move || upload_body(&path)
        })
        .await
        .context("preparing a batch panicked")??;
        let headers = [
            ("content-type", "application/json".to_owned()),
            ("content-encoding", "gzip".to_owned()),
        ];
        let sent = http_client::send(
            &self.url,
            Method::POST,
            &headers,
            body,
            Duration::from_secs(30),
            64 * 1024,
        )
        .await;
        let ok = matches!(&sent, Ok(answer) if answer.status.is_success());
        self.metrics.log_shipped(ok);
        match sent {
            Ok(answer) if answer.status.is_success() => {
                self.spool.delivered(&path, size);
                Ok(true)
            }
            Ok(answer) => anyhow::bail!("the collector answered {}", answer.status),
            Err(error) => Err(error),
        }
    }
}

/// A batch file as the gzip JSON array the collector receives, and the file's size.
fn upload_body(path: &Path) -> anyhow::Result<(Bytes, u64)> {
    let mut text = String::new();
    File::open(path)
        .and_then(|mut f| f.read_to_string(&mut text))
        .with_context(|| format!("cannot read `{}`", path.display()))?;
    let events: Vec<Json> = text
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|line| match serde_json::from_str::<Json>(line) {
            Ok(entry) => event(entry),
            // A line that does not parse is still delivered, not dropped.
            Err(_) => {
                json!({"decision_id": "", "error": "unparsable decision-log line", "raw": line})
            }
        })
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    serde_json::to_writer(&mut gz, &events).context("cannot encode a batch")?;
    let body = gz.finish().context("cannot compress a batch")?;
    Ok((Bytes::from(body), text.len() as u64))
}

/// One decision-log line as an OPA decision-log event.
fn event(mut entry: Json) -> Json {
    let mut take = |key: &str| entry.get_mut(key).map(Json::take).unwrap_or(Json::Null);
    let rpc = take("rpc");
    let revision = take("revision");
    let latency_us = take("latency_us").as_u64().unwrap_or(0);
    let mut event = json!({
        "decision_id": take("decision_id"),
        "timestamp": take("time"),
        "path": format!("charter/v1/{}", rpc.as_str().unwrap_or("decision")),
        "labels": {"app": "charter", "version": env!("CARGO_PKG_VERSION")},
        "bundles": {"charter": {"revision": revision}},
        "input": {"principal": take("principal"), "product": take("product")},
        "result": {
            "decision": take("decision"),
            "product_id": take("product_id"),
            "columns": take("columns"),
            "row_filters": take("row_filters"),
        },
        "metrics": {"timer_server_handler_ns": latency_us.saturating_mul(1000)},
    });
    let error = take("error");
    if !error.is_null() {
        event["error"] = error;
    }
    event
}
