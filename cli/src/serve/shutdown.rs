//! Graceful shutdown: on SIGTERM or SIGINT, health goes NOT_SERVING, the server stops
//! accepting calls and drains those in flight (for at most the drain timeout).

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;

use super::server::SERVICE_NAME;

/// Signals that shutdown started.
#[derive(Debug, Clone)]
pub struct Drain {
    started: Arc<Notify>,
}

impl Drain {
    /// Nothing started yet.
    pub fn new() -> Self {
        Self {
            started: Arc::new(Notify::new()),
        }
    }

    /// Resolves on SIGTERM or SIGINT, after marking the service NOT_SERVING.
    pub async fn requested(self, mut signals: Signals, health: HealthReporter) {
        signals.wait().await;
        tracing::info!("shutting down: draining in-flight calls");
        health
            .set_service_status("", ServingStatus::NotServing)
            .await;
        health
            .set_service_status(SERVICE_NAME, ServingStatus::NotServing)
            .await;
        self.started.notify_one();
    }

    /// Resolves `timeout` after shutdown started.
    pub async fn expired(&self, timeout: Duration) {
        self.started.notified().await;
        tokio::time::sleep(timeout).await;
    }
}

/// SIGTERM and SIGINT handlers, installed first thing so that a signal during
/// startup is a graceful shutdown too.
#[derive(Debug)]
pub struct Signals {
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
}

impl Signals {
    /// Installs the handlers.
    pub fn install() -> anyhow::Result<Self> {
        #[cfg(unix)]
        {
            use anyhow::Context;
            use tokio::signal::unix::{SignalKind, signal};
            Ok(Self {
                term: signal(SignalKind::terminate()).context("cannot handle SIGTERM")?,
                int: signal(SignalKind::interrupt()).context("cannot handle SIGINT")?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn wait(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.term.recv() => {}
            _ = self.int.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}
