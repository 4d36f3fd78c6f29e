//! The decision log: one JSON line per decision, written by the call that decided it.
//!
//! A handler writes its lines and flushes them itself, under one lock, before it answers
//! (no hop to another thread: the write of a few hundred bytes to the page cache costs
//! microseconds), so a decision is never answered before it is logged, and nothing is
//! lost on shutdown. Once a write fails the log is broken for good (a line may be half
//! written: the file is no longer a trustworthy record) and every decision call gets
//! `UNAVAILABLE`; [`DecisionLog::broken`] lets the server say so in its health.
//!
//! With `--decision-log -` the lines go to standard output; a reader that stops reading
//! holds the calls that log (and their workers) until it reads again.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use anyhow::Context;
use tokio::sync::Notify;

use super::log_shipper::Spool;

/// Writing the decision log failed: decisions must not be handed out.
#[derive(Debug)]
pub struct LogUnavailable(pub String);

impl std::fmt::Display for LogUnavailable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the decision log cannot be written ({})", self.0)
    }
}

/// Where the lines go, and whether the log still takes them.
struct Writer {
    out: Box<dyn Write + Send>,
    /// Set by [`DecisionLog::close`]: a call that raced the shutdown is refused.
    closed: bool,
}

/// The handle handlers write to.
pub struct DecisionLog {
    writer: Mutex<Writer>,
    healthy: AtomicBool,
    broke: Arc<Notify>,
    spool: Option<Arc<Spool>>,
}

impl std::fmt::Debug for DecisionLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DecisionLog")
            .field("healthy", &self.healthy)
            .field("spool", &self.spool.is_some())
            .finish_non_exhaustive()
    }
}

impl DecisionLog {
    /// Opens `path` for appending (`-`: standard output); with a `spool`, every call's
    /// lines are also appended to it (shipped to a collector) before the call is answered.
    pub fn open_with_spool(path: &str, spool: Option<Arc<Spool>>) -> anyhow::Result<Self> {
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
        Ok(Self {
            writer: Mutex::new(Writer { out, closed: false }),
            healthy: AtomicBool::new(true),
            broke: Arc::new(Notify::new()),
            spool,
        })
    }

    /// Fails fast when the log is already broken (before deciding anything).
    pub fn check(&self) -> Result<(), LogUnavailable> {
        if !self.healthy.load(Ordering::Relaxed) {
            Err(LogUnavailable("an earlier write failed".into()))
        } else if self.spool.as_ref().is_some_and(|s| s.is_full()) {
            Err(spool_full())
        } else {
            Ok(())
        }
    }

    /// Completes once the log is broken (at once if it already is).
    pub async fn broken(&self) {
        // A permit is stored when the log breaks, so no wake-up is missed.
        self.broke.notified().await;
    }

    /// Writes `lines` (each ending in `\n`) and flushes them; `Ok` only once they are
    /// written (and spooled, when shipping).
    pub fn record(&self, lines: &[u8]) -> Result<(), LogUnavailable> {
        self.check()?;
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        if writer.closed {
            return Err(LogUnavailable("the log is closed".into()));
        }
        // Checked again under the lock: a write that failed meanwhile may have left half
        // a line, after which nothing more is appended.
        if !self.healthy.load(Ordering::Relaxed) {
            return Err(LogUnavailable("an earlier write failed".into()));
        }
        if let Err(error) = writer
            .out
            .write_all(lines)
            .and_then(|()| writer.out.flush())
        {
            self.break_with(&error);
            return Err(LogUnavailable(format!("the write failed: {error}")));
        }
        match self.spool.as_ref().map(|spool| spool.append(lines)) {
            None | Some(Ok(Ok(()))) => Ok(()),
            Some(Ok(Err(_full))) => Err(spool_full()),
            Some(Err(error)) => {
                self.break_with(&error);
                Err(LogUnavailable(format!(
                    "the spool cannot be written: {error}"
                )))
            }
        }
    }

    /// Flushes and refuses every later line (at shutdown, once the calls have drained).
    pub fn close(&self) {
        let mut writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        writer.closed = true;
        if let Err(error) = writer.out.flush() {
            self.break_with(&error);
        }
    }

    /// Marks the log broken (once), says why, and wakes [`DecisionLog::broken`].
    fn break_with(&self, error: &io::Error) {
        if self.healthy.swap(false, Ordering::Relaxed) {
            tracing::error!(%error, "the decision log cannot be written; answering UNAVAILABLE to every decision call from now on");
            self.broke.notify_one();
        }
    }
}

fn spool_full() -> LogUnavailable {
    LogUnavailable("the spool of undelivered decision logs is full".into())
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
