//! Bundle files as both `charter bundle` and `charter serve --bundle-url` handle them: the
//! verification key flags, opening (read, verify, check the layout) and atomic writes.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use charter_engine::bundle::{self, Bundle, Contents, KeyConfig, VerificationConfig, Verified};
use clap::Args;

/// How a bundle is verified (shared with `charter serve --bundle-url`).
#[derive(Args, Debug, Clone, Default)]
pub struct VerifyKeyArgs {
    /// The key bundles must be signed with: a PEM public key (RSA, EC) or an HS256 secret file.
    #[arg(long, value_name = "PEM")]
    pub verification_key: Option<PathBuf>,
    /// The key's algorithm [default: RS256 or ES256 for a PEM key by its type, else HS256].
    #[arg(long, value_name = "ALG", requires = "verification_key")]
    pub verification_alg: Option<String>,
    /// The key's id; it is used whatever key id the signature names (as OPA does).
    #[arg(long, value_name = "ID", requires = "verification_key")]
    pub verification_key_id: Option<String>,
    /// The scope the signature must carry.
    #[arg(long, value_name = "SCOPE", requires = "verification_key")]
    pub verification_scope: Option<String>,
}

impl VerifyKeyArgs {
    /// The verification configuration, the key read and checked; `None` without a key.
    ///
    /// # Errors
    /// The key file cannot be read or is not a key of its algorithm.
    pub fn config(&self) -> anyhow::Result<Option<VerificationConfig>> {
        let Some(path) = &self.verification_key else {
            return Ok(None);
        };
        let key = std::fs::read(path)
            .with_context(|| format!("cannot read the verification key `{}`", path.display()))?;
        let key = match &self.verification_alg {
            Some(alg) => KeyConfig {
                key,
                algorithm: alg.to_ascii_uppercase(),
                scope: String::new(),
            },
            None => KeyConfig::infer(key)?,
        };
        key.decoding_key()
            .with_context(|| format!("the verification key `{}`", path.display()))?;
        let id = self
            .verification_key_id
            .clone()
            .unwrap_or_else(|| "default".to_owned());
        Ok(Some(VerificationConfig {
            keys: [(id.clone(), key)].into(),
            key_id: id,
            scope: self.verification_scope.clone().unwrap_or_default(),
        }))
    }
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename.
///
/// # Errors
/// The file cannot be written.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot write in `{}`", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot write `{}`", path.display()))?;
    Ok(())
}

/// Reads, verifies and checks the layout of a bundle: the contents, or why it is refused.
///
/// # Errors
/// The outer error: the bundle could not be checked; the inner: it is invalid.
pub fn open(
    bytes: &[u8],
    config: Option<&VerificationConfig>,
) -> Result<(Contents, Verified), bundle::BundleError> {
    let bundle = Bundle::read(bytes, bundle::archive::DEFAULT_MAX_UNPACKED)?;
    let verified = bundle.verify(config)?;
    let contents = bundle.contents()?;
    Ok((contents, verified))
}
