//! Bundle signatures as OPA writes and checks them: `.signatures.json` holds exactly one
//! compact JWT whose payload lists every file with its hash; the key is chosen by the
//! configured key id, else the JWT's `kid` header, else the deprecated `keyid` claim.

use std::collections::BTreeMap;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
use serde::{Deserialize, Serialize};

use super::error::BundleError;
use super::hash::{HashAlgorithm, hashed_bytes};

/// The name of the signatures file.
pub const SIGNATURES_FILE: &str = ".signatures.json";

/// The algorithms a bundle may be signed with.
const ALGORITHMS: &[(&str, Algorithm)] = &[
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
    ("HS256", Algorithm::HS256),
    ("HS384", Algorithm::HS384),
    ("HS512", Algorithm::HS512),
];

fn algorithm(name: &str) -> Result<Algorithm, BundleError> {
    ALGORITHMS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, a)| *a)
        .ok_or_else(|| BundleError::Key(format!("unknown signature algorithm: `{name}`")))
}

fn is_hmac(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::HS256 | Algorithm::HS384 | Algorithm::HS512)
}

fn is_ec(alg: Algorithm) -> bool {
    matches!(alg, Algorithm::ES256 | Algorithm::ES384)
}

/// One file as a signature lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileInfo {
    /// The file's path in the bundle.
    pub name: String,
    /// Its hash, hex.
    pub hash: String,
    /// The hashing algorithm (`SHA-256`); OPA treats a missing one as an error.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub algorithm: String,
}

/// The JWT payload.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct DecodedSignature {
    /// Every signed file.
    pub files: Vec<FileInfo>,
    /// The deprecated key id claim.
    #[serde(default, rename = "keyid", skip_serializing_if = "String::is_empty")]
    pub key_id: String,
    /// The scope the bundle was signed for.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub scope: String,
}

/// A verification key: a PEM public key (RS*, PS*, ES*) or an HMAC secret (HS*).
#[derive(Debug, Clone)]
pub struct KeyConfig {
    /// The key's bytes.
    pub key: Vec<u8>,
    /// The algorithm it verifies (`RS256`).
    pub algorithm: String,
    /// The scope it requires when the configuration names none.
    pub scope: String,
}

impl KeyConfig {
    /// A key whose algorithm is taken from the key itself: a PEM RSA public key verifies
    /// RS256, a PEM EC one ES256, anything else is an HS256 secret.
    ///
    /// # Errors
    /// A PEM file that is neither an RSA nor an EC public key.
    pub fn infer(key: Vec<u8>) -> Result<Self, BundleError> {
        let algorithm = if !key.starts_with(b"-----BEGIN") {
            "HS256"
        } else if DecodingKey::from_rsa_pem(&key).is_ok() {
            "RS256"
        } else if DecodingKey::from_ec_pem(&key).is_ok() {
            "ES256"
        } else {
            return Err(BundleError::Key(
                "the verification key is PEM but neither an RSA nor an EC public key".into(),
            ));
        };
        Ok(Self {
            key,
            algorithm: algorithm.to_owned(),
            scope: String::new(),
        })
    }

    /// Parses the key for its algorithm.
    ///
    /// # Errors
    /// An unknown algorithm, or a key that is not a valid key of it.
    pub fn decoding_key(&self) -> Result<(Algorithm, DecodingKey), BundleError> {
        let alg = algorithm(&self.algorithm)?;
        let key = if is_hmac(alg) {
            DecodingKey::from_secret(&self.key)
        } else if is_ec(alg) {
            DecodingKey::from_ec_pem(&self.key).map_err(|e| {
                BundleError::Key(format!("failed to parse PEM block containing the key: {e}"))
            })?
        } else {
            DecodingKey::from_rsa_pem(&self.key).map_err(|e| {
                BundleError::Key(format!("failed to parse PEM block containing the key: {e}"))
            })?
        };
        Ok((alg, key))
    }
}

/// What a signature is checked with: keys by id, the key id to use (overriding the JWT's
/// own), and the required scope.
#[derive(Debug, Clone, Default)]
pub struct VerificationConfig {
    /// Keys by id.
    pub keys: BTreeMap<String, KeyConfig>,
    /// The key id to use whatever the JWT says; empty: the JWT's.
    pub key_id: String,
    /// The scope the signature must carry; empty: the key's.
    pub scope: String,
}

