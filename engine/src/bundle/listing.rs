//! What a bundle holds, for `charter bundle inspect`: its manifest, its signature's header
//! (not verified) and every file with its size and SHA-256.

use serde::Serialize;

use super::Bundle;
use super::hash::HashAlgorithm;
use super::manifest::Manifest;

/// A bundle's contents, listed.
#[derive(Debug, Clone, Serialize)]
pub struct Listing<'a> {
    /// The parsed `.manifest`.
    pub manifest: &'a Manifest,
    /// The signature's algorithm and key id, read from the first JWT without verifying it.
    pub signature: Option<SignatureHeader>,
    /// Every file but `.signatures.json`, by path.
    pub files: Vec<ListedFile<'a>>,
}

/// The header of a bundle's signature.
#[derive(Debug, Clone, Serialize)]
pub struct SignatureHeader {
    /// The JWT's `alg`.
    pub alg: String,
    /// The JWT's `kid`, when it names one.
    pub kid: Option<String>,
}

/// One file of a bundle.
#[derive(Debug, Clone, Serialize)]
pub struct ListedFile<'a> {
    /// Its path in the bundle.
    pub path: &'a str,
    /// Its size in bytes.
    pub size: usize,
    /// Its SHA-256, in lowercase hex.
    pub sha256: String,
}

impl Bundle {
    /// Lists what the bundle holds (hashing every file).
    #[must_use]
    pub fn listing(&self) -> Listing<'_> {
        Listing {
            manifest: &self.manifest,
            signature: self
                .signature_header()
                .map(|(alg, kid)| SignatureHeader { alg, kid }),
            files: self
                .files
                .iter()
                .map(|(path, data)| ListedFile {
                    path,
                    size: data.len(),
                    sha256: HashAlgorithm::Sha256.hex(data),
                })
                .collect(),
        }
    }
}
