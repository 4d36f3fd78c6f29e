//! The result cache: findings per contract, keyed by the policy revision, Charter's
//! version, the contract's path and its content hash. In CI most contracts did not
//! change; a run pays only for those that did.
//!
//! One JSON file per cache folder. A cache that cannot be read is ignored (the run is
//! just cold); one that cannot be written costs nothing but the next run's speed.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::report::{Finding, ProductSummary};

const FILE_NAME: &str = "results-v1.json";

/// What a cached evaluation of one file produced.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedResult {
    /// The product read from the file, if it was a contract.
    pub product: Option<CachedProduct>,
    /// Every finding on the file.
    pub findings: Vec<Finding>,
}

/// The part of a product a report needs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedProduct {
    /// Product id.
    pub id: String,
    /// Domain.
    pub domain: String,
    /// Format.
    pub format: String,
}

impl CachedProduct {
    /// As a report row (compliance is computed by the report).
    #[must_use]
    pub fn summary(&self, file: &str) -> ProductSummary {
        ProductSummary {
            id: self.id.clone(),
            domain: self.domain.clone(),
            file: file.to_owned(),
            format: self.format.clone(),
            compliant: true,
        }
    }
}

#[derive(Serialize, Deserialize, Default)]
struct Stored {
    revision: String,
    entries: HashMap<String, CachedResult>,
}

/// A result cache in a folder.
#[derive(Debug)]
pub struct Cache {
    dir: PathBuf,
    revision: String,
    old: HashMap<String, CachedResult>,
}

impl Cache {
    /// Opens (or starts) the cache in `dir` for results of policy `revision`.
    /// Entries of another revision or Charter version are dropped.
    #[must_use]
    pub fn open(dir: &Path, policy_revision: &str) -> Self {
        let revision = format!("{policy_revision}+{}", env!("CARGO_PKG_VERSION"));
        let old = read_cache_file(dir, FILE_NAME)
            .and_then(|bytes| serde_json::from_slice::<Stored>(&bytes).ok())
            .filter(|s| s.revision == revision)
            .map(|s| s.entries)
            .unwrap_or_default();
        Self {
            dir: dir.to_path_buf(),
            revision,
            old,
        }
    }

    /// The key of a file's result: its path and content hash.
    #[must_use]
    pub fn key(file: &str, content_hash: &str) -> String {
        format!("{file}\0{content_hash}")
    }

    /// A cached result.
    #[must_use]
    pub fn get(&self, key: &str) -> Option<&CachedResult> {
        self.old.get(key)
    }

    /// Writes the old entries merged with `fresh` ones.
    ///
    /// # Errors
    /// The folder or file cannot be written.
    pub fn save(
        self,
        fresh: impl IntoIterator<Item = (String, CachedResult)>,
    ) -> std::io::Result<()> {
        let mut entries = self.old;
        let before = entries.len();
        let mut added = 0usize;
        for (k, v) in fresh {
            added += usize::from(entries.insert(k, v).is_none());
        }
        if added == 0 && before > 0 {
            return Ok(());
        }
        std::fs::create_dir_all(&self.dir)?;
        let ignore = self.dir.join(".gitignore");
        if !ignore.exists() {
            std::fs::write(&ignore, "# Charter's result cache; safe to delete.\n*\n")?;
        }
        let stored = Stored {
            revision: self.revision,
            entries,
        };
        let tmp = self
            .dir
            .join(format!("{FILE_NAME}.{}.tmp", std::process::id()));
        std::fs::write(
            &tmp,
            serde_json::to_vec(&stored).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, self.dir.join(FILE_NAME))
    }
}

/// The largest cache file read (512 MiB); a larger one (or one that is not a regular
/// file, or a symlink out of the cache folder) is ignored: the run is cold.
const MAX_CACHE_FILE_SIZE: u64 = 512 * 1024 * 1024;

/// A cache file's bytes, read as any file of the checked tree is (the cache folder lives
/// in it): a regular file inside the folder, bounded. `None` when there is none to use.
fn read_cache_file(dir: &Path, name: &str) -> Option<Vec<u8>> {
    let folder = crate::fsread::Confinement::at(dir, false).ok()?;
    crate::fsread::read_file(&dir.join(name), MAX_CACHE_FILE_SIZE, &folder).ok()
}

const MESH_FILE_NAME: &str = "mesh-v1.json";

#[derive(Serialize, Deserialize)]
struct StoredMesh {
    key: String,
    findings: Vec<Finding>,
}

/// The findings of the repository-wide rules for one state of the repository: keyed by
/// the policy revision, Charter's version and the fingerprint of every contract file, so
/// they are reused only when nothing at all changed.
#[derive(Debug)]
pub struct MeshCache {
    dir: PathBuf,
    key: String,
}

impl MeshCache {
    /// The cache entry for `fingerprint` (see `check::CheckRun`) under policy `revision`.
    #[must_use]
    pub fn new(dir: &Path, policy_revision: &str, fingerprint: &str) -> Self {
        let key = format!(
            "{policy_revision}+{}+{fingerprint}",
            env!("CARGO_PKG_VERSION")
        );
        Self {
            dir: dir.to_path_buf(),
            key,
        }
    }

    /// The cached findings, if the repository is exactly as it was.
    #[must_use]
    pub fn get(&self) -> Option<Vec<Finding>> {
        let bytes = read_cache_file(&self.dir, MESH_FILE_NAME)?;
        let stored: StoredMesh = serde_json::from_slice(&bytes).ok()?;
        (stored.key == self.key).then_some(stored.findings)
    }

    /// Stores the findings for this state.
    ///
    /// # Errors
    /// The folder or file cannot be written.
    pub fn put(&self, findings: &[Finding]) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let stored = StoredMesh {
            key: self.key.clone(),
            findings: findings.to_vec(),
        };
        let tmp = self
            .dir
            .join(format!("{MESH_FILE_NAME}.{}.tmp", std::process::id()));
        std::fs::write(
            &tmp,
            serde_json::to_vec(&stored).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, self.dir.join(MESH_FILE_NAME))
    }
}
