//! A repository of contracts, loaded and indexed.
//!
//! Contracts are the files under the root that match the include globs (`**/*.yaml`,
//! `**/*.yml` by default) and none of the exclude globs (hidden folders such as `.git`,
//! `waivers.yaml`). Every file is read independently and in parallel: a file that is
//! not a valid contract becomes a [`ParseFailure`] and never stops the others.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use globset::{Glob, GlobSet, GlobSetBuilder};
use rayon::prelude::*;

use crate::contract::{self, Contract, ContractLimits, Product, ReaderSettings};

/// Which files under a root are contracts.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Globs (relative to the root) a contract file matches.
    pub include: Vec<String>,
    /// Globs of files never read as contracts.
    pub exclude: Vec<String>,
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            include: vec!["**/*.yaml".into(), "**/*.yml".into()],
            exclude: vec![
                "**/.*/**".into(),
                "**/node_modules/**".into(),
                "**/target/**".into(),
                "waivers.yaml".into(),
                "waivers.yml".into(),
            ],
        }
    }
}

/// A file that could not be read as a contract.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseFailure {
    /// The file, relative to the root, `/`-separated.
    pub file: String,
    /// 1-based line of the problem.
    pub line: u32,
    /// What is wrong and what was expected.
    pub message: String,
}

/// A file discovered under a root: its path as reported and where to read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractFile {
    /// The path relative to the root (or as given), `/`-separated, as findings show it.
    pub display: String,
    /// Where to read it.
    pub path: PathBuf,
}

/// Bad load options or an unreadable root.
#[derive(Debug, thiserror::Error)]
pub enum MeshError {
    /// A glob does not parse.
    #[error("invalid glob `{glob}`: {message}")]
    Glob {
        /// The glob.
        glob: String,
        /// Why.
        message: String,
    },
    /// The root does not exist or cannot be listed.
    #[error("cannot read `{path}`: {message}")]
    Unreadable {
        /// The path.
        path: String,
        /// Why.
        message: String,
    },
}

/// The outcome of reading one file.
#[derive(Debug, Clone)]
pub enum Loaded {
    /// A contract.
    Contract(Box<Contract>),
    /// A file that is not a valid contract.
    Failure(ParseFailure),
}

/// Contracts of a repository, indexed by product id and physical table.
#[derive(Debug, Clone, Default)]
pub struct Mesh {
    contracts: Vec<Contract>,
    failures: Vec<ParseFailure>,
    by_id: HashMap<String, usize>,
    by_table: HashMap<String, usize>,
    revision: String,
}

impl Mesh {
    /// Loads every contract under `root`.
    ///
    /// # Errors
    /// The root cannot be read or a glob is invalid. Bad contracts are not errors: see
    /// [`Mesh::failures`].
    pub fn load(
        root: &Path,
        options: &LoadOptions,
        settings: &ReaderSettings,
    ) -> Result<Self, MeshError> {
        let files = discover(root, options)?;
        let loaded: Vec<Loaded> = files
            .par_iter()
            .map(|file| load_file(file, settings))
            .collect();
        Ok(Self::from_loaded(loaded))
    }

    /// Builds a mesh from already-read files.
    #[must_use]
    pub fn from_loaded(loaded: Vec<Loaded>) -> Self {
        let mut mesh = Mesh::default();
        for item in loaded {
            match item {
                Loaded::Contract(c) => mesh.contracts.push(*c),
                Loaded::Failure(f) => mesh.failures.push(f),
            }
        }
        mesh.contracts
            .sort_by(|a, b| a.product.source.file.cmp(&b.product.source.file));
        mesh.failures.sort_by(|a, b| a.file.cmp(&b.file));
        let mut hasher = blake3::Hasher::new();
        for (i, c) in mesh.contracts.iter().enumerate() {
            // The first contract of an id wins the index; duplicates are a mesh rule's business.
            mesh.by_id.entry(c.product.id.clone()).or_insert(i);
            for interface in &c.product.interfaces {
                mesh.by_table
                    .entry(interface.table.to_ascii_lowercase())
                    .or_insert(i);
            }
            hasher.update(c.product.source.file.as_bytes());
            hasher.update(c.hash.as_bytes());
        }
        for f in &mesh.failures {
            hasher.update(f.file.as_bytes());
            hasher.update(f.message.as_bytes());
        }
        mesh.revision = hasher.finalize().to_hex()[..16].to_owned();
        mesh
    }

    /// Every contract that was read, in file order.
    #[must_use]
    pub fn contracts(&self) -> &[Contract] {
        &self.contracts
    }

    /// Every product, in file order.
    pub fn products(&self) -> impl Iterator<Item = &Product> {
        self.contracts.iter().map(|c| &c.product)
    }

    /// Files that are not valid contracts.
    #[must_use]
    pub fn failures(&self) -> &[ParseFailure] {
        &self.failures
    }

    /// The contract of a product id.
    #[must_use]
    pub fn contract(&self, id: &str) -> Option<&Contract> {
        self.by_id.get(id).map(|&i| &self.contracts[i])
    }

    /// The product of a product id.
    #[must_use]
    pub fn product(&self, id: &str) -> Option<&Product> {
        self.contract(id).map(|c| &c.product)
    }

