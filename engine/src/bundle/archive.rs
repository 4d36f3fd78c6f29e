//! The bundle archive: a gzipped tar written deterministically (sorted entries, fixed
//! times, owners and modes, so the same files give the same bytes) and read defensively
//! (only regular files and folders; no link, device or path leaving the root; bounded size).

use std::collections::BTreeMap;
use std::io::Read;

use flate2::Compression;
use flate2::read::GzDecoder;
use flate2::write::GzEncoder;

use super::error::BundleError;

/// The most a bundle may unpack to by default (bytes).
pub const DEFAULT_MAX_UNPACKED: u64 = 512 * 1024 * 1024;

/// Writes `files` (path → bytes) as a gzipped tar.
///
/// # Errors
/// A path that cannot be stored in a tar header.
pub fn write(files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>, BundleError> {
    let gz = flate2::GzBuilder::new()
        .mtime(0)
        .operating_system(255)
        .write(Vec::new(), Compression::default());
    let mut tar = tar::Builder::new(gz);
    tar.mode(tar::HeaderMode::Deterministic);
    for (path, bytes) in files {
        let mut header = tar::Header::new_ustar();
        header.set_entry_type(tar::EntryType::Regular);
        header.set_size(bytes.len() as u64);
        header.set_mode(0o644);
        header.set_uid(0);
        header.set_gid(0);
        header.set_mtime(0);
        let entry = |e: std::io::Error| BundleError::Entry {
            path: path.clone(),
            reason: e.to_string(),
        };
        tar.append_data(&mut header, path, bytes.as_slice())
            .map_err(entry)?;
    }
    let gz: GzEncoder<Vec<u8>> = tar
        .into_inner()
        .map_err(|e| BundleError::Archive(e.to_string()))?;
    gz.finish().map_err(|e| BundleError::Archive(e.to_string()))
}

/// Reads every regular file of a gzipped tar, by normalized path.
///
/// # Errors
/// Not a gzipped tar; an entry that is a link, device or FIFO, whose path is absolute
/// beyond OPA's leading `/`, holds `..` or is repeated; more than `max_unpacked` bytes.
pub fn read(bytes: &[u8], max_unpacked: u64) -> Result<BTreeMap<String, Vec<u8>>, BundleError> {
    let mut archive = tar::Archive::new(GzDecoder::new(bytes));
    let mut files = BTreeMap::new();
    let mut total: u64 = 0;
    let entries = archive
        .entries()
        .map_err(|e| BundleError::Archive(e.to_string()))?;
    for entry in entries {
        let mut entry = entry.map_err(|e| BundleError::Archive(e.to_string()))?;
        let raw = String::from_utf8_lossy(&entry.path_bytes()).into_owned();
        let refuse = |reason: &str| BundleError::Entry {
            path: raw.clone(),
            reason: reason.to_owned(),
        };
        let kind = entry.header().entry_type();
        if kind.is_dir() {
            check_path(&raw).map_err(|r| refuse(&r))?;
            continue;
        }
        if kind.is_pax_global_extensions() || kind.is_pax_local_extensions() {
            continue;
        }
        if !(kind.is_file() || kind == tar::EntryType::Continuous) {
            return Err(refuse(&format!(
                "{} entries are refused (only regular files and folders)",
                kind_name(kind)
            )));
        }
        let path = check_path(&raw).map_err(|r| refuse(&r))?;
        if path.is_empty() {
            return Err(refuse("a file entry without a name"));
        }
        let size = entry.header().size().unwrap_or(u64::MAX);
        total = total.saturating_add(size);
        if total > max_unpacked {
            return Err(BundleError::TooLarge {
                limit: max_unpacked,
            });
        }
        let mut data = Vec::with_capacity(usize::try_from(size).unwrap_or(0).min(1 << 24));
        (&mut entry)
            .take(size)
            .read_to_end(&mut data)
            .map_err(|e| BundleError::Archive(format!("`{raw}`: {e}")))?;
        if files.insert(path, data).is_some() {
            return Err(refuse("the path appears twice in the archive"));
        }
    }
    Ok(files)
}

fn kind_name(kind: tar::EntryType) -> &'static str {
    if kind.is_symlink() {
        "symbolic link"
    } else if kind.is_hard_link() {
        "hard link"
    } else if kind.is_character_special() || kind.is_block_special() {
        "device"
    } else if kind.is_fifo() {
        "FIFO"
    } else {
        "special"
    }
}

/// The normalized path of an entry, or why it is refused.
fn check_path(raw: &str) -> Result<String, String> {
    if raw.contains('\0') || raw.contains('\\') {
        return Err("the path holds a NUL or a backslash".into());
    }
    // OPA writes `/.manifest`: a leading `/` is the bundle's root, not the file system's.
    let trimmed = raw.trim_start_matches('/');
    let trimmed = trimmed.strip_prefix("./").unwrap_or(trimmed);
    let trimmed = trimmed.trim_end_matches('/');
    let mut parts = Vec::new();
    for part in trimmed.split('/') {
        match part {
            ".." => return Err("the path leaves the bundle's root".into()),
            "" | "." => {
                if !trimmed.is_empty() {
                    return Err("the path holds an empty or `.` component".into());
                }
            }
            p => parts.push(p),
        }
    }
    if parts.is_empty() && !raw.ends_with('/') && raw != "." && raw != "./" {
        return Err("the path is empty".into());
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_that_leave_the_root_are_refused() {
        assert_eq!(check_path("/.manifest").as_deref(), Ok(".manifest"));
        assert_eq!(check_path("./a/b.rego").as_deref(), Ok("a/b.rego"));
        assert!(check_path("../etc/passwd").is_err());
        assert!(check_path("a/../../b").is_err());
        assert!(check_path("a//b").is_err());
        assert!(check_path("a\\b").is_err());
    }

    #[test]
    fn writing_is_deterministic_and_reads_back() {
        let files: BTreeMap<String, Vec<u8>> = [
            ("b.txt".to_owned(), b"two".to_vec()),
            (".manifest".to_owned(), b"{}".to_vec()),
        ]
        .into();
        let one = write(&files).unwrap_or_default();
        let two = write(&files).unwrap_or_default();
        assert!(!one.is_empty());
        assert_eq!(one, two);
        assert_eq!(read(&one, 1024).ok(), Some(files.clone()));
        assert!(matches!(read(&one, 4), Err(BundleError::TooLarge { .. })));
    }
}
