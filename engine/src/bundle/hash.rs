//! File hashes of a signed bundle, as OPA computes them: the raw bytes of most files, and
//! the canonical JSON (keys sorted, no whitespace) of structured ones (`.manifest`,
//! `data.json`, `data.yaml`), so a signature does not depend on formatting.

use std::fmt::Write as _;

use md5::Md5;
use serde_json::Value as Json;
use sha1::Sha1;
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512, Sha512_224, Sha512_256};

use super::error::BundleError;

/// A hashing algorithm a signature may name for a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    /// MD5 (accepted for OPA compatibility; never written by Charter).
    Md5,
    /// SHA-1 (accepted for OPA compatibility; never written by Charter).
    Sha1,
    /// SHA-224.
    Sha224,
    /// SHA-256, what Charter writes.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// SHA-512/224.
    Sha512_224,
    /// SHA-512/256.
    Sha512_256,
}

impl HashAlgorithm {
    /// Parses OPA's names (`SHA-256`), case-insensitively and with or without the dash.
    ///
    /// # Errors
    /// A name OPA does not know.
    pub fn parse(name: &str) -> Result<Self, BundleError> {
        let key: String = name
            .chars()
            .filter(|c| *c != '-' && *c != '_')
            .collect::<String>()
            .to_ascii_uppercase();
        Ok(match key.as_str() {
            "MD5" => Self::Md5,
            "SHA1" => Self::Sha1,
            "SHA224" => Self::Sha224,
            "SHA256" => Self::Sha256,
            "SHA384" => Self::Sha384,
            "SHA512" => Self::Sha512,
            "SHA512224" => Self::Sha512_224,
            "SHA512256" => Self::Sha512_256,
            _ => return Err(BundleError::HashAlgorithm(name.to_owned())),
        })
    }

    /// OPA's name of the algorithm.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Self::Md5 => "MD5",
            Self::Sha1 => "SHA-1",
            Self::Sha224 => "SHA-224",
            Self::Sha256 => "SHA-256",
            Self::Sha384 => "SHA-384",
            Self::Sha512 => "SHA-512",
            Self::Sha512_224 => "SHA-512-224",
            Self::Sha512_256 => "SHA-512-256",
        }
    }

    /// The digest of `bytes`, in lowercase hex.
    #[must_use]
    pub fn hex(self, bytes: &[u8]) -> String {
        let digest: Vec<u8> = match self {
            Self::Md5 => Md5::digest(bytes).to_vec(),
            Self::Sha1 => Sha1::digest(bytes).to_vec(),
            Self::Sha224 => Sha224::digest(bytes).to_vec(),
            Self::Sha256 => Sha256::digest(bytes).to_vec(),
            Self::Sha384 => Sha384::digest(bytes).to_vec(),
            Self::Sha512 => Sha512::digest(bytes).to_vec(),
            Self::Sha512_224 => Sha512_224::digest(bytes).to_vec(),
            Self::Sha512_256 => Sha512_256::digest(bytes).to_vec(),
        };
        digest.iter().fold(String::with_capacity(64), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
    }
}

/// Whether OPA hashes a file as a JSON document rather than as bytes.
#[must_use]
pub fn is_structured(path: &str) -> bool {
    let base = path.rsplit('/').next().unwrap_or(path);
    matches!(
        base,
        ".manifest" | ".signatures.json" | "data.json" | "data.yaml"
    )
}

/// The bytes a file's hash is computed over: the file itself, or its canonical JSON.
///
/// # Errors
/// A structured file that does not parse.
pub fn hashed_bytes(path: &str, bytes: &[u8]) -> Result<Vec<u8>, BundleError> {
    if !is_structured(path) {
        return Ok(bytes.to_vec());
    }
    let value: Json = if path.ends_with(".yaml") {
        let text = std::str::from_utf8(bytes).map_err(|e| BundleError::Structured {
            path: path.to_owned(),
            message: e.to_string(),
        })?;
        yaml_serde::from_str(text).map_err(|e| BundleError::Structured {
            path: path.to_owned(),
            message: e.to_string(),
        })?
    } else {
        serde_json::from_slice(bytes).map_err(|e| BundleError::Structured {
            path: path.to_owned(),
            message: e.to_string(),
        })?
    };
    let mut out = String::with_capacity(bytes.len());
    canonical(&value, &mut out);
    Ok(out.into_bytes())
}

/// Writes `value` as OPA hashes it: object keys sorted bytewise, no whitespace, strings
/// escaped as Go's `encoding/json` escapes them (`<`, `>`, `&`, U+2028 and U+2029 too).
///
/// Numbers are written in serde_json's shortest form; OPA keeps a number's literal text, so
/// a structured file holding a number written unusually (`1.50`, `1e3`) hashes differently.
pub fn canonical(value: &Json, out: &mut String) {
    match value {
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => {
            let _ = write!(out, "{n}");
        }
        Json::String(s) => go_string(s, out),
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                canonical(item, out);
            }
            out.push(']');
        }
        Json::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, key) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                go_string(key, out);
                out.push(':');
                canonical(&map[key], out);
            }
            out.push('}');
        }
    }
}

fn go_string(s: &str, out: &mut String) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '<' | '>' | '&' | '\u{2028}' | '\u{2029}' => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn structured_files_hash_their_canonical_json() {
        let a = hashed_bytes(
            ".manifest",
            b"{ \"roots\": [\"a\"],\n \"revision\": \"r<1>\" }",
        )
        .unwrap_or_default();
        assert_eq!(
            String::from_utf8_lossy(&a),
            r#"{"revision":"r\u003c1\u003e","roots":["a"]}"#
        );
        let raw = hashed_bytes("rego/a.rego", b"package a\n").unwrap_or_default();
        assert_eq!(raw, b"package a\n");
    }

    #[test]
    fn algorithm_names_are_opas() {
        for name in ["MD5", "sha-256", "SHA256", "SHA-512-224", "sha1"] {
            assert!(HashAlgorithm::parse(name).is_ok(), "{name}");
        }
        assert!(HashAlgorithm::parse("MD6").is_err());
        // RFC 6234 test vector.
        assert_eq!(
            HashAlgorithm::Sha256.hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
