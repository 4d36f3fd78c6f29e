//! Why a bundle cannot be built, read or trusted.

use thiserror::Error;

/// A bundle that cannot be built, read, or is not to be trusted.
#[derive(Debug, Error)]
pub enum BundleError {
    /// The bytes are not a gzipped tar archive.
    #[error("not a gzipped tar archive: {0}")]
    Archive(String),
    /// An archive entry that is refused (a link, a device, a path leaving the root, …).
    #[error("archive entry `{path}`: {reason}")]
    Entry {
        /// The entry's name as stored.
        path: String,
        /// Why it is refused.
        reason: String,
    },
    /// The archive unpacks to more than the limit.
    #[error("the bundle unpacks to more than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// `.manifest` is missing or malformed.
    #[error(".manifest: {0}")]
    Manifest(String),
    /// A file is not where a Charter bundle keeps files, or not under a manifest root.
    #[error("`{path}`: {reason}")]
    Layout {
        /// The file.
        path: String,
        /// Why it does not belong.
        reason: String,
    },
    /// `.signatures.json` is malformed or holds other than one JWT.
    #[error(".signatures.json: {0}")]
    Signatures(String),
    /// The JWT is malformed, its key unknown or unusable, or its signature wrong.
    #[error("{0}")]
    Jwt(String),
    /// The signature's scope is not the configured one.
    #[error("scope mismatch: the signature says `{found}`, `{expected}` is required")]
    ScopeMismatch {
        /// The configured scope.
        expected: String,
        /// The payload's scope.
        found: String,
    },
    /// A file of the bundle that the signature does not list.
    #[error("file `{0}` not included in bundle signature")]
    NotSigned(String),
    /// Files the signature lists that the bundle does not hold.
    #[error("file(s) {0} specified in bundle signature but not found in the bundle")]
    SignedButMissing(String),
    /// The signature names a hashing algorithm OPA does not know.
    #[error("unsupported hashing algorithm: `{0}`")]
    HashAlgorithm(String),
    /// A file's hash is not the one signed.
    #[error("`{path}`: digest mismatch (want: {want}, got: {got})")]
    Digest {
        /// The file.
        path: String,
        /// The signed hash.
        want: String,
        /// The file's hash.
        got: String,
    },
    /// A structured file (`.manifest`, `data.json`) that is hashed as JSON does not parse.
    #[error("`{path}`: not a valid structured document: {message}")]
    Structured {
        /// The file.
        path: String,
        /// The parser's message.
        message: String,
    },
    /// No signature, but a verification key is configured.
    #[error("the bundle is not signed (no .signatures.json) but a verification key is configured")]
    Unsigned,
    /// A signature, but no verification key is configured.
    #[error("the bundle is signed (.signatures.json) but no verification key is configured")]
    UnexpectedSignature,
    /// A signing or verification key that cannot be used.
    #[error("{0}")]
    Key(String),
}
