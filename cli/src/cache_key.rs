//! The key that authenticates the result cache (see `charter_engine::cache`): a pull request
//! controls the checked folder, where the cache lives, so the key must live elsewhere.
//!
//! `CHARTER_CACHE_KEY` when set (a secret shared by the CI runs that share a cache folder);
//! otherwise 32 random bytes kept in the user's cache folder
//! (`$XDG_CACHE_HOME/charter/cache-key`, else `~/.cache/charter/cache-key`), created on first
//! use, readable by its owner only. A cache folder copied from elsewhere, or committed to the
//! repository, is sealed with another key and is not trusted: the run is cold.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context;
use charter_engine::cache::CacheKey;

/// The environment variable that gives the key.
pub const ENV: &str = "CHARTER_CACHE_KEY";

/// The key for this run, or `None` (with the reason) when there is no place to keep one.
///
/// # Errors
/// The key file exists but is not a key, or cannot be read or created.
pub fn load() -> anyhow::Result<Option<CacheKey>> {
    if let Some(secret) = std::env::var_os(ENV) {
        let secret = secret.to_string_lossy();
        anyhow::ensure!(!secret.trim().is_empty(), "{ENV} is set but empty");
        return Ok(Some(CacheKey::derive(&secret)));
    }
    let Some(path) = key_file() else {
        return Ok(None);
    };
    read_or_create(&path).map(Some)
}

/// `$XDG_CACHE_HOME/charter/cache-key`, or `$HOME/.cache/charter/cache-key`.
fn key_file() -> Option<PathBuf> {
    let absolute = |var: &str| {
        std::env::var_os(var)
            .map(PathBuf::from)
            .filter(|p| p.is_absolute())
    };
    let base = absolute("XDG_CACHE_HOME").or_else(|| absolute("HOME").map(|h| h.join(".cache")))?;
    Some(base.join("charter").join("cache-key"))
}

fn read_or_create(path: &Path) -> anyhow::Result<CacheKey> {
    match std::fs::read_to_string(path) {
        Ok(text) => parse(&text).with_context(|| {
            format!(
                "`{}` does not hold a cache key (64 hex digits); delete it and run again",
                path.display()
            )
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => create(path),
        Err(e) => Err(e).with_context(|| format!("cannot read the cache key `{}`", path.display())),
    }
}

/// 64 hex digits (BLAKE3's hex reader: 32 bytes).
fn parse(text: &str) -> anyhow::Result<CacheKey> {
    let bytes = blake3::Hash::from_hex(text.trim()).context("expected 64 hex digits")?;
    Ok(CacheKey::from_bytes(*bytes.as_bytes()))
}

/// Writes a new random key, written whole to a private temporary file and then linked in
/// place, so that two runs starting at once agree on one key.
fn create(path: &Path) -> anyhow::Result<CacheKey> {
    let cannot = || format!("cannot create the cache key `{}`", path.display());
    let dir = path.parent().context("the cache key has no folder")?;
    std::fs::create_dir_all(dir).with_context(cannot)?;
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|e| anyhow::anyhow!("no randomness: {e}"))?;
    let hex = blake3::Hash::from_bytes(bytes).to_hex();
    let tmp = dir.join(format!("cache-key.{}.tmp", std::process::id()));
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(&tmp).with_context(cannot)?;
    // A key that could not be written whole is not linked, and its file not left behind.
    let linked = writeln!(file, "{hex}").and_then(|()| std::fs::hard_link(&tmp, path));
    drop(file);
    let _ = std::fs::remove_file(&tmp);
    match linked {
        Ok(()) => Ok(CacheKey::from_bytes(bytes)),
        // Another run made one first: use it.
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => read_or_create(path),
        Err(e) => Err(e).with_context(cannot),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_file_is_created_once_and_read_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("charter/cache-key");
        let first = read_or_create(&path).unwrap();
        let second = read_or_create(&path).unwrap();
        assert_eq!(first, second);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text.trim().len(), 64);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let other = tempfile::tempdir().unwrap();
        assert_ne!(
            read_or_create(&other.path().join("cache-key")).unwrap(),
            first,
            "every machine draws its own key"
        );
    }

    #[test]
    fn a_file_that_is_not_a_key_says_what_to_do() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("cache-key");
        std::fs::write(&path, "not a key\n").unwrap();
        let err = format!("{:#}", read_or_create(&path).unwrap_err());
        assert!(err.contains("delete it and run again"), "{err}");
    }
}
