//! Policy bundles: a policy pack, the contracts of a mesh and a principal directory in
//! one `.tar.gz` laid out like an OPA bundle, optionally signed as OPA signs bundles.
//!
//! ```text
//! .manifest                      {"revision": …, "roots": ["charter"], "metadata": {"charter": {…}}}
//! .signatures.json               {"signatures": ["<JWT listing every file with its hash>"]}
//! charter/policies/rego/…        the pack, as `--policies` lays it out
//! charter/contracts/…            the contracts, as the mesh folder lays them out
//! charter/principals.yaml        the principal directory, when there is one
//! ```
//!
//! [`archive`] writes and reads the tar; [`manifest`] is `.manifest`; [`hash`] hashes files
//! as OPA does; [`signature`] signs and verifies the JWT.

pub mod archive;
pub mod error;
pub mod hash;
mod listing;
pub mod manifest;
pub mod signature;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

pub use error::BundleError;
pub use listing::{ListedFile, Listing, SignatureHeader};
pub use manifest::{CHARTER_ROOT, CharterMetadata, MANIFEST_FILE, Manifest};
pub use signature::{
    FileInfo, KeyConfig, SIGNATURES_FILE, SigningKey, VerificationConfig, verify_file,
    verify_signatures,
};

/// Where the policy pack lives in a bundle.
pub const POLICIES_DIR: &str = "charter/policies";
/// Where the contracts live in a bundle.
pub const CONTRACTS_DIR: &str = "charter/contracts";
/// Where the principal directory lives in a bundle.
pub const PRINCIPALS_FILE: &str = "charter/principals.yaml";

/// What a Charter bundle carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Contents {
    /// The revision written in the manifest.
    pub revision: String,
    /// Charter's metadata.
    pub metadata: Option<CharterMetadata>,
    /// Pack files by path relative to the pack.
    pub policies: BTreeMap<String, Vec<u8>>,
    /// Contract files by path relative to the mesh.
    pub contracts: BTreeMap<String, Vec<u8>>,
    /// The principal directory file.
    pub principals: Option<Vec<u8>>,
}

/// Where [`Contents::write_to`] put the files.
#[derive(Debug, Clone)]
pub struct Unpacked {
    /// The pack folder.
    pub policies: PathBuf,
    /// The mesh folder.
    pub mesh: PathBuf,
    /// The principal directory file.
    pub principals: Option<PathBuf>,
}

impl Contents {
    /// The bundle's `.tar.gz`, signed with `key` when given. Same contents, same bytes
    /// (except ES256 signatures, which are randomized by the algorithm).
    ///
    /// # Errors
    /// No metadata, a path that cannot be stored, or a signing failure.
    pub fn build(&self, key: Option<&SigningKey>) -> Result<Vec<u8>, BundleError> {
        let mut metadata = self
            .metadata
            .clone()
            .ok_or_else(|| BundleError::Manifest("no Charter metadata to write".into()))?;
        metadata.principals = self.principals.as_ref().map(|_| PRINCIPALS_FILE.to_owned());
        let mut manifest = Manifest {
            revision: self.revision.clone(),
            roots: Some(vec![CHARTER_ROOT.to_owned()]),
            metadata: serde_json::Map::new(),
        };
        manifest.metadata.insert(
            "charter".into(),
            serde_json::to_value(&metadata).map_err(|e| BundleError::Manifest(e.to_string()))?,
        );
        let mut files = BTreeMap::new();
        files.insert(MANIFEST_FILE.to_owned(), manifest.to_bytes());
        for (path, bytes) in &self.policies {
            files.insert(format!("{POLICIES_DIR}/{path}"), bytes.clone());
        }
        for (path, bytes) in &self.contracts {
            files.insert(format!("{CONTRACTS_DIR}/{path}"), bytes.clone());
        }
        if let Some(principals) = &self.principals {
            files.insert(PRINCIPALS_FILE.to_owned(), principals.clone());
        }
        if let Some(key) = key {
            let signatures = key.sign(&files)?;
            files.insert(SIGNATURES_FILE.to_owned(), signatures);
        }
        archive::write(&files)
    }

    /// Writes the pack, the contracts and the directory below `dir` (which must be empty).
    ///
    /// # Errors
    /// A file cannot be written.
    pub fn write_to(&self, dir: &Path) -> std::io::Result<Unpacked> {
        let unpacked = Unpacked {
            policies: dir.join("policies"),
            mesh: dir.join("contracts"),
            principals: self
                .principals
                .as_ref()
                .map(|_| dir.join("principals.yaml")),
        };
        std::fs::create_dir_all(&unpacked.policies)?;
        std::fs::create_dir_all(&unpacked.mesh)?;
        let put = |root: &Path, rel: &str, bytes: &[u8]| -> std::io::Result<()> {
            let path = root.join(rel);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, bytes)
        };
        for (rel, bytes) in &self.policies {
            put(&unpacked.policies, rel, bytes)?;
        }
        for (rel, bytes) in &self.contracts {
            put(&unpacked.mesh, rel, bytes)?;
        }
        if let (Some(path), Some(bytes)) = (&unpacked.principals, &self.principals) {
            std::fs::write(path, bytes)?;
        }
        Ok(unpacked)
    }
}

