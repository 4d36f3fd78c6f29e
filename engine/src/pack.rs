//! A policy pack: the Rego modules, Cedar policies and central settings a run is judged by.
//!
//! The pack is handed to the engine as files (embedded in the binary or read from a
//! folder by the caller); its [`revision`](PolicyPack::revision) is a content hash, so
//! results and decisions can say exactly which policies produced them.

use std::path::Path;

use serde_json::Value as Json;

use crate::error::PackError;
use crate::fsread::{self, Confinement, ReadError};

/// The largest file of a policy folder Charter reads (16 MiB); a larger one stops the load.
pub const MAX_POLICY_FILE_SIZE: u64 = 16 * 1024 * 1024;

/// One file of a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PolicyFile {
    /// Path relative to the pack root, `/`-separated (`rego/pii.rego`).
    pub path: String,
    /// The file's text.
    pub text: String,
}

/// A policy pack: `rego/**.rego`, `cedar/*.cedar` + `cedar/*.cedarschema`, `data/*.yaml`,
/// `tests/**` (policy tests).
#[derive(Debug, Clone)]
pub struct PolicyPack {
    files: Vec<PolicyFile>,
    settings: Json,
    revision: String,
}

impl PolicyPack {
    /// Builds a pack from `(relative path, text)` pairs.
    ///
    /// # Errors
    /// A settings file under `data/` that is not valid YAML, or not a mapping.
    pub fn from_files<P: Into<String>, T: Into<String>>(
        files: impl IntoIterator<Item = (P, T)>,
    ) -> Result<Self, PackError> {
        let mut files: Vec<PolicyFile> = files
            .into_iter()
            .map(|(path, text)| PolicyFile {
                path: path.into().replace('\\', "/"),
                text: text.into(),
            })
            .collect();
        files.sort_by(|a, b| a.path.cmp(&b.path));
        let settings = merge_settings(&files)?;
        let mut hasher = blake3::Hasher::new();
        for file in &files {
            hasher.update(file.path.as_bytes());
            hasher.update(&[0]);
            hasher.update(file.text.as_bytes());
            hasher.update(&[0]);
        }
        let revision = hasher.finalize().to_hex()[..16].to_owned();
        Ok(Self {
            files,
            settings,
            revision,
        })
    }

    /// Reads a pack from a folder (`rego/`, `cedar/`, `data/`, `tests/` below it); a
    /// symlink out of the folder (or out of the git work tree holding it) stops the load.
    ///
    /// # Errors
    /// See [`PolicyPack::from_dir_with`].
    pub fn from_dir(root: &Path) -> Result<Self, PackError> {
        Self::from_dir_with(root, false)
    }

    /// Reads a pack from a folder, every file with [`crate::fsread::read_text`]: only
    /// regular files of at most [`MAX_POLICY_FILE_SIZE`] bytes, and through symlinks out of
    /// the folder's tree only with `follow_external_symlinks`.
    ///
    /// # Errors
    /// The folder cannot be read, holds no policy at all, a settings file is bad, or a
    /// pack file (or a folder of the pack) cannot be read: a device, FIFO or socket, a
    /// symlink out of the tree or a loop, a file over the limit. A pack is loaded whole
    /// or not at all.
    pub fn from_dir_with(root: &Path, follow_external_symlinks: bool) -> Result<Self, PackError> {
        if !root.is_dir() {
            return Err(PackError::NotADirectory(root.display().to_string()));
        }
        let unreadable = |path: &Path, message: String| PackError::Read {
            path: path.display().to_string(),
            message,
        };
        let tree = Confinement::for_tree(root, follow_external_symlinks)
            .map_err(|e| unreadable(root, e.to_string()))?;
        let mut files = Vec::new();
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name();
        for entry in walker {
            let entry = entry.map_err(|e| unreadable(e.path().unwrap_or(root), e.to_string()))?;
            if entry.file_type().is_dir() {
                if entry.path_is_symlink()
                    && let Some(problem) = fsread::folder_problem(entry.path(), &tree)
                {
                    return Err(unreadable(entry.path(), problem.to_string()));
                }
                continue;
            }
            let Ok(rel) = entry.path().strip_prefix(root) else {
                continue;
            };
            let rel = rel.to_string_lossy().replace('\\', "/");
            if !is_pack_file(&rel) {
                continue;
            }
            let text = fsread::read_text(entry.path(), MAX_POLICY_FILE_SIZE, &tree).map_err(
                |e| match e {
                    ReadError::Io(e) => unreadable(entry.path(), e.to_string()),
                    e => unreadable(entry.path(), e.to_string()),
                },
            )?;
            files.push((rel, text));
        }
        if !files
            .iter()
            .any(|(p, _)| p.ends_with(".rego") || p.ends_with(".cedar"))
        {
            return Err(PackError::Empty(root.display().to_string()));
        }
        Self::from_files(files)
    }

    /// Every file, in path order.
    #[must_use]
    pub fn files(&self) -> &[PolicyFile] {
        &self.files
    }

    /// Files whose path starts with `dir/` and ends with `.ext`.
    pub fn files_in<'a>(
        &'a self,
        dir: &'a str,
        ext: &'a str,
    ) -> impl Iterator<Item = &'a PolicyFile> + 'a {
        self.files.iter().filter(move |f| {
            f.path
                .strip_prefix(dir)
                .is_some_and(|rest| rest.starts_with('/'))
                && f.path.ends_with(ext)
        })
    }

    /// The Rego modules (`rego/**/*.rego`).
    pub fn rego(&self) -> impl Iterator<Item = &PolicyFile> {
        self.files_in("rego", ".rego")
    }

    /// The central settings: every `data/*.yaml` merged, as `data.charter.settings` sees them.
    #[must_use]
    pub fn settings(&self) -> &Json {
        &self.settings
    }

    /// A content hash of every file of the pack (16 hex digits).
    #[must_use]
    pub fn revision(&self) -> &str {
        &self.revision
    }
}

fn is_pack_file(rel: &str) -> bool {
    let top = rel.split('/').next().unwrap_or_default();
    matches!(top, "rego" | "cedar" | "data" | "tests")
        && [".rego", ".cedar", ".cedarschema", ".yaml", ".yml", ".json"]
            .iter()
            .any(|ext| rel.ends_with(ext))
}

/// Whether a pack file is a settings file (`data/*.yaml`, merged into `data.charter.settings`).
pub(crate) fn is_settings_file(path: &str) -> bool {
    path.starts_with("data/") && (path.ends_with(".yaml") || path.ends_with(".yml"))
}

fn merge_settings(files: &[PolicyFile]) -> Result<Json, PackError> {
    let mut merged = serde_json::Map::new();
    for file in files.iter().filter(|f| is_settings_file(&f.path)) {
        let value: Json = yaml_serde::from_str(&file.text).map_err(|e| PackError::Settings {
            path: file.path.clone(),
            line: e.location().map_or(1, |l| l.line()),
            message: e.to_string(),
        })?;
        match value {
            Json::Object(map) => merged.extend(map),
            Json::Null => {}
            _ => {
                return Err(PackError::Settings {
                    path: file.path.clone(),
                    line: 1,
                    message: "expected a mapping of setting names to values".into(),
                });
            }
        }
    }
    Ok(Json::Object(merged))
}
