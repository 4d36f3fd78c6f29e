//! The decision log: one JSON line per decision, written by one thread in groups.
//!
//! A handler hands its lines over and waits until they are written and flushed (group
//! commit: every line waiting is written with one flush), so a decision is never
//! answered before it is logged, and nothing is lost on shutdown. Once a write fails
//! the log is broken for good (a line may be half written: the file is no longer a
//! trustworthy record) and every decision call gets `UNAVAILABLE`; [`DecisionLog::broken`]
//! lets the server say so in its health.

use std::fs::OpenOptions;
use std::io::{self, BufWriter, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;

use anyhow::Context;
use tokio::sync::{Notify, mpsc, oneshot};

use super::log_shipper::Spool;
use super::metrics::Metrics;

/// How many groups of lines may wait for the writer.
const QUEUE: usize = 16 * 1024;
/// The most groups written with one flush.
const GROUP: usize = 512;

/// Writing the decision log failed: decisions must not be handed out.
#[derive(Debug)]
pub struct LogUnavailable(pub String);

impl std::fmt::Display for LogUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the decision log cannot be written ({})", self.0)
    }
}

enum Message {
    Lines(Vec<u8>, oneshot::Sender<bool>),
    Close,
}

/// The handle handlers write to.
#[derive(Debug)]
pub struct DecisionLog {
    tx: mpsc::Sender<Message>,
    healthy: Arc<AtomicBool>,
    broke: Arc<Notify>,
    writer: Mutex<Option<JoinHandle<()>>>,
    spool: Option<Arc<Spool>>,
}

impl std::fmt::Debug for Message {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Message::Lines(lines, _) => write!(f, "Lines({} bytes)", lines.len()),
            Message::Close => f.write_str("Close"),
        }
    }
}

impl DecisionLog {
    /// Opens `path` for appending (`-`: standard output) and starts the writer thread.
    pub fn open(path: &str, metrics: Arc<Metrics>) -> anyhow::Result<Self> {
        Self::open_with_spool(path, metrics, None)
    }

    /// As [`DecisionLog::open`], every group of lines also appended to `spool` (shipped to a
    /// collector) before the calls are answered.
    pub fn open_with_spool(
        path: &str,
        metrics: Arc<Metrics>,
        spool: Option<Arc<Spool>>,
    ) -> anyhow::Result<Self> {
        let out: Box<dyn Write + Send> = if path == "-" {
            Box::new(io::stdout())
        } else {
            let mut options = OpenOptions::new();
            options.create(true).append(true);
            // The log names principals and products: readable by the service account only
            // (when Charter creates it; an existing file keeps its mode).
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            Box::new(
                options
                    .open(path)
                    .with_context(|| format!("cannot open the decision log `{path}`"))?,
            )
        };
        let (tx, rx) = mpsc::channel(QUEUE);
        let healthy = Arc::new(AtomicBool::new(true));
        let broke = Arc::new(Notify::new());
        let state = State {
            healthy: Arc::clone(&healthy),
            broke: Arc::clone(&broke),
            metrics,
            spool: spool.clone(),
        };
        let writer = std::thread::Builder::new()
            .name("decision-log".into())
            .spawn(move || write_loop(rx, BufWriter::with_capacity(256 * 1024, out), &state))
            .context("cannot start the decision-log writer")?;
        Ok(Self {
            tx,
            healthy,
            broke,
            writer: Mutex::new(Some(writer)),
            spool,
        })
    }

    /// Fails fast when the log is already broken (before deciding anything).
    pub fn check(&self) -> Result<(), LogUnavailable> {
        if !self.healthy.load(Ordering::Relaxed) {
            Err(LogUnavailable("an earlier write failed".into()))
        } else if self.spool.as_ref().is_some_and(|s| s.is_full()) {
            Err(LogUnavailable(
                "the spool of undelivered decision logs is full".into(),
            ))
        } else {
            Ok(())
        }
    }

    /// Completes once the log is broken (at once if it already is).
    pub async fn broken(&self) {
        // The writer stores a permit when the log breaks, so no wake-up is missed.
        self.broke.notified().await;
    }

