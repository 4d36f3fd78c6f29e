//! How contract files are read: the limits on each file and whether symlinks out of the
//! repository are followed. Plain values: the CLI gets them from its `--max-*` flags, the
//! service from its configuration.

use std::path::Path;

use crate::contract::{ContractLimits, ReaderSettings};
use crate::mesh::{ContractFile, LoadOptions, read_limited};

/// Limits on each contract file, and the symlink rule.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reading {
    /// Size, line length, depth and node limits.
    pub limits: ContractLimits,
    /// Follow symlinks that lead out of the repository.
    pub follow_external_symlinks: bool,
}

impl Reading {
    /// Reads one contract file named by a user: only a regular file, not through a symlink
    /// out of its repository, refusing one over the size limit without reading it.
    ///
    /// # Errors
    /// The file is too large, not a regular file, out of the repository, or cannot be
    /// read: a message naming it.
    pub fn read_file(&self, path: &Path) -> Result<Vec<u8>, String> {
        let file =
            ContractFile::given(path, self.follow_external_symlinks).map_err(|e| e.to_string())?;
        read_limited(&file, &self.limits)
            .map_err(|message| format!("`{}`: {message}", path.display()))
    }

    /// Which files of a folder are contracts (the defaults), and whether symlinks out of it
    /// are followed.
    #[must_use]
    pub fn load_options(&self) -> LoadOptions {
        LoadOptions {
            follow_external_symlinks: self.follow_external_symlinks,
            ..LoadOptions::default()
        }
    }

    /// The pack's reader settings with these limits.
    #[must_use]
    pub fn reader(&self, settings: &serde_json::Value) -> ReaderSettings {
        ReaderSettings {
            limits: self.limits,
            ..ReaderSettings::from_settings(settings)
        }
    }
}
