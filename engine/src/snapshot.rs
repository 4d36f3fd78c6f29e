//! A snapshot: a policy pack and a mesh built into the engines that answer requests, once
//! per revision, with the content hash that names it. `charter serve` swaps snapshots
//! whole; `charter authorize` builds one and asks it once.
//!
//! ```no_run
//! # fn demo(pack: &charter_engine::PolicyPack) -> Result<(), charter_engine::snapshot::SnapshotError> {
//! use charter_engine::reading::Reading;
//! use charter_engine::snapshot::{Snapshot, Sources};
//! let snapshot = Snapshot::load(&Sources {
//!     pack,
//!     mesh: std::path::Path::new("mesh"),
//!     reading: &Reading::default(),
//!     principals: None,
//! })?;
//! println!("{} products, revision {}", snapshot.access.product_count(), snapshot.revision);
//! # Ok(()) }
//! ```

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use crate::PackError;
use crate::access::trino::{TrinoSettings, TrinoSettingsError};
use crate::access::{AccessEngine, AccessError, AccessPolicies, Directory, DirectoryError};
use crate::contract::ReaderSettings;
use crate::mesh::{Mesh, MeshError, ParseFailure};
use crate::pack::PolicyPack;
use crate::reading::Reading;
use crate::rules::{RuleSet, RuleSetOptions};

/// What a snapshot is built from.
#[derive(Debug, Clone, Copy)]
pub struct Sources<'a> {
    /// The policy pack.
    pub pack: &'a PolicyPack,
    /// The mesh folder.
    pub mesh: &'a Path,
    /// Limits on each contract file (of the mesh, and of contracts sent to evaluate).
    pub reading: &'a Reading,
    /// The principal directory file, when there is one.
    pub principals: Option<&'a Path>,
}

/// Why a snapshot cannot be built (a server keeps serving the last good one).
#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    /// The pack's Cedar policies, schema or access settings cannot be used.
    #[error("the access policies cannot be used")]
    Policies(#[source] AccessError),
    /// The mesh folder cannot be read (a contract that cannot be read is not this: it is
    /// listed in [`Snapshot::unreadable`]).
    #[error("cannot load the mesh in `{dir}`")]
    Mesh {
        /// The folder.
        dir: String,
        /// Why.
        #[source]
        source: MeshError,
    },
    /// The Cedar entities of the mesh do not conform to the schema.
    #[error("cannot build the access entities of the mesh")]
    Entities(#[source] AccessError),
    /// The pack's contract rules do not compile.
    #[error("the contract rules do not compile")]
    Rules(#[source] PackError),
    /// The principal directory cannot be used.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The pack's `trino:` settings cannot be used.
    #[error(transparent)]
    Trino(#[from] TrinoSettingsError),
}

/// Everything a request needs, built once.
#[derive(Debug)]
pub struct Snapshot {
    /// Access decisions.
    pub access: AccessEngine,
    /// Contract rules.
    pub rules: RuleSet,
    /// How contracts are read (from the pack's settings, with the limits).
    pub reader: ReaderSettings,
    /// Content hash of policies, contracts and principal directory together.
    pub revision: String,
    /// The pack's content hash.
    pub policies_revision: String,
    /// The mesh's content hash.
    pub mesh_revision: String,
    /// Cedar policies in the pack.
    pub policy_count: usize,
    /// Contract rules in the pack.
    pub rule_count: usize,
    /// Contract files of the mesh that could not be read (their products are unknown).
    pub unreadable: Vec<ParseFailure>,
    /// What is questionable in the access policies (they still work).
    pub warnings: Vec<String>,
    /// When it was built.
    pub loaded_at: SystemTime,
    /// The principal directory (empty without one).
    pub directory: Directory,
    /// The Trino contract's settings (`trino:` in the pack's settings).
    pub trino: TrinoSettings,
}

impl Snapshot {
    /// Reads the mesh and the principal directory and builds the engines (blocking:
    /// seconds on a mesh of ten thousand products).
    ///
    /// # Errors
    /// See [`SnapshotError`].
    pub fn load(sources: &Sources<'_>) -> Result<Self, SnapshotError> {
        let pack = sources.pack;
        let prepared = AccessPolicies::from_pack(pack).map_err(SnapshotError::Policies)?;
        let reader = sources.reading.reader(pack.settings());
        let mesh = Mesh::load_products(sources.mesh, &sources.reading.load_options(), &reader)
            .map_err(|source| SnapshotError::Mesh {
                dir: sources.mesh.display().to_string(),
                source,
            })?;
        let policy_count = prepared.policies().len();
        let warnings = prepared.warnings().to_vec();
        let mesh_revision = mesh.revision().to_owned();
        let unreadable = mesh.failures().to_vec();
        // The engine takes the mesh: each contract is dropped once its product is built.
        let access =
            AccessEngine::from_mesh(Arc::new(prepared), mesh).map_err(SnapshotError::Entities)?;
        let rules =
            RuleSet::compile(pack, RuleSetOptions::default()).map_err(SnapshotError::Rules)?;
        let directory = match sources.principals {
            Some(path) => Directory::load(path)?,
            None => Directory::default(),
        };
        let trino = TrinoSettings::from_settings(pack.settings())?;
        let revision = revision(
            pack.revision(),
            &mesh_revision,
            sources.principals.map(|_| &directory),
        );
        Ok(Self {
            rule_count: rules.catalog().len(),
            access,
            rules,
            reader,
            revision,
            policies_revision: pack.revision().to_owned(),
            mesh_revision,
            policy_count,
            unreadable,
            warnings,
            loaded_at: SystemTime::now(),
            directory,
            trino,
        })
    }
}

/// The snapshot's revision: a hash of the pack's, the mesh's and the directory's (when
/// there is one: a server without one keeps the revision it always had).
fn revision(policies: &str, mesh: &str, directory: Option<&Directory>) -> String {
    let mut hasher = blake3::Hasher::new();
    hasher.update(policies.as_bytes());
    hasher.update(b"\0");
    hasher.update(mesh.as_bytes());
    if let Some(directory) = directory {
        hasher.update(b"\0");
        hasher.update(directory.revision().as_bytes());
    }
    hasher.finalize().to_hex()[..16].to_owned()
}
