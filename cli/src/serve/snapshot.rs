//! A snapshot: policies and contracts built into engines once, with a content-hash
//! revision, and the store that swaps snapshots atomically.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::SystemTime;

use anyhow::Context;
use charter_engine::access::trino::TrinoSettings;
use charter_engine::access::{AccessEngine, AccessPolicies, Directory};
use charter_engine::contract::ReaderSettings;
use charter_engine::mesh::Mesh;

use crate::reading::Reading;
use charter_engine::rules::{RuleSet, RuleSetOptions};

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

/// Everything a request needs, built once; requests hold an `Arc` to the one they started with.
#[derive(Debug)]
pub struct Snapshot {
    /// Access decisions.
    pub access: AccessEngine,
    /// Contract rules.
    pub rules: RuleSet,
    /// How contracts are read (from the pack's settings, with the limits).
    pub reader: ReaderSettings,
    /// Content hash of policies and contracts together.
    pub revision: String,
    /// The pack's content hash.
    pub policies_revision: String,
    /// The mesh's content hash.
    pub mesh_revision: String,
    /// Cedar policies in the pack.
    pub policy_count: usize,
    /// Contract rules in the pack.
    pub rule_count: usize,
    /// Contract files that could not be read.
    pub unreadable_contracts: usize,
    /// When it was built.
    pub loaded_at: SystemTime,
    /// The principal directory (empty without `--principals`).
    pub directory: Directory,
    /// The Trino contract's settings (`trino:` in the pack's settings).
    pub trino: TrinoSettings,
}

impl Snapshot {
    /// Loads the pack and the mesh and builds the engines (blocking; seconds on a big mesh).
    pub fn build(sources: &Sources) -> anyhow::Result<Self> {
        let pack = crate::policies::load(
            sources.policies.as_deref(),
            sources.limits.follow_external_symlinks,
        )?;
        let prepared =
            AccessPolicies::from_pack(&pack).context("the access policies cannot be used")?;
        for warning in prepared.warnings() {
            tracing::warn!(%warning, "access policies");
        }
        let reader = sources.limits.reader(pack.settings());
        let mesh = Mesh::load(&sources.mesh, &sources.limits.load_options(), &reader)
            .with_context(|| format!("cannot load the mesh in `{}`", sources.mesh.display()))?;
        for failure in mesh.failures() {
            tracing::warn!(
                file = %failure.file,
                line = failure.line,
                message = %failure.message,
                "not a readable contract; its product is unknown"
            );
        }
        let policy_count = prepared.policies().len();
        let access = AccessEngine::with_policies(Arc::new(prepared), &mesh)
            .context("cannot build the access entities of the mesh")?;
        let rules = RuleSet::compile(&pack, RuleSetOptions::default())
            .context("the contract rules do not compile")?;
        let directory = match &sources.principals {
            Some(path) => Directory::load(path)?,
            None => Directory::default(),
        };
        let trino = TrinoSettings::from_settings(pack.settings())?;
        let policies_revision = pack.revision().to_owned();
        let mesh_revision = mesh.revision().to_owned();
        let mut hasher = blake3::Hasher::new();
        hasher.update(policies_revision.as_bytes());
        hasher.update(b"\0");
        hasher.update(mesh_revision.as_bytes());
        if sources.principals.is_some() {
            hasher.update(b"\0");
            hasher.update(directory.revision().as_bytes());
        }
        let revision = hasher.finalize().to_hex()[..16].to_owned();
        Ok(Self {
            rule_count: rules.catalog().len(),
            access,
            rules,
            reader,
            revision,
            policies_revision,
            mesh_revision,
            policy_count,
            unreadable_contracts: mesh.failures().len(),
            loaded_at: SystemTime::now(),
            directory,
            trino,
        })
    }
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
