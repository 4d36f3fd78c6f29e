//! The result cache: findings per contract, keyed by the policy revision, Charter's
//! version, the contract's path and its content hash. In CI most contracts did not
//! change; a run pays only for those that did.
//!
//! One JSON file per cache folder. A cache that cannot be read is ignored (the run is
//! just cold); one that cannot be written costs nothing but the next run's speed.
//!
//! The cache lives in the checked folder, which a pull request controls: a cache committed
//! with it must not pass as results. Every cache file therefore starts with a MAC of its
//! contents (keyed BLAKE3) under a [`CacheKey`] that lives outside the checked tree; a file
//! whose MAC does not verify under this machine's key is ignored like an unreadable one.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::report::{Finding, ProductSummary};

const FILE_NAME: &str = "results-v2.json";

/// The secret that authenticates cache files: whoever does not hold it cannot write a cache
/// this run trusts. The caller keeps it outside the checked tree (the CLI: in the user's
/// cache folder, or `CHARTER_CACHE_KEY`).
#[derive(Clone, PartialEq, Eq)]
pub struct CacheKey([u8; 32]);

impl CacheKey {
    /// A key of 32 random bytes.
    #[must_use]
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// A key derived from a secret of any length (`CHARTER_CACHE_KEY`).
    #[must_use]
    pub fn derive(secret: &str) -> Self {
        Self(blake3::derive_key(
            "charter result cache v2 key",
            secret.as_bytes(),
        ))
    }

    /// The MAC of `body` under this key.
    fn mac(&self, body: &[u8]) -> blake3::Hash {
        blake3::keyed_hash(&self.0, body)
    }

    /// A MAC of a body written in parts (equal to [`CacheKey::mac`] of the whole).
    fn streaming_mac(&self) -> blake3::Hasher {
        blake3::Hasher::new_keyed(&self.0)
    }

    /// The body of a sealed file, when its MAC verifies under this key (compared in
    /// constant time).
    fn open<'a>(&self, sealed: &'a [u8]) -> Option<&'a [u8]> {
        let split = sealed.iter().position(|&b| b == b'\n')?;
        let (mac, body) = (&sealed[..split], &sealed[split + 1..]);
        let mac = blake3::Hash::from_hex(mac).ok()?;
        (mac == self.mac(body)).then_some(body)
    }
}

impl std::fmt::Debug for CacheKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CacheKey(…)")
    }
}

/// Where the result cache lives and the key that authenticates it.
#[derive(Debug, Clone)]
pub struct CacheConfig {
    /// The cache folder.
    pub dir: PathBuf,
    /// The key its files are sealed with.
    pub key: CacheKey,
}

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
    config: CacheConfig,
    revision: String,
    old: HashMap<String, CachedResult>,
}

