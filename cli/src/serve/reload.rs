//! Reloads: SIGHUP, and polling the policy and mesh folders for changes (debounced:
//! a change is applied once the files have stayed the same for one more interval).
//! Builds run off the request path; a snapshot that fails to build is never served.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Mutex;

use super::metrics::Metrics;
use super::snapshot::{ReloadOutcome, SnapshotStore, Sources};

/// Rebuilds snapshots, one at a time.
#[derive(Debug)]
pub struct Reloader {
    sources: Sources,
    store: Arc<SnapshotStore>,
    metrics: Arc<Metrics>,
    running: Mutex<()>,
}

impl Reloader {
    /// A reloader of `store` from `sources`.
    pub fn new(sources: Sources, store: Arc<SnapshotStore>, metrics: Arc<Metrics>) -> Self {
        Self {
            sources,
            store,
            metrics,
            running: Mutex::new(()),
        }
    }

    /// Builds a new snapshot on a blocking thread and swaps it in if it builds.
    pub async fn reload(&self, trigger: &'static str) {
        let _one_at_a_time = self.running.lock().await;
        let sources = self.sources.clone();
        let built = tokio::task::spawn_blocking(move || super::snapshot::build(&sources)).await;
        let result = match built {
            Ok(Ok(snapshot)) => Ok(snapshot),
            Ok(Err(error)) => Err(format!("{error:#}")),
            Err(join) => Err(format!("the snapshot build panicked: {join}")),
        };
        let outcome = |error: Option<String>| ReloadOutcome {
            ok: error.is_none(),
            error,
            at: SystemTime::now(),
            trigger,
        };
        // The outcome is recorded before the swap: whoever sees the new snapshot sees its reload.
        match result {
            Ok(snapshot) => {
                tracing::info!(trigger, revision = %snapshot.revision, "reloaded");
                self.store.record_reload(outcome(None));
                self.store.swap(snapshot);
                self.metrics.reload(true);
            }
            Err(error) => {
                tracing::error!(trigger, %error, "reload failed; still serving the last good snapshot");
                self.store.record_reload(outcome(Some(error)));
                self.metrics.reload(false);
            }
        }
    }

    /// Reloads on every SIGHUP, forever.
    #[cfg(unix)]
    pub async fn on_sighup(self: Arc<Self>) {
        use tokio::signal::unix::{SignalKind, signal};
        let mut hangups = match signal(SignalKind::hangup()) {
            Ok(s) => s,
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGHUP; reloads only on file changes");
                return;
            }
        };
        while hangups.recv().await.is_some() {
            self.reload("sighup").await;
        }
    }

    /// Reloads when the files change, polling every `interval`, forever.
    pub async fn watch(self: Arc<Self>, interval: Duration) {
        let mut applied = self.fingerprint().await;
        let mut pending: Option<[u8; 32]> = None;
        let mut ticks = tokio::time::interval(interval);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        ticks.tick().await;
        loop {
            ticks.tick().await;
            let now = self.fingerprint().await;
            if now == applied {
                pending = None;
            } else if pending == Some(now) {
                applied = now;
                pending = None;
                self.reload("watch").await;
            } else {
                pending = Some(now);
            }
        }
    }

    async fn fingerprint(&self) -> [u8; 32] {
        let sources = self.sources.clone();
        tokio::task::spawn_blocking(move || {
            let mut hasher = blake3::Hasher::new();
            add_tree(&mut hasher, &sources.mesh);
            if let Some(policies) = &sources.policies {
                add_tree(&mut hasher, policies);
            }
            if let Some(principals) = &sources.principals {
                add_tree(&mut hasher, principals);
            }
            *hasher.finalize().as_bytes()
        })
        .await
        .unwrap_or([0; 32])
    }
}

/// Hashes the path, size and modification time of every file under `root`.
fn add_tree(hasher: &mut blake3::Hasher, root: &Path) {
    let mut entries: Vec<_> = walkdir::WalkDir::new(root)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter_map(|e| {
            let meta = e.metadata().ok()?;
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .unwrap_or_default();
            Some((e.into_path(), meta.len(), modified.as_nanos()))
        })
        .collect();
    entries.sort();
    for (path, len, modified) in entries {
        hasher.update(path.as_os_str().as_encoded_bytes());
        hasher.update(&len.to_le_bytes());
        hasher.update(&modified.to_le_bytes());
    }
}
