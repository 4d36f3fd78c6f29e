//! What stops an access engine from being built (exit code 2 on the CLI; a reload
//! that fails keeps the last good snapshot).

/// Cedar policies, schema, settings or row-filter rules that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AccessError {
    /// The pack has no `cedar/*.cedarschema`: strict validation needs one.
    #[error("no Cedar schema in the policy pack (expected cedar/*.cedarschema)")]
    NoSchema,
    /// A schema file does not parse, or the schema files do not fit together.
    #[error("{file}:{line}: Cedar schema error: {message}")]
    Schema {
        /// The file, relative to the pack.
        file: String,
        /// 1-based line.
        line: u32,
        /// The parser's message.
        message: String,
    },
    /// A policy file does not parse.
    #[error("{file}:{line}: Cedar policy does not parse: {message}")]
    Parse {
        /// The file, relative to the pack.
        file: String,
        /// 1-based line.
        line: u32,
        /// The parser's message.
        message: String,
    },
    /// A policy has no `@id("…")` annotation, or one another policy also has.
    #[error("{file}:{line}: {message}")]
    PolicyId {
        /// The file, relative to the pack.
        file: String,
        /// 1-based line.
        line: u32,
        /// What is wrong.
        message: String,
    },
    /// A policy does not validate strictly against the schema.
    #[error("{file}:{line}: policy `{policy}` does not validate against the schema: {message}")]
    Validation {
        /// The file, relative to the pack.
        file: String,
        /// 1-based line of the offending expression.
        line: u32,
        /// The policy's `@id`.
        policy: String,
        /// The validator's message.
        message: String,
    },
    /// The schema does not describe the entities Charter builds from the mesh.
    #[error("the Cedar schema does not describe the entities Charter builds: {0}")]
    Entities(String),
    /// An access setting has the wrong shape.
    #[error("bad setting `{key}`: {message}")]
    Settings {
        /// The setting, e.g. `access_decisions.masking_aliases`.
        key: String,
        /// What is wrong.
        message: String,
    },
    /// The row-filter rules do not compile.
    #[error("row-filter rules (`data.charter.access.row_filters`) do not compile: {0}")]
    RowFilters(String),
}