impl Cache {
    /// Opens (or starts) the cache of `config` for results of policy `revision`.
    /// Entries of another revision or Charter version are dropped, and so is a file not
    /// sealed with `config.key`.
    #[must_use]
    pub fn open(config: &CacheConfig, policy_revision: &str) -> Self {
        let revision = format!("{policy_revision}+{}", env!("CARGO_PKG_VERSION"));
        let old = read_cache_file(config, FILE_NAME)
            .and_then(|bytes| serde_json::from_slice::<Stored>(&bytes).ok())
            .filter(|s| s.revision == revision)
            .map(|s| s.entries)
            .unwrap_or_default();
        Self {
            config: config.clone(),
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
        let dir = &self.config.dir;
        prepare_folder(dir)?;
        match create_new(&dir.join(".gitignore")) {
            Ok(mut file) => {
                std::io::Write::write_all(
                    &mut file,
                    b"# Charter's result cache; safe to delete.\n*\n",
                )?;
            }
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(e),
            Err(_) => {}
        }
        let stored = Stored {
            revision: self.revision,
            entries,
        };
        write_sealed(dir, &self.config.key, FILE_NAME, &stored)
    }
}

/// The largest cache file read (512 MiB); a larger one (or one that is not a regular
/// file, or a symlink out of the cache folder) is ignored: the run is cold.
const MAX_CACHE_FILE_SIZE: u64 = 512 * 1024 * 1024;

/// A cache file's body, read as any file of the checked tree is (the cache folder lives
/// in it): a regular file inside the folder, bounded, its MAC verified under the key.
/// `None` when there is none to use.
fn read_cache_file(config: &CacheConfig, name: &str) -> Option<Vec<u8>> {
    let dir = &config.dir;
    let folder = crate::fsread::Confinement::at(dir, false).ok()?;
    let sealed = crate::fsread::read_file(&dir.join(name), MAX_CACHE_FILE_SIZE, &folder).ok()?;
    config.key.open(&sealed).map(<[u8]>::to_vec)
}

/// Writes `value` as JSON, sealed with `key`, to `dir/name` (through a temporary file, so
/// a reader never sees half a file): `<MAC in hex>\n<body>`.
///
/// The body is streamed to the file through the MAC, not built in memory first (the
/// results of 10,000 contracts are ~5 MB, written while the repository-wide rules run):
/// the MAC's place is held and the MAC written there last.
fn write_sealed<T: Serialize>(
    dir: &Path,
    key: &CacheKey,
    name: &str,
    value: &T,
) -> std::io::Result<()> {
    use std::io::{Seek, SeekFrom, Write};

    let tmp = dir.join(format!("{name}.{}.tmp", std::process::id()));
    // A leftover (or a symlink planted under the name) goes; the new file is created, never
    // opened through a link. The rename replaces a link at `name`, it does not follow it.
    let _ = std::fs::remove_file(&tmp);
    let mut file = create_new(&tmp)?;
    let placeholder = [b'0'; 2 * blake3::OUT_LEN];
    file.write_all(&placeholder)?;
    file.write_all(b"\n")?;
    let mut body = Sealing {
        mac: key.streaming_mac(),
        out: std::io::BufWriter::new(file),
    };
    serde_json::to_writer(&mut body, value).map_err(std::io::Error::other)?;
    let mut file = body
        .out
        .into_inner()
        .map_err(std::io::IntoInnerError::into_error)?;
    file.seek(SeekFrom::Start(0))?;
    file.write_all(body.mac.finalize().to_hex().as_bytes())?;
    drop(file);
    std::fs::rename(&tmp, dir.join(name))?;
    remove_unsealed(dir);
    Ok(())
}

/// A cache file's body on its way to the file, through its MAC.
struct Sealing<W> {
    mac: blake3::Hasher,
    out: W,
}

impl<W: std::io::Write> std::io::Write for Sealing<W> {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        let written = self.out.write(bytes)?;
        self.mac.update(&bytes[..written]);
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

/// Creates the cache folder `dir` and checks that it is a folder, not a symlink: the
/// checked tree, which a pull request controls, could point it anywhere the run may write.
fn prepare_folder(dir: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    if std::fs::symlink_metadata(dir)?.is_dir() {
        Ok(())
    } else {
        Err(std::io::Error::other(format!(
            "the cache folder `{}` is a symlink: not written",
            dir.display()
        )))
    }
}

/// A new file at `path`, to write: fails if anything is there, a symlink included, so a
/// write never follows a link.
fn create_new(path: &Path) -> std::io::Result<std::fs::File> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
}

/// The files of the cache before it was sealed, which no version reads any more.
const UNSEALED_FILE_NAMES: [&str; 2] = ["results-v1.json", "mesh-v1.json"];

/// Deletes the unsealed files of an older Charter from the cache folder `dir` (checked by
/// [`prepare_folder`]): regular files only, a symlink is left alone. One that cannot be
/// deleted stays, unread.
fn remove_unsealed(dir: &Path) {
    for name in UNSEALED_FILE_NAMES {
        let path = dir.join(name);
        if std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file()) {
            let _ = std::fs::remove_file(&path);
        }
    }
}