/// A signing key.
pub struct SigningKey {
    alg: Algorithm,
    name: &'static str,
    key: EncodingKey,
    key_id: Option<String>,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("alg", &self.name)
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A key of `algorithm` (`RS256`: PEM RSA private key; `ES256`: PEM PKCS#8 EC private
    /// key; `HS256`: the secret's bytes), and the key id written in the JWT header.
    ///
    /// # Errors
    /// An algorithm Charter does not sign with, or a key that is not one of it.
    pub fn new(name: &str, key: &[u8], key_id: Option<String>) -> Result<Self, BundleError> {
        let alg = algorithm(name)?;
        let (name, key) = match alg {
            Algorithm::RS256 => ("RS256", EncodingKey::from_rsa_pem(key)),
            Algorithm::ES256 => ("ES256", EncodingKey::from_ec_pem(key)),
            Algorithm::HS256 if key.is_empty() => {
                return Err(BundleError::Key("the HS256 secret is empty".into()));
            }
            Algorithm::HS256 => ("HS256", Ok(EncodingKey::from_secret(key))),
            _ => {
                return Err(BundleError::Key(format!(
                    "signing with `{name}` is not supported (RS256, ES256 or HS256)"
                )));
            }
        };
        let key = key
            .map_err(|e| BundleError::Key(format!("the {name} signing key cannot be used: {e}")))?;
        Ok(Self {
            alg,
            name,
            key,
            key_id,
        })
    }

    /// The algorithm's name.
    #[must_use]
    pub fn algorithm(&self) -> &'static str {
        self.name
    }

    /// `.signatures.json` for `files` (path and bytes, `.signatures.json` excluded).
    ///
    /// # Errors
    /// A structured file that does not parse, or a signing failure.
    pub fn sign(&self, files: &BTreeMap<String, Vec<u8>>) -> Result<Vec<u8>, BundleError> {
        let mut listed = Vec::with_capacity(files.len());
        for (name, bytes) in files {
            listed.push(FileInfo {
                name: name.clone(),
                hash: HashAlgorithm::Sha256.hex(&hashed_bytes(name, bytes)?),
                algorithm: HashAlgorithm::Sha256.name().to_owned(),
            });
        }
        let mut header = serde_json::json!({"alg": self.name, "typ": "JWT"});
        if let Some(kid) = &self.key_id {
            header["kid"] = serde_json::Value::String(kid.clone());
        }
        let payload = DecodedSignature {
            files: listed,
            key_id: String::new(),
            scope: String::new(),
        };
        let payload = serde_json::to_value(&payload)
            .map_err(|e| BundleError::Key(format!("cannot sign: {e}")))?;
        let encode = |v: &serde_json::Value| URL_SAFE_NO_PAD.encode(v.to_string());
        let message = format!("{}.{}", encode(&header), encode(&payload));
        let signature = jsonwebtoken::crypto::sign(message.as_bytes(), &self.key, self.alg)
            .map_err(|e| BundleError::Key(format!("cannot sign: {e}")))?;
        let file = serde_json::json!({ "signatures": [format!("{message}.{signature}")] });
        let mut bytes = file.to_string().into_bytes();
        bytes.push(b'\n');
        Ok(bytes)
    }
}

/// The JWTs of `.signatures.json`.
///
/// # Errors
/// The file is not `{"signatures": [strings]}`.
pub fn parse_signatures_file(bytes: &[u8]) -> Result<Vec<String>, BundleError> {
    #[derive(Deserialize)]
    struct File {
        signatures: Vec<String>,
    }
    serde_json::from_slice::<File>(bytes)
        .map(|f| f.signatures)
        .map_err(|e| BundleError::Signatures(e.to_string()))
}

/// Checks the one JWT of `signatures` and returns the files it signs, by name.
///
/// # Errors
/// Not exactly one JWT, or one that does not verify (see [`verify_jwt`]).
pub fn verify_signatures(
    signatures: &[String],
    config: &VerificationConfig,
) -> Result<BTreeMap<String, FileInfo>, BundleError> {
    let token = match signatures {
        [] => {
            return Err(BundleError::Signatures(
                "missing JWT (expected exactly one)".into(),
            ));
        }
        [one] => one,
        _ => {
            return Err(BundleError::Signatures(
                "multiple JWTs not supported (expected exactly one)".into(),
            ));
        }
    };
    let decoded = verify_jwt(token, config)?;
    let mut files = BTreeMap::new();
    for file in decoded.files {
        files.insert(normalize(&file.name).to_owned(), file);
    }
    Ok(files)
}