    /// Writes `lines` (each ending in `\n`) and waits until they are flushed.
    pub async fn record(&self, lines: Vec<u8>) -> Result<(), LogUnavailable> {
        self.check()?;
        let (done, written) = oneshot::channel();
        self.tx
            .send(Message::Lines(lines, done))
            .await
            .map_err(|_| LogUnavailable("the log is closed".into()))?;
        match written.await {
            Ok(true) => Ok(()),
            Ok(false) if self.spool.as_ref().is_some_and(|s| s.is_full()) => Err(LogUnavailable(
                "the spool of undelivered decision logs is full".into(),
            )),
            Ok(false) => Err(LogUnavailable("the write failed".into())),
            Err(_) => Err(LogUnavailable("the log writer stopped".into())),
        }
    }

    /// Writes what is queued, flushes and stops the writer (at shutdown).
    pub async fn close(&self) {
        let _ = self.tx.send(Message::Close).await;
        let handle = self
            .writer
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(handle) = handle {
            let _ = tokio::task::spawn_blocking(move || handle.join()).await;
        }
    }
}

/// What the writer thread shares with the handles.
struct State {
    healthy: Arc<AtomicBool>,
    broke: Arc<Notify>,
    metrics: Arc<Metrics>,
    spool: Option<Arc<Spool>>,
}

impl State {
    /// Marks the log broken (once), says why, and wakes [`DecisionLog::broken`].
    fn break_with(&self, error: &io::Error) {
        if self.healthy.swap(false, Ordering::Relaxed) {
            tracing::error!(%error, "the decision log cannot be written; answering UNAVAILABLE to every decision call from now on");
            self.broke.notify_one();
        }
    }

    /// Appends `lines` to the spool, if any: false when it is full or cannot be written.
    fn spool(&self, lines: &[u8]) -> bool {
        let Some(spool) = &self.spool else {
            return true;
        };
        match spool.append(lines) {
            Ok(Ok(())) => true,
            Ok(Err(_full)) => false,
            Err(error) => {
                self.break_with(&error);
                false
            }
        }
    }
}

fn write_loop(
    mut rx: mpsc::Receiver<Message>,
    mut out: BufWriter<Box<dyn Write + Send>>,
    state: &State,
) {
    let mut waiting = Vec::with_capacity(GROUP);
    let mut closing = false;
    while !closing {
        let Some(first) = rx.blocking_recv() else {
            break;
        };
        let mut next = Some(first);
        while let Some(message) = next.take() {
            match message {
                Message::Lines(lines, done) => {
                    let ok = state.healthy.load(Ordering::Relaxed)
                        && match out.write_all(&lines) {
                            Ok(()) => true,
                            Err(error) => {
                                state.break_with(&error);
                                false
                            }
                        }
                        && state.spool(&lines);
                    waiting.push((done, ok));
                }
                Message::Close => closing = true,
            }
            if waiting.len() < GROUP && !closing {
                next = rx.try_recv().ok();
            }
        }
        state.metrics.log_backlog(rx.len());
        let flushed = out.flush();
        if let Err(error) = &flushed {
            state.break_with(error);
        }
        let all_ok = flushed.is_ok() && waiting.iter().all(|(_, ok)| *ok);
        for (done, ok) in waiting.drain(..) {
            let _ = done.send(ok && all_ok);
        }
    }
    // Anything sent after Close (a call that raced the shutdown) is refused, not lost silently.
    rx.close();
    while let Ok(message) = rx.try_recv() {
        if let Message::Lines(lines, done) = message {
            let ok = state.healthy.load(Ordering::Relaxed)
                && out.write_all(&lines).and_then(|()| out.flush()).is_ok()
                && state.spool(&lines);
            let _ = done.send(ok);
        }
    }
    let _ = out.flush();
}

/// One line of the decision log.
#[derive(serde::Serialize)]
struct Entry<'a> {
    decision_id: &'a str,
    time: String,
    rpc: &'static str,
    principal: Option<&'a charter_engine::access::Principal>,
    product: Option<&'a charter_engine::access::ProductRef>,
    product_id: Option<&'a str>,
    decision: &'static str,
    columns: Vec<ColumnEntry<'a>>,
    row_filters: Vec<&'a str>,
    revision: &'a str,
    latency_us: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<&'a str>,
}

