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

use crate::contract::{self, Contract, ContractLimits, Locations, Product, ReaderSettings};
use crate::fsread::{self, Confinement, ReadError};

/// Which files under a root are contracts.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    /// Globs (relative to the root) a contract file matches.
    pub include: Vec<String>,
    /// Globs of files never read as contracts.
    pub exclude: Vec<String>,
    /// Read files (and walk folders) that symlinks inside the root point to outside it;
    /// by default such a link is a finding and is not followed (see [`crate::fsread`]).
    pub follow_external_symlinks: bool,
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
            follow_external_symlinks: false,
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

/// A file discovered under a root: its path as reported, where to read it, and the tree
/// it must stay in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractFile {
    /// The path relative to the root (or as given), `/`-separated, as findings show it.
    pub display: String,
    /// Where to read it.
    pub path: PathBuf,
    /// The tree it was found in: a symlink resolving out of it is not read.
    pub confinement: Confinement,
}

impl ContractFile {
    /// A file named directly (`charter inspect FILE`), shown as given, confined to the
    /// tree holding it ([`Confinement::for_tree`]).
    ///
    /// # Errors
    /// The file's folder cannot be resolved.
    pub fn given(path: &Path, follow_external_symlinks: bool) -> Result<Self, MeshError> {
        Ok(Self {
            display: slash(path),
            path: path.to_path_buf(),
            confinement: confinement(path, follow_external_symlinks)?,
        })
    }
}

fn confinement(path: &Path, follow_external_symlinks: bool) -> Result<Confinement, MeshError> {
    Confinement::for_tree(path, follow_external_symlinks).map_err(|e| MeshError::Unreadable {
        path: path.display().to_string(),
        message: e.to_string(),
    })
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
        Self::load_keeping(root, options, settings, |loaded| loaded)
    }

    /// [`Mesh::load`] for decisions: each contract keeps no source text or locations (only
    /// findings need lines), dropped as soon as it is read, so a large mesh holds little
    /// more than its products while an engine is built from it.
    ///
    /// # Errors
    /// See [`Mesh::load`].
    pub fn load_products(
        root: &Path,
        options: &LoadOptions,
        settings: &ReaderSettings,
    ) -> Result<Self, MeshError> {
        Self::load_keeping(root, options, settings, |loaded| match loaded {
            Loaded::Contract(mut contract) => {
                contract.locations = Locations::none();
                Loaded::Contract(contract)
            }
            failure @ Loaded::Failure(_) => failure,
        })
    }

    fn load_keeping(
        root: &Path,
        options: &LoadOptions,
        settings: &ReaderSettings,
        keep: fn(Loaded) -> Loaded,
    ) -> Result<Self, MeshError> {
        let files = discover(root, options)?;
        let loaded: Vec<Loaded> = files
            .par_iter()
            .map(|file| keep(load_file(file, settings)))
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

    /// The contracts, taking them out of the mesh (read `revision` and `failures` first).
    #[must_use]
    pub fn into_contracts(self) -> Vec<Contract> {
        self.contracts
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
/// Folders that were not walked into are listed too (with a trailing `/`), so reading
/// them reports why as a finding: a folder that cannot be listed, a symlink to a folder
/// outside the repository, a symlink loop. Hidden folders are skipped.
///
/// # Errors
/// The root does not exist, or a glob is invalid.
pub fn discover(root: &Path, options: &LoadOptions) -> Result<Vec<ContractFile>, MeshError> {
    // A link that cannot be followed (a loop, a dangling link) is still an entry: reading
    // it says what is wrong, as for one found in a folder.
    let meta = std::fs::metadata(root)
        .or_else(|_| std::fs::symlink_metadata(root))
        .map_err(|e| MeshError::Unreadable {
            path: root.display().to_string(),
            message: e.to_string(),
        })?;
    if !meta.is_dir() {
        return Ok(vec![ContractFile::given(
            root,
            options.follow_external_symlinks,
        )?]);
    }
    let tree = confinement(root, options.follow_external_symlinks)?;
    let globs = ContractGlobs::new(options)?;
    let mut files = Vec::new();
    let listed = |path: &Path, rel: &Path, folder: bool| ContractFile {
        display: if folder {
            format!("{}/", slash(rel))
        } else {
            slash(rel)
        },
        path: path.to_path_buf(),
        confinement: tree.clone(),
    };
    let mut walker = walkdir::WalkDir::new(root)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_type().is_dir() || !is_hidden(e.file_name()));
    while let Some(entry) = walker.next() {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                // A file that cannot be statted (a dangling link, no permission) is still listed,
                // so reading it reports the problem as a finding; so is a folder that cannot be
                // listed, since contracts in it go unchecked, and a symlink loop.
                if let Some(path) = e.path()
                    && let Ok(rel) = path.strip_prefix(root)
                    && !globs.exclude.is_match(rel)
                {
                    let folder = e.loop_ancestor().is_some() || path.is_dir();
                    if folder || globs.include.is_match(rel) {
                        files.push(listed(path, rel, folder));
                    }
                }
                continue;
            }
        };
        let Ok(rel) = entry.path().strip_prefix(root) else {
            continue;
        };
        if entry.file_type().is_dir() {
            // A link to a folder out of the repository is not walked: listed, it is a finding.
            if entry.path_is_symlink()
                && matches!(
                    fsread::folder_problem(entry.path(), &tree),
                    Some(ReadError::Outside { .. })
                )
            {
                walker.skip_current_dir();
                if !globs.exclude.is_match(rel) {
                    files.push(listed(entry.path(), rel, true));
                }
            }
            continue;
        }
        if globs.matches(rel) {
            files.push(listed(entry.path(), rel, false));
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

/// Reads a contract file's bytes with [`fsread::read_file`]: only a regular file inside its
/// tree, never more than `--max-file-size` (a file whose metadata is over it is not read).
///
/// # Errors
/// A message for a file that is not read (reported at line 1): too large, not a regular
/// file, a symlink out of the repository or a loop, a folder that was not walked, or an
/// I/O error.
pub fn read_limited(file: &ContractFile, limits: &ContractLimits) -> Result<Vec<u8>, String> {
    fsread::read_file(&file.path, limits.max_file_size, &file.confinement).map_err(|e| match e {
        ReadError::TooLarge { len: Some(len), .. } => limits
            .check_size(len)
            .err()
            .unwrap_or_else(|| e.to_string()),
        ReadError::TooLarge { len: None, limit } => format!(
            "file is over the limit of {limit} bytes for a contract (--max-file-size), though its metadata said less"
        ),
        ReadError::Folder => match fsread::folder_problem(&file.path, &file.confinement) {
            Some(ReadError::Io(e)) => {
                format!("cannot read folder: {e}; the contracts in it were not checked")
            }
            Some(e @ ReadError::Loop { .. }) => format!("folder not walked: {e}"),
            Some(e) => {
                format!("folder not walked: {e}; the contracts in it were not checked")
            }
            None => "cannot read folder: it changed while being read".to_owned(),
        },
        ReadError::Io(e) => format!("cannot read file: {e}"),
        e => format!("file not read: {e}"),
    })
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