    /// The product served by a physical table (`catalog.schema.table`, case-insensitive).
    #[must_use]
    pub fn product_by_table(&self, table: &str) -> Option<&Product> {
        self.by_table
            .get(&table.to_ascii_lowercase())
            .map(|&i| &self.contracts[i].product)
    }

    /// A content hash of every file's path and bytes (16 hex digits).
    #[must_use]
    pub fn revision(&self) -> &str {
        &self.revision
    }
}

/// Which relative paths are contracts, by the include and exclude globs of [`LoadOptions`].
#[derive(Debug, Clone)]
pub struct ContractGlobs {
    include: GlobSet,
    exclude: GlobSet,
}

impl ContractGlobs {
    /// The globs of `options`, compiled.
    ///
    /// # Errors
    /// A glob is invalid.
    pub fn new(options: &LoadOptions) -> Result<Self, MeshError> {
        Ok(Self {
            include: globs(&options.include)?,
            exclude: globs(&options.exclude)?,
        })
    }

    /// Whether the path (relative to the root) is a contract file.
    #[must_use]
    pub fn matches(&self, rel: impl AsRef<Path>) -> bool {
        let rel = rel.as_ref();
        self.include.is_match(rel) && !self.exclude.is_match(rel)
    }
}

/// Lists the contract files under `root` (a folder) or `root` itself (a file), sorted.
///
/// # Errors
/// The root does not exist, or a glob is invalid.
pub fn discover(root: &Path, options: &LoadOptions) -> Result<Vec<ContractFile>, MeshError> {
    let meta = std::fs::metadata(root).map_err(|e| MeshError::Unreadable {
        path: root.display().to_string(),
        message: e.to_string(),
    })?;
    if meta.is_file() {
        return Ok(vec![ContractFile {
            display: slash(root),
            path: root.to_path_buf(),
        }]);
    }
    let globs = ContractGlobs::new(options)?;
    let mut files = Vec::new();
    let walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name();
    for entry in walker
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_type().is_dir() || !is_hidden(e.file_name()))
    {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                // A file that cannot be statted (a dangling link, no permission) is still listed,
                // so reading it reports the problem as a finding; so is a folder that cannot be
                // listed, since contracts in it go unchecked. A symlink loop is neither.
                if e.loop_ancestor().is_none()
                    && let Some(path) = e.path()
                    && let Ok(rel) = path.strip_prefix(root)
                    && !globs.exclude.is_match(rel)
                {
                    if path.is_dir() {
                        files.push(ContractFile {
                            display: format!("{}/", slash(rel)),
                            path: path.to_path_buf(),
                        });
                    } else if globs.include.is_match(rel) {
                        files.push(ContractFile {
                            display: slash(rel),
                            path: path.to_path_buf(),
                        });
                    }
                }
                continue;
            }
        };
        if entry.file_type().is_dir() {
            continue;
        }
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        if globs.matches(rel) {
            files.push(ContractFile {
                display: slash(rel),
                path: entry.path().to_path_buf(),
            });
        }
    }
    Ok(files)
}

/// Reads and normalizes one file; never fails, a bad file is a [`ParseFailure`].
#[must_use]
pub fn load_file(file: &ContractFile, settings: &ReaderSettings) -> Loaded {
    let failure = |line, message| {
        Loaded::Failure(ParseFailure {
            file: file.display.clone(),
            line,
            message,
        })
    };
    let bytes = match read_limited(file, &settings.limits) {
        Ok(bytes) => bytes,
        Err(message) => return failure(1, message),
    };
    match contract::read_bytes(&file.display, &bytes, settings) {
        Ok(c) => Loaded::Contract(Box::new(c)),
        Err(e) => failure(e.line, e.message),
    }
}

/// Reads a contract file's bytes, refusing files over the size limit without reading them.
///
/// # Errors
/// A message for a file that is too large or cannot be read (reported at line 1).
pub fn read_limited(file: &ContractFile, limits: &ContractLimits) -> Result<Vec<u8>, String> {
    let meta = std::fs::metadata(&file.path).map_err(|e| format!("cannot read file: {e}"))?;
    if meta.is_dir() {
        let why = std::fs::read_dir(&file.path).err().map_or_else(
            || "it changed while being read".to_owned(),
            |e| e.to_string(),
        );
        return Err(format!(
            "cannot read folder: {why}; the contracts in it were not checked"
        ));
    }
    limits.check_size(meta.len())?;
    std::fs::read(&file.path).map_err(|e| format!("cannot read file: {e}"))
}

fn globs(patterns: &[String]) -> Result<GlobSet, MeshError> {
    let mut builder = GlobSetBuilder::new();
    for p in patterns {
        let glob = Glob::new(p).map_err(|e| MeshError::Glob {
            glob: p.clone(),
            message: e.to_string(),
        })?;
        builder.add(glob);
        // `**/x` should also match `x` at the root.
        if let Some(rest) = p.strip_prefix("**/") {
            let glob = Glob::new(rest).map_err(|e| MeshError::Glob {
                glob: p.clone(),
                message: e.to_string(),
            })?;
            builder.add(glob);
        }
    }
    builder.build().map_err(|e| MeshError::Glob {
        glob: patterns.join(", "),
        message: e.to_string(),
    })
}

fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.to_str()
        .is_some_and(|n| n.starts_with('.') && n != "." && n != "..")
}

fn slash(path: &Path) -> String {
    path.to_string_lossy().replace('\\', "/")
}