const MESH_FILE_NAME: &str = "mesh-v2.json";

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
    config: CacheConfig,
    key: String,
}

impl MeshCache {
    /// The cache entry for `fingerprint` (see `check::CheckRun`) under policy `revision`.
    #[must_use]
    pub fn new(config: &CacheConfig, policy_revision: &str, fingerprint: &str) -> Self {
        let key = format!(
            "{policy_revision}+{}+{fingerprint}",
            env!("CARGO_PKG_VERSION")
        );
        Self {
            config: config.clone(),
            key,
        }
    }

    /// The cached findings, if the repository is exactly as it was.
    #[must_use]
    pub fn get(&self) -> Option<Vec<Finding>> {
        let bytes = read_cache_file(&self.config, MESH_FILE_NAME)?;
        let stored: StoredMesh = serde_json::from_slice(&bytes).ok()?;
        (stored.key == self.key).then_some(stored.findings)
    }

    /// Stores the findings for this state.
    ///
    /// # Errors
    /// The folder or file cannot be written.
    pub fn put(&self, findings: &[Finding]) -> std::io::Result<()> {
        prepare_folder(&self.config.dir)?;
        let stored = StoredMesh {
            key: self.key.clone(),
            findings: findings.to_vec(),
        };
        write_sealed(&self.config.dir, &self.config.key, MESH_FILE_NAME, &stored)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(dir: &Path, secret: &str) -> CacheConfig {
        CacheConfig {
            dir: dir.to_path_buf(),
            key: CacheKey::derive(secret),
        }
    }

    fn result(rule: &str) -> CachedResult {
        CachedResult {
            product: None,
            findings: vec![Finding {
                rule: rule.to_owned(),
                severity: crate::report::Severity::Error,
                message: "m".to_owned(),
                product: None,
                domain: None,
                file: "a.yaml".to_owned(),
                line: 1,
                waiver: None,
            }],
        }
    }

    #[test]
    fn a_cache_is_read_back_only_under_its_key() {
        let dir = tempfile::tempdir().unwrap();
        let ours = config(dir.path(), "ours");
        Cache::open(&ours, "rev")
            .save([("k".to_owned(), result("x/y"))])
            .unwrap();
        assert_eq!(Cache::open(&ours, "rev").get("k"), Some(&result("x/y")));
        assert_eq!(
            Cache::open(&config(dir.path(), "theirs"), "rev").get("k"),
            None
        );

        let mesh = MeshCache::new(&ours, "rev", "fp");
        mesh.put(&result("m/n").findings).unwrap();
        assert_eq!(mesh.get(), Some(result("m/n").findings));
        assert_eq!(
            MeshCache::new(&config(dir.path(), "theirs"), "rev", "fp").get(),
            None
        );
    }

    #[test]
    fn a_changed_byte_or_a_missing_mac_makes_the_file_unusable() {
        let dir = tempfile::tempdir().unwrap();
        let ours = config(dir.path(), "ours");
        Cache::open(&ours, "rev")
            .save([("k".to_owned(), result("x/y"))])
            .unwrap();
        let path = dir.path().join(FILE_NAME);
        let sealed = std::fs::read(&path).unwrap();
        let edited = String::from_utf8(sealed.clone())
            .unwrap()
            .replace("x/y", "x/z");
        std::fs::write(&path, edited).unwrap();
        assert_eq!(Cache::open(&ours, "rev").get("k"), None, "an edited body");
        let body = &sealed[65..];
        std::fs::write(&path, body).unwrap();
        assert_eq!(Cache::open(&ours, "rev").get("k"), None, "no MAC line");
        std::fs::write(&path, &sealed).unwrap();
        assert_eq!(Cache::open(&ours, "rev").get("k"), Some(&result("x/y")));
    }

    #[test]
    fn saving_removes_the_unsealed_files_of_an_older_version() {
        let dir = tempfile::tempdir().unwrap();
        for name in UNSEALED_FILE_NAMES {
            std::fs::write(dir.path().join(name), "{}").unwrap();
        }
        let ours = config(dir.path(), "ours");
        Cache::open(&ours, "rev")
            .save([("k".to_owned(), result("x/y"))])
            .unwrap();
        for name in UNSEALED_FILE_NAMES {
            assert!(!dir.path().join(name).exists(), "{name} is still there");
        }
        assert!(dir.path().join(FILE_NAME).exists());

        // A symlink under an old name is not followed, nor removed.
        #[cfg(unix)]
        {
            let outside = tempfile::tempdir().unwrap();
            let target = outside.path().join("kept.json");
            std::fs::write(&target, "{}").unwrap();
            let link = dir.path().join(UNSEALED_FILE_NAMES[1]);
            std::os::unix::fs::symlink(&target, &link).unwrap();
            MeshCache::new(&ours, "rev", "fp")
                .put(&result("m/n").findings)
                .unwrap();
            assert!(std::fs::symlink_metadata(&link).is_ok() && target.exists());
        }
    }

    /// The checked tree (which a pull request controls) can hold the cache folder and its
    /// files as symlinks: no write and no deletion follows one.
    #[cfg(unix)]
    #[test]
    fn cache_writes_never_follow_a_symlink() {
        use std::os::unix::fs::symlink;
        let tree = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let elsewhere = outside.path().join(UNSEALED_FILE_NAMES[0]);
        std::fs::write(&elsewhere, "{}").unwrap();

        // A cache folder that is a symlink is not written, nor cleaned.
        let linked = tree.path().join(".charter-cache");
        symlink(outside.path(), &linked).unwrap();
        let save =
            Cache::open(&config(&linked, "ours"), "rev").save([("k".to_owned(), result("x/y"))]);
        assert!(save.is_err());
        assert!(
            MeshCache::new(&config(&linked, "ours"), "rev", "fp")
                .put(&result("m/n").findings)
                .is_err()
        );
        let mut left: Vec<_> = std::fs::read_dir(outside.path())
            .unwrap()
            .map(|e| e.unwrap().file_name())
            .collect();
        left.sort();
        assert_eq!(left, [UNSEALED_FILE_NAMES[0]]);

        // Files planted as symlinks: `.gitignore` dangling, the temporary file's name, the
        // cache file itself. The targets are neither created nor written.
        let dir = tree.path().join("cache");
        std::fs::create_dir(&dir).unwrap();
        let ignore_target = outside.path().join("created.txt");
        symlink(&ignore_target, dir.join(".gitignore")).unwrap();
        let tmp_target = outside.path().join("tmp-target.txt");
        std::fs::write(&tmp_target, "untouched").unwrap();
        let tmp = format!("{FILE_NAME}.{}.tmp", std::process::id());
        symlink(&tmp_target, dir.join(tmp)).unwrap();
        symlink(&elsewhere, dir.join(FILE_NAME)).unwrap();
        let ours = config(&dir, "ours");
        Cache::open(&ours, "rev")
            .save([("k".to_owned(), result("x/y"))])
            .unwrap();
        assert!(
            !ignore_target.exists(),
            "a dangling .gitignore link was followed"
        );
        assert_eq!(std::fs::read_to_string(&tmp_target).unwrap(), "untouched");
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "{}");
        assert!(
            std::fs::symlink_metadata(dir.join(FILE_NAME))
                .unwrap()
                .is_file()
        );
        assert_eq!(Cache::open(&ours, "rev").get("k"), Some(&result("x/y")));
    }

    #[test]
    fn the_key_never_shows_in_debug_output() {
        let key = CacheKey::from_bytes([7; 32]);
        assert_eq!(format!("{key:?}"), "CacheKey(…)");
    }
}