/// A bundle read from its archive (not yet verified).
#[derive(Debug, Clone)]
pub struct Bundle {
    /// Every file but `.signatures.json`, by path.
    pub files: BTreeMap<String, Vec<u8>>,
    /// The parsed `.manifest`.
    pub manifest: Manifest,
    /// The JWTs of `.signatures.json`, when the bundle has one.
    pub signatures: Option<Vec<String>>,
}

/// How a bundle's signature was found to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// Unsigned, and no key configured.
    Unsigned,
    /// Signed, and every file matches the signature.
    Signed {
        /// The files the signature lists.
        files: usize,
    },
}

impl Bundle {
    /// Reads a `.tar.gz`, refusing more than `max_unpacked` bytes unpacked.
    ///
    /// # Errors
    /// Not a safe gzipped tar, or no valid `.manifest`.
    pub fn read(bytes: &[u8], max_unpacked: u64) -> Result<Self, BundleError> {
        let mut files = archive::read(bytes, max_unpacked)?;
        let signatures = files
            .remove(SIGNATURES_FILE)
            .map(|raw| signature::parse_signatures_file(&raw))
            .transpose()?;
        let manifest = Manifest::parse(
            files
                .get(MANIFEST_FILE)
                .ok_or_else(|| BundleError::Manifest("missing from the bundle".into()))?,
        )?;
        Ok(Self {
            files,
            manifest,
            signatures,
        })
    }

    /// Checks the signature against `config` (OPA's rules: unsigned with a key configured,
    /// or signed without one, is refused), then every file against the signature.
    ///
    /// # Errors
    /// The first problem found, naming the file or claim at fault.
    pub fn verify(&self, config: Option<&VerificationConfig>) -> Result<Verified, BundleError> {
        let (signatures, config) = match (&self.signatures, config) {
            (None, None) => return Ok(Verified::Unsigned),
            (None, Some(_)) => return Err(BundleError::Unsigned),
            (Some(_), None) => return Err(BundleError::UnexpectedSignature),
            (Some(signatures), Some(config)) => (signatures, config),
        };
        let mut signed = verify_signatures(signatures, config)?;
        let count = signed.len();
        for (path, bytes) in &self.files {
            verify_file(path, bytes, &mut signed)?;
        }
        if !signed.is_empty() {
            let names: Vec<String> = signed.keys().map(|k| format!("`{k}`")).collect();
            return Err(BundleError::SignedButMissing(names.join(", ")));
        }
        Ok(Verified::Signed { files: count })
    }

    /// The JWT header's `alg` and `kid`, unverified (for `charter bundle inspect`).
    #[must_use]
    pub fn signature_header(&self) -> Option<(String, Option<String>)> {
        use base64::Engine as _;
        let token = self.signatures.as_ref()?.first()?;
        let header = token.split('.').next()?;
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(header.trim_end_matches('='))
            .ok()?;
        let json: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
        let field = |name: &str| json.get(name).and_then(|v| v.as_str()).map(str::to_owned);
        Some((field("alg").unwrap_or_default(), field("kid")))
    }

    /// The pack, contracts and directory, checking the layout: every file under a root the
    /// manifest declares and in a place a Charter bundle keeps files.
    ///
    /// # Errors
    /// No Charter metadata, or a file out of place.
    pub fn contents(&self) -> Result<Contents, BundleError> {
        let metadata = self.manifest.charter()?;
        let mut contents = Contents {
            revision: self.manifest.revision.clone(),
            metadata: Some(metadata.clone()),
            ..Contents::default()
        };
        let misplaced = |path: &str, reason: &str| BundleError::Layout {
            path: path.to_owned(),
            reason: reason.to_owned(),
        };
        for (path, bytes) in &self.files {
            if path == MANIFEST_FILE {
                continue;
            }
            if !self.manifest.owns(path) {
                return Err(misplaced(path, "not under a root the manifest declares"));
            }
            if let Some(rel) = under(path, POLICIES_DIR) {
                contents.policies.insert(rel.to_owned(), bytes.clone());
            } else if let Some(rel) = under(path, CONTRACTS_DIR) {
                contents.contracts.insert(rel.to_owned(), bytes.clone());
            } else if metadata.principals.as_deref() == Some(path.as_str()) {
                contents.principals = Some(bytes.clone());
            } else {
                return Err(misplaced(
                    path,
                    "a Charter bundle holds only .manifest, .signatures.json, charter/policies/, charter/contracts/ and the principal directory",
                ));
            }
        }
        if let Some(principals) = &metadata.principals
            && contents.principals.is_none()
        {
            return Err(misplaced(
                principals,
                "the manifest names it but the bundle does not hold it",
            ));
        }
        Ok(contents)
    }
}

fn under<'a>(path: &'a str, dir: &str) -> Option<&'a str> {
    path.strip_prefix(dir)
        .and_then(|rest| rest.strip_prefix('/'))
        .filter(|rest| !rest.is_empty())
}