/// Verifies one compact JWT: its key (by id), its signature, its payload and scope.
///
/// # Errors
/// What is wrong, in OPA's words where OPA has them.
pub fn verify_jwt(
    token: &str,
    config: &VerificationConfig,
) -> Result<DecodedSignature, BundleError> {
    let jwt = |m: String| BundleError::Jwt(m);
    let parts: Vec<&str> = token.split('.').collect();
    let [header, payload, signature] = parts[..] else {
        return Err(jwt(
            "failed to split compact JWT: invalid number of segments".into(),
        ));
    };
    let header_json: serde_json::Value = decode_segment(header)
        .map_err(|e| jwt(format!("failed to extract key ID from headers: {e}")))?;
    let payload_json: serde_json::Value =
        decode_segment(payload).map_err(|e| jwt(format!("cannot decode the JWT payload: {e}")))?;
    let mut key_id = header_json
        .get("kid")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default()
        .to_owned();
    if key_id.is_empty() {
        key_id = payload_json
            .get("keyid")
            .and_then(serde_json::Value::as_str)
            .unwrap_or_default()
            .to_owned();
    }
    if !config.key_id.is_empty() {
        key_id.clone_from(&config.key_id);
    }
    if key_id.is_empty() {
        return Err(jwt("verification key ID is empty".into()));
    }
    let key_config = config.keys.get(&key_id).ok_or_else(|| {
        jwt(format!(
            "verification key corresponding to ID `{key_id}` not found"
        ))
    })?;
    let (alg, key) = key_config.decoding_key()?;
    let header_alg = header_json
        .get("alg")
        .and_then(serde_json::Value::as_str)
        .unwrap_or_default();
    if header_alg != key_config.algorithm {
        return Err(jwt(format!(
            "failed to verify JWT signature: the JWT is signed with `{header_alg}`, the key `{key_id}` verifies `{}`",
            key_config.algorithm
        )));
    }
    let message = &token[..header.len() + 1 + payload.len()];
    let valid = jsonwebtoken::crypto::verify(signature, message.as_bytes(), &key, alg)
        .map_err(|e| jwt(format!("failed to verify JWT signature: {e}")))?;
    if !valid {
        return Err(jwt(format!(
            "failed to verify JWT signature: the signature does not match the key `{key_id}`"
        )));
    }
    let decoded: DecodedSignature = serde_json::from_value(payload_json)
        .map_err(|e| jwt(format!("the JWT payload is not a bundle signature: {e}")))?;
    let scope = if config.scope.is_empty() {
        &key_config.scope
    } else {
        &config.scope
    };
    if &decoded.scope != scope {
        return Err(BundleError::ScopeMismatch {
            expected: scope.clone(),
            found: decoded.scope,
        });
    }
    Ok(decoded)
}

fn decode_segment(segment: &str) -> Result<serde_json::Value, String> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment.trim_end_matches('='))
        .map_err(|e| format!("failed to decode source: {e}"))?;
    serde_json::from_slice(&bytes).map_err(|e| format!("cannot parse JSON: {e}"))
}

/// Checks one file against the signed list, removing it from the list once checked.
///
/// # Errors
/// The file is not listed, names no or an unknown algorithm, or its hash differs.
pub fn verify_file(
    path: &str,
    bytes: &[u8],
    signed: &mut BTreeMap<String, FileInfo>,
) -> Result<(), BundleError> {
    let name = normalize(path);
    let file = signed
        .get(name)
        .ok_or_else(|| BundleError::NotSigned(path.to_owned()))?;
    if file.algorithm.is_empty() {
        return Err(BundleError::HashAlgorithm(String::new()));
    }
    let alg = HashAlgorithm::parse(&file.algorithm)?;
    let got = alg.hex(&hashed_bytes(name, bytes)?);
    if !got.eq_ignore_ascii_case(&file.hash) {
        return Err(BundleError::Digest {
            path: path.to_owned(),
            want: file.hash.clone(),
            got,
        });
    }
    signed.remove(name);
    Ok(())
}

/// A file name as signatures and archives compare it: without a leading `/` or `./`.
#[must_use]
pub fn normalize(name: &str) -> &str {
    let name = name.strip_prefix("./").unwrap_or(name);
    name.trim_start_matches('/')
}
