//! Reading files of an untrusted tree: only regular files, bounded by the limit itself,
//! and never through a symlink out of the tree.
//!
//! Contracts are untrusted, and so is the tree that holds them: a pull request can add a
//! symlink to `/dev/zero` (a device whose metadata says 0 bytes and whose reads never end),
//! a FIFO named `*.yaml` (whose `open` blocks until a writer comes), or a symlink to a file
//! outside the checkout. Every file Charter reads from a repository, a policy folder or a
//! cache goes through [`read_file`]:
//!
//! 1. the type is checked first, from `stat` (which never opens the file): a folder, a
//!    device, a FIFO, a socket is refused as [`ReadError::Folder`] or
//!    [`ReadError::NotRegular`], naming what it is;
//! 2. the path is resolved and must stay inside the [`Confinement`]'s root (the folder
//!    given, or the top of the git work tree holding it) unless the confinement follows
//!    external links; a loop is [`ReadError::Loop`];
//! 3. a file whose metadata already says it is over the limit is refused unread;
//! 4. the resolved path is opened with `O_NONBLOCK | O_NOFOLLOW` (so a file swapped for a
//!    FIFO or a link after the checks can neither block the open nor redirect it), the
//!    opened file's own metadata must say "regular file", and the read stops at
//!    `limit + 1` bytes whatever the metadata claimed ([`read_bounded`]).
//!
//! ```no_run
//! use std::path::Path;
//! use charter_engine::fsread::{Confinement, read_file};
//!
//! let repo = Confinement::for_tree(Path::new("testdata/mesh"), false)?;
//! let bytes = read_file(Path::new("testdata/mesh/domains/orders/order_events.yaml"), 1 << 20, &repo)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

use std::fmt;
use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The folder a tree's files must resolve into (through any symlinks) to be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Confinement {
    /// The root, canonical (symlinks resolved).
    root: Arc<Path>,
    /// Whether symlinks out of the root are followed anyway.
    follow_external: bool,
}

impl Confinement {
    /// The confinement of the tree holding `path` (a folder, or a file given directly):
    /// the top of the git work tree it is in (the nearest folder above it with a `.git`),
    /// or else the folder itself (a file's own folder). With `follow_external`, symlinks
    /// out of it are followed.
    ///
    /// # Errors
    /// The path (or a file's folder) cannot be resolved.
    pub fn for_tree(path: &Path, follow_external: bool) -> io::Result<Self> {
        let folder = if std::fs::metadata(path).is_ok_and(|m| m.is_dir()) {
            std::fs::canonicalize(path)?
        } else {
            let parent = path
                .parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."));
            std::fs::canonicalize(parent)?
        };
        let root = folder
            .ancestors()
            .find(|dir| std::fs::symlink_metadata(dir.join(".git")).is_ok())
            .map_or_else(|| folder.clone(), Path::to_path_buf);
        Ok(Self {
            root: root.into(),
            follow_external,
        })
    }

    /// Exactly `root` (an extraction folder, a cache folder), without looking for a git
    /// work tree around it.
    ///
    /// # Errors
    /// The root cannot be resolved.
    pub fn at(root: &Path, follow_external: bool) -> io::Result<Self> {
        Ok(Self {
            root: std::fs::canonicalize(root)?.into(),
            follow_external,
        })
    }

    /// The root files must resolve into (canonical).
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Whether symlinks out of the root are followed.
    #[must_use]
    pub fn follows_external(&self) -> bool {
        self.follow_external
    }

    /// Resolves `path` (every symlink followed) and checks it stays inside the root.
    ///
    /// # Errors
    /// [`ReadError::Outside`] for a path resolving out of the root (unless external links
    /// are followed), [`ReadError::Loop`] for a symlink loop, [`ReadError::Io`] otherwise.
    pub fn resolve(&self, path: &Path) -> Result<PathBuf, ReadError> {
        let resolved = std::fs::canonicalize(path).map_err(io_error)?;
        if !self.follow_external && !resolved.starts_with(&self.root) {
            return Err(ReadError::Outside {
                target: resolved,
                root: self.root.to_path_buf(),
            });
        }
        Ok(resolved)
    }
}

/// What a path is, when it is not a regular file or a folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FileKind {
    /// A named pipe: opening it blocks until a writer comes.
    Fifo,
    /// A unix-domain socket.
    Socket,
    /// A character device (`/dev/zero`, `/dev/urandom`, a terminal).
    CharDevice,
    /// A block device (a disk).
    BlockDevice,
    /// Anything else that is not a regular file.
    Other,
}

impl FileKind {
    /// The kind of a file that is neither a regular file nor a folder.
    #[must_use]
    pub fn of(meta: &Metadata) -> Self {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileTypeExt;
            let t = meta.file_type();
            if t.is_fifo() {
                return Self::Fifo;
            }
            if t.is_socket() {
                return Self::Socket;
            }
            if t.is_char_device() {
                return Self::CharDevice;
            }
            if t.is_block_device() {
                return Self::BlockDevice;
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        Self::Other
    }
}

impl fmt::Display for FileKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Fifo => "a FIFO (named pipe)",
            Self::Socket => "a socket",
            Self::CharDevice => "a character device",
            Self::BlockDevice => "a block device",
            Self::Other => "a special file",
        })
    }
}

