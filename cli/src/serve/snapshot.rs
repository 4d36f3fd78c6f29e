//! The service's snapshots (built by the engine, [`Snapshot`]) from its sources, and the
//! store that swaps them atomically.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

pub use charter_engine::snapshot::Snapshot;

use charter_engine::reading::Reading;

/// Where snapshots are built from.
#[derive(Debug, Clone)]
pub struct Sources {
    /// The mesh folder.
    pub mesh: PathBuf,
    /// The policy folder; the embedded default pack when `None`.
    pub policies: Option<PathBuf>,
    /// Limits on each contract file, of the mesh and of `EvaluateContract`.
    pub limits: Reading,
    /// The principal directory file (`--principals`), when there is one.
    pub principals: Option<PathBuf>,
}

/// Loads the pack of `sources` and builds its snapshot (blocking; seconds on a big mesh),
/// logging what is questionable in the policies and every contract that cannot be read.
///
/// # Errors
/// The pack cannot be read, or it and the mesh do not build (see [`SnapshotError`]).
///
/// [`SnapshotError`]: charter_engine::snapshot::SnapshotError
pub fn build(sources: &Sources) -> anyhow::Result<Snapshot> {
    let pack = crate::policies::load(
        sources.policies.as_deref(),
        sources.limits.follow_external_symlinks,
    )?;
    let snapshot = Snapshot::load(&charter_engine::snapshot::Sources {
        pack: &pack,
        mesh: &sources.mesh,
        reading: &sources.limits,
        principals: sources.principals.as_deref(),
    })?;
    for warning in &snapshot.warnings {
        tracing::warn!(%warning, "access policies");
    }
    if let Some(reason) = snapshot.rules.interpreted_because() {
        tracing::warn!(
            %reason,
            "contract rules (EvaluateContract) run in regorus's interpreter (slower), not compiled"
        );
    }
    for failure in &snapshot.unreadable {
        tracing::warn!(
            file = %failure.file,
            line = failure.line,
            message = %failure.message,
            "not a readable contract; its product is unknown"
        );
    }
    Ok(snapshot)
}

/// The outcome of one reload attempt.
#[derive(Debug, Clone)]
pub struct ReloadOutcome {
    /// Whether the new snapshot replaced the old one.
    pub ok: bool,
    /// Why not, when it did not.
    pub error: Option<String>,
    /// When it finished.
    pub at: SystemTime,
    /// `sighup` or `watch`.
    pub trigger: &'static str,
}

/// The snapshot being served; swapped whole, never modified.
#[derive(Debug)]
pub struct SnapshotStore {
    current: RwLock<Arc<Snapshot>>,
    last_reload: Mutex<Option<ReloadOutcome>>,
    /// False while a bundle-fed server has no bundle yet (it serves nothing).
    ready: AtomicBool,
    bundle: Mutex<Option<super::bundle_source::BundleInfo>>,
}

impl SnapshotStore {
    /// A store serving `first`.
    pub fn new(first: Snapshot) -> Self {
        Self {
            current: RwLock::new(Arc::new(first)),
            last_reload: Mutex::new(None),
            ready: AtomicBool::new(true),
            bundle: Mutex::new(None),
        }
    }

    /// A store that serves nothing until a snapshot is swapped in (`placeholder` is never
    /// used to answer: calls get `UNAVAILABLE` until then).
    pub fn waiting(placeholder: Snapshot) -> Self {
        let store = Self::new(placeholder);
        store.ready.store(false, Ordering::Release);
        store
    }

    /// Whether a real snapshot is being served.
    pub fn is_ready(&self) -> bool {
        self.ready.load(Ordering::Acquire)
    }

    /// `UNAVAILABLE` while no snapshot has been activated.
    pub fn check_ready(&self) -> Result<(), tonic::Status> {
        if self.is_ready() {
            Ok(())
        } else {
            Err(tonic::Status::unavailable(
                "no policy bundle has been activated yet; see GetStatus for the last error",
            ))
        }
    }

    /// Records the state of the bundle source (shown by GetStatus).
    pub fn set_bundle(&self, info: super::bundle_source::BundleInfo) {
        *self.bundle.lock().unwrap_or_else(PoisonError::into_inner) = Some(info);
    }

    /// The state of the bundle source, when the server is fed by one.
    pub fn bundle(&self) -> Option<super::bundle_source::BundleInfo> {
        self.bundle
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The snapshot to answer a request with (kept alive by the request until it is done).
    pub fn current(&self) -> Arc<Snapshot> {
        Arc::clone(&self.current.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Serves `next` from now on.
    pub fn swap(&self, next: Snapshot) {
        let next = Arc::new(next);
        let old = std::mem::replace(
            &mut *self.current.write().unwrap_or_else(PoisonError::into_inner),
            next,
        );
        self.ready.store(true, Ordering::Release);
        // The old snapshot is freed by whichever request finishes with it last, outside the lock.
        drop(old);
    }

    /// Records the outcome of a reload (shown by GetStatus).
    pub fn record_reload(&self, outcome: ReloadOutcome) {
        *self
            .last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(outcome);
    }

    /// The last reload, if any.
    pub fn last_reload(&self) -> Option<ReloadOutcome> {
        self.last_reload
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }
}
