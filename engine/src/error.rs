//! The engine's errors: what stops Charter from doing its job (exit code 2 on the CLI).
//!
//! Problems *in contracts* are not errors but findings (`contract/parse`); these are
//! problems with the policies, the settings or the paths Charter was given.

use thiserror::Error;

/// A policy pack that cannot be loaded.
#[derive(Debug, Error)]
pub enum PackError {
    /// The policies path is not a folder.
    #[error("policies path `{0}` is not a folder (expected a folder with rego/, cedar/ and data/)")]
    NotADirectory(String),
    /// The folder holds no Rego or Cedar file.
    #[error("no policies found under `{0}` (expected rego/*.rego or cedar/*.cedar)")]
    Empty(String),
    /// A file could not be read.
    #[error("cannot read `{path}`: {message}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        message: String,
    },
    /// A settings file is not a YAML mapping.
    #[error("{path}:{line}: bad settings file: {message}")]
    Settings {
        /// The file, relative to the pack.
        path: String,
        /// 1-based line.
        line: usize,
        /// Why.
        message: String,
    },
    /// A Rego module does not parse or compile.
    #[error("{path}: policy does not compile: {message}")]
    Rego {
        /// The file, relative to the pack.
        path: String,
        /// The compiler's message (with line and column).
        message: String,
    },
}