/// Why a file of an untrusted tree was not read.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    /// A device, FIFO, socket or other special file; never opened.
    #[error("not a regular file: {kind}{}; only regular files are read", via(.target.as_deref()))]
    NotRegular {
        /// What it is.
        kind: FileKind,
        /// Where the symlink leading to it points, when one does.
        target: Option<PathBuf>,
    },
    /// A folder where a file was expected.
    #[error("a folder, not a file")]
    Folder,
    /// A symlink resolving outside the confinement's root; not read.
    #[error(
        "a symlink to `{}`, outside the repository `{}`; not read (`--follow-external-symlinks` reads it)",
        .target.display(),
        .root.display()
    )]
    Outside {
        /// Where it resolves to.
        target: PathBuf,
        /// The root it left.
        root: PathBuf,
    },
    /// A symlink loop (a link to itself, or a folder link to one of its own ancestors).
    #[error("a symlink loop{}; not followed", via(.target.as_deref()))]
    Loop {
        /// The ancestor a folder link points back to, when known.
        target: Option<PathBuf>,
    },
    /// Over the size limit: by its metadata (`len`), or found while reading (`None`: the
    /// metadata said less, as a `/proc` file or a file growing under the reader does).
    #[error("{}", too_large(*.len, *.limit))]
    TooLarge {
        /// The size its metadata gives, when that is what was over the limit.
        len: Option<u64>,
        /// The limit, in bytes.
        limit: u64,
    },
    /// The file could not be read.
    #[error("cannot read file: {0}")]
    Io(io::Error),
}

fn via(target: Option<&Path>) -> String {
    target.map_or_else(String::new, |t| {
        format!(" (through a symlink to `{}`)", t.display())
    })
}

fn too_large(len: Option<u64>, limit: u64) -> String {
    match len {
        Some(len) => format!("file is {len} bytes, over the limit of {limit} bytes"),
        None => format!("file is over the limit of {limit} bytes"),
    }
}

/// `ELOOP` (too many levels of symbolic links) as [`ReadError::Loop`], anything else as is.
fn io_error(e: io::Error) -> ReadError {
    #[cfg(unix)]
    if e.raw_os_error() == Some(libc::ELOOP) {
        return ReadError::Loop { target: None };
    }
    ReadError::Io(e)
}

/// Reads the regular file at `path`, at most `limit` bytes, if it resolves inside
/// `confinement` (see the [module](self) for every check, in order).
///
/// # Errors
/// Every [`ReadError`]: nothing is opened for a special file, a folder, a link out of the
/// root or a loop; nothing is read of a file whose metadata is over the limit.
pub fn read_file(path: &Path, limit: u64, confinement: &Confinement) -> Result<Vec<u8>, ReadError> {
    let meta = std::fs::metadata(path).map_err(io_error)?;
    if meta.is_dir() {
        return Err(ReadError::Folder);
    }
    if !meta.is_file() {
        let linked = std::fs::symlink_metadata(path).is_ok_and(|m| m.file_type().is_symlink());
        return Err(ReadError::NotRegular {
            kind: FileKind::of(&meta),
            target: linked.then(|| std::fs::canonicalize(path).ok()).flatten(),
        });
    }
    let resolved = confinement.resolve(path)?;
    if meta.len() > limit {
        return Err(ReadError::TooLarge {
            len: Some(meta.len()),
            limit,
        });
    }
    let file = open_nonblocking(&resolved).map_err(io_error)?;
    let opened = file.metadata().map_err(ReadError::Io)?;
    if !opened.is_file() {
        return Err(ReadError::NotRegular {
            kind: FileKind::of(&opened),
            target: None,
        });
    }
    // The opened file's size, as far as the limit, sizes the buffer: a file is read in one
    // call and its end found by a second, where a buffer grown from nothing takes about
    // eight calls for a 4 KB contract. The size is only a hint: the read still stops at
    // `limit + 1` bytes, and a file longer than its size said is read to its end.
    let hint = usize::try_from(opened.len().min(limit)).unwrap_or(0);
    read_bounded_into(file, limit, Vec::with_capacity(hint.saturating_add(1)))
}

/// [`read_file`], as UTF-8 text.
///
/// # Errors
/// Every error of [`read_file`]; bytes that are not UTF-8 are [`ReadError::Io`] with kind
/// `InvalidData`.
pub fn read_text(path: &Path, limit: u64, confinement: &Confinement) -> Result<String, ReadError> {
    let bytes = read_file(path, limit, confinement)?;
    String::from_utf8(bytes).map_err(|e| {
        ReadError::Io(io::Error::new(
            io::ErrorKind::InvalidData,
            format!(
                "not UTF-8 text (invalid byte at offset {})",
                e.utf8_error().valid_up_to()
            ),
        ))
    })
}

