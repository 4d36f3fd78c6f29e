//! `.manifest`: the bundle's revision, the roots it owns and Charter's metadata.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value as Json};

use super::error::BundleError;

/// The name of the manifest file.
pub const MANIFEST_FILE: &str = ".manifest";

/// The root every Charter bundle owns (its Rego packages are `charter.*`).
pub const CHARTER_ROOT: &str = "charter";

/// What `.manifest` says (OPA's fields; Charter's own under `metadata.charter`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// The bundle's revision.
    #[serde(default)]
    pub revision: String,
    /// The data and policy paths the bundle owns; absent: all of them (`""`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub roots: Option<Vec<String>>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub metadata: Map<String, Json>,
}

/// Charter's part of the metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CharterMetadata {
    /// The Charter version that built the bundle.
    pub version: String,
    /// The policy pack's content hash.
    pub policies_revision: String,
    /// The mesh's content hash.
    pub mesh_revision: String,
    /// The principal directory's path in the bundle, when it holds one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principals: Option<String>,
}

impl Manifest {
    /// Parses `.manifest`.
    ///
    /// # Errors
    /// Not a JSON object of the manifest's fields.
    pub fn parse(bytes: &[u8]) -> Result<Self, BundleError> {
        serde_json::from_slice(bytes).map_err(|e| BundleError::Manifest(e.to_string()))
    }

    /// The manifest's bytes (compact JSON, fields in a fixed order).
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Charter's metadata.
    ///
    /// # Errors
    /// Absent or malformed: the bundle was not built by `charter bundle build`.
    pub fn charter(&self) -> Result<CharterMetadata, BundleError> {
        let value = self.metadata.get("charter").ok_or_else(|| {
            BundleError::Manifest(
                "no `metadata.charter`: not a bundle built by `charter bundle build`".into(),
            )
        })?;
        serde_json::from_value(value.clone())
            .map_err(|e| BundleError::Manifest(format!("`metadata.charter`: {e}")))
    }

    /// Whether `path` lies under one of the roots (every path does without roots).
    #[must_use]
    pub fn owns(&self, path: &str) -> bool {
        let Some(roots) = &self.roots else {
            return true;
        };
        roots.iter().any(|root| {
            let root = root.trim_matches('/');
            root.is_empty()
                || path == root
                || path
                    .strip_prefix(root)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
    }
}