#[derive(serde::Serialize)]
struct ColumnEntry<'a> {
    name: &'a str,
    effect: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    mask_method: Option<&'static str>,
}

/// Appends the log line of a decision to `out`.
pub fn write_decision(
    out: &mut Vec<u8>,
    rpc: &'static str,
    request: &charter_engine::access::AccessRequest,
    decision: &charter_engine::access::Decision,
    revision: &str,
    latency: std::time::Duration,
) {
    let entry = Entry {
        decision_id: &decision.decision_id,
        time: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        rpc,
        principal: Some(&request.principal),
        product: Some(&request.product),
        product_id: decision.product.id.as_deref(),
        decision: decision.decision.as_str(),
        columns: decision
            .columns
            .iter()
            .map(|c| ColumnEntry {
                name: &c.name,
                effect: c.effect.as_str(),
                mask_method: c.mask_method.map(|m| m.as_str()),
            })
            .collect(),
        row_filters: decision
            .row_filters
            .iter()
            .map(|f| f.sql.as_str())
            .collect(),
        revision,
        latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
        error: None,
    };
    push_line(out, &entry);
}

/// Appends the log line of a batch item that could not be decided (a deny).
pub fn write_failure(
    out: &mut Vec<u8>,
    rpc: &'static str,
    decision_id: &str,
    request: Option<&charter_engine::access::AccessRequest>,
    error: &str,
    revision: &str,
) {
    let entry = Entry {
        decision_id,
        time: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        rpc,
        principal: request.map(|r| &r.principal),
        product: request.map(|r| &r.product),
        product_id: None,
        decision: "deny",
        columns: Vec::new(),
        row_filters: Vec::new(),
        revision,
        latency_us: 0,
        error: Some(error),
    };
    push_line(out, &entry);
}

fn push_line(out: &mut Vec<u8>, entry: &Entry<'_>) {
    // Serializing these plain structs to memory cannot fail; if it ever did, the line
    // says so rather than going missing.
    if serde_json::to_writer(&mut *out, entry).is_err() {
        out.extend_from_slice(br#"{"error":"unserializable decision"}"#);
    }
    out.push(b'\n');
}

/// One non-read decision of the HTTP endpoints (a write or DDL on a product, an
/// operation open to anyone, an ungoverned table, an unknown operation).
#[derive(Debug)]
pub struct Operation<'a> {
    /// The endpoint, e.g. `trino/allow`.
    pub rpc: &'static str,
    /// Who asked (after the directory).
    pub principal: &'a charter_engine::access::Principal,
    /// What was asked: `operation` or `action on table`.
    pub asked: &'a str,
    /// The product, when one was resolved.
    pub product_id: Option<&'a str>,
    /// Allowed or not.
    pub allowed: bool,
    /// Why.
    pub reason: &'a str,
}

/// Appends the log line of an [`Operation`].
pub fn write_operation(
    out: &mut Vec<u8>,
    op: &Operation<'_>,
    revision: &str,
    latency: std::time::Duration,
) {
    #[derive(serde::Serialize)]
    struct OperationEntry<'a> {
        decision_id: String,
        time: String,
        rpc: &'static str,
        principal: &'a charter_engine::access::Principal,
        operation: &'a str,
        product_id: Option<&'a str>,
        decision: &'static str,
        reason: &'a str,
        revision: &'a str,
        latency_us: u64,
    }
    let entry = OperationEntry {
        decision_id: uuid::Uuid::now_v7().to_string(),
        time: humantime::format_rfc3339_millis(std::time::SystemTime::now()).to_string(),
        rpc: op.rpc,
        principal: op.principal,
        operation: op.asked,
        product_id: op.product_id,
        decision: if op.allowed { "allow" } else { "deny" },
        reason: op.reason,
        revision,
        latency_us: u64::try_from(latency.as_micros()).unwrap_or(u64::MAX),
    };
    if serde_json::to_writer(&mut *out, &entry).is_err() {
        out.extend_from_slice(br#"{"error":"unserializable decision"}"#);
    }
    out.push(b'\n');
}