/// Reads at most `limit` bytes of any stream (a file, a pipe from `git cat-file`): one
/// byte more than the limit is read to tell a stream over it, never more.
///
/// # Errors
/// [`ReadError::TooLarge`] (with `len: None`) for a stream over the limit, or the read's
/// [`ReadError::Io`].
pub fn read_bounded(reader: impl Read, limit: u64) -> Result<Vec<u8>, ReadError> {
    read_bounded_into(reader, limit, Vec::new())
}

/// [`read_bounded`], appending to `bytes` (empty, perhaps with capacity reserved).
fn read_bounded_into(
    reader: impl Read,
    limit: u64,
    mut bytes: Vec<u8>,
) -> Result<Vec<u8>, ReadError> {
    reader
        .take(limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooLarge { len: None, limit });
    }
    Ok(bytes)
}

/// Opens for reading without blocking on a FIFO and without following a final symlink.
fn open_nonblocking(path: &Path) -> io::Result<File> {
    let mut options = OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NONBLOCK | libc::O_NOFOLLOW | libc::O_NOCTTY);
    }
    options.open(path)
}

/// Why a folder of a tree was not (or could not be) walked into: a link out of the root,
/// a link back to one of its own ancestors, or a folder that cannot be listed.
///
/// `None` when the folder is fine to walk.
#[must_use]
pub fn folder_problem(path: &Path, confinement: &Confinement) -> Option<ReadError> {
    let resolved = match confinement.resolve(path) {
        Ok(resolved) => resolved,
        Err(e) => return Some(e),
    };
    let parent = path.parent().and_then(|p| std::fs::canonicalize(p).ok());
    if parent.is_some_and(|p| p.starts_with(&resolved)) {
        return Some(ReadError::Loop {
            target: Some(resolved),
        });
    }
    std::fs::read_dir(path).err().map(ReadError::Io)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_is_read_up_to_the_limit_and_no_further() {
        assert_eq!(read_bounded(&b"abc"[..], 3).ok(), Some(b"abc".to_vec()));
        let endless = io::repeat(0);
        assert!(matches!(
            read_bounded(endless, 10),
            Err(ReadError::TooLarge {
                len: None,
                limit: 10
            })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.yaml");
        let made = std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap();
        assert!(made.success());
        let tree = Confinement::for_tree(dir.path(), false).unwrap();
        assert!(matches!(
            read_file(&fifo, 1024, &tree),
            Err(ReadError::NotRegular {
                kind: FileKind::Fifo,
                target: None
            })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn links_stay_inside_the_root_unless_told_otherwise() {
        let dir = tempfile::tempdir().unwrap();
        let (repo, outside) = (dir.path().join("repo"), dir.path().join("outside"));
        std::fs::create_dir_all(repo.join(".git")).unwrap();
        std::fs::create_dir_all(repo.join("a/b")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(repo.join("a/inside.txt"), "in").unwrap();
        std::fs::write(outside.join("secret.txt"), "out").unwrap();
        std::os::unix::fs::symlink("../inside.txt", repo.join("a/b/in.txt")).unwrap();
        std::os::unix::fs::symlink(outside.join("secret.txt"), repo.join("a/b/out.txt")).unwrap();
        std::os::unix::fs::symlink("self.txt", repo.join("a/b/self.txt")).unwrap();
        // The root of `repo/a/b` is the git work tree around it: `../inside.txt` is in it.
        let tree = Confinement::for_tree(&repo.join("a/b"), false).unwrap();
        assert_eq!(tree.root(), std::fs::canonicalize(&repo).unwrap());
        assert_eq!(
            read_file(&repo.join("a/b/in.txt"), 10, &tree).ok(),
            Some(b"in".to_vec())
        );
        assert!(matches!(
            read_file(&repo.join("a/b/out.txt"), 10, &tree),
            Err(ReadError::Outside { .. })
        ));
        assert!(matches!(
            read_file(&repo.join("a/b/self.txt"), 10, &tree),
            Err(ReadError::Loop { .. })
        ));
        let following = Confinement::for_tree(&repo.join("a/b"), true).unwrap();
        assert_eq!(
            read_file(&repo.join("a/b/out.txt"), 10, &following).ok(),
            Some(b"out".to_vec())
        );
        assert!(matches!(
            read_file(&repo.join("a/inside.txt"), 1, &tree),
            Err(ReadError::TooLarge {
                len: Some(2),
                limit: 1
            })
        ));
        assert!(folder_problem(&repo.join("a"), &tree).is_none());
        std::os::unix::fs::symlink("..", repo.join("a/b/up")).unwrap();
        assert!(matches!(
            folder_problem(&repo.join("a/b/up"), &tree),
            Some(ReadError::Loop { .. })
        ));
    }

    #[cfg(unix)]
    #[test]
    fn devices_are_refused_unopened_and_named() {
        let dir = tempfile::tempdir().unwrap();
        let link = dir.path().join("zero.yaml");
        std::os::unix::fs::symlink("/dev/zero", &link).unwrap();
        let tree = Confinement::for_tree(dir.path(), true).unwrap();
        let e = read_file(&link, 1024, &tree).err().map(|e| e.to_string());
        assert_eq!(
            e.as_deref(),
            Some(
                "not a regular file: a character device (through a symlink to `/dev/zero`); only regular files are read"
            )
        );
    }
}
