//! Format detection and the entry point for reading one contract file.

use std::sync::Arc;

use serde::de::DeserializeOwned;
use serde_json::Value as Json;

use super::limits::ContractLimits;
use super::lines::line_at;
use super::locate::LineIndex;
use super::locations::Locations;
use super::model::Product;
use super::{odcs, seed};
use crate::projection::Need;

/// A contract read from a file: the normalized product, where its values are written,
/// and a content hash of the file's bytes.
#[derive(Debug, Clone, PartialEq)]
pub struct Contract {
    /// The normalized product (the Rego `input`).
    pub product: Product,
    /// Source lines of the product's values.
    pub locations: Locations,
    /// blake3 of the file's bytes (hex), for caches and revisions.
    pub hash: String,
    /// The product as Rego input, converted once and shared by every stage that evaluates it.
    input: std::sync::OnceLock<Converted>,
}

/// The product as Rego input: all of it, or the part a pack's rules read.
#[derive(Debug, Clone, PartialEq)]
struct Converted {
    value: regorus::Value,
    /// What was kept (`None`: everything).
    need: Option<Arc<Need>>,
}

impl Contract {
    /// The product as the Rego `input` value, all of it (converted on first use, then
    /// shared).
    ///
    /// # Errors
    /// The product holds a value Rego cannot represent (the conversion's message).
    pub fn rego_input(&self) -> Result<regorus::Value, String> {
        if let Some(Converted { value, need: None }) = self.input.get() {
            return Ok(value.clone());
        }
        let value = crate::rules::rego_value::to_value(&self.product)?;
        // Kept for later stages unless a projection was kept first.
        let _ = self.input.set(Converted {
            value: value.clone(),
            need: None,
        });
        Ok(value)
    }

    /// The part of the Rego `input` value that `need` keeps (see
    /// [`Need::project`](crate::projection::Need)): all that rules which read only
    /// that can observe. Converted on first use and shared; the whole value, when it was
    /// converted first, serves as well.
    pub(crate) fn rego_input_projected(&self, need: &Arc<Need>) -> Result<regorus::Value, String> {
        if let Some(converted) = self.input.get() {
            let serves = converted
                .need
                .as_ref()
                .is_none_or(|kept| Arc::ptr_eq(kept, need) || kept == need);
            if serves {
                return Ok(converted.value.clone());
            }
        }
        let value = crate::rules::rego_value::to_value_projected(&self.product, need)?;
        let _ = self.input.set(Converted {
            value: value.clone(),
            need: Some(need.clone()),
        });
        Ok(value)
    }

    /// Drops the converted Rego input (about 20 KB for a typical product), for a contract
    /// kept after its rules ran; [`Contract::rego_input`] converts it again if asked.
    pub(crate) fn forget_rego_input(&mut self) {
        self.input = std::sync::OnceLock::new();
    }
}

/// A file that is not a readable contract: not YAML, an unknown format, or wrong types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ParseError {
    /// 1-based line of the problem.
    pub line: u32,
    /// What is wrong and what was expected.
    pub message: String,
}

impl ParseError {
    pub(crate) fn new(line: u32, message: impl Into<String>) -> Self {
        Self {
            line,
            message: message.into(),
        }
    }
}

/// What the readers take from the central settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReaderSettings {
    /// ODCS `classification` values that mean a property holds personal data.
    pub pii_classifications: Vec<String>,
    /// Tags that mean a property holds personal data (ODCS and seed format).
    pub pii_tags: Vec<String>,
    /// ODCS `customProperties` names that give a property's masking method.
    pub masking_properties: Vec<String>,
    /// Limits on the YAML of one file (line length, nesting, nodes).
    pub limits: ContractLimits,
}

impl Default for ReaderSettings {
    fn default() -> Self {
        Self {
            pii_classifications: vec![
                "pii".into(),
                "personal".into(),
                "personal-data".into(),
                "sensitive-personal".into(),
            ],
            pii_tags: vec![
                "pii".into(),
                "personal-data".into(),
                "gdpr".into(),
                "sensitive".into(),
            ],
            masking_properties: vec!["masking".into(), "maskingMethod".into()],
            limits: ContractLimits::default(),
        }
    }
}

impl ReaderSettings {
    /// Reads `odcs.pii_classifications`, `odcs.pii_tags` and `odcs.masking_properties`
    /// from the central settings, keeping the defaults for what they do not say.
    #[must_use]
    pub fn from_settings(settings: &Json) -> Self {
        let mut out = Self::default();
        let list = |key: &str| -> Option<Vec<String>> {
            settings
                .pointer(&format!("/odcs/{key}"))?
                .as_array()
                .map(|items| {
                    items
                        .iter()
                        .filter_map(|v| v.as_str().map(str::to_owned))
                        .collect()
                })
        };
        if let Some(v) = list("pii_classifications") {
            out.pii_classifications = v;
        }
        if let Some(v) = list("pii_tags") {
            out.pii_tags = v;
        }
        if let Some(v) = list("masking_properties") {
            out.masking_properties = v;
        }
        out
    }

    pub(crate) fn is_pii_tag(&self, tag: &str) -> bool {
        self.pii_tags.iter().any(|t| t.eq_ignore_ascii_case(tag))
    }

    pub(crate) fn is_pii_classification(&self, class: &str) -> bool {
        self.pii_classifications
            .iter()
            .any(|c| c.eq_ignore_ascii_case(class))
    }
}

/// Reads one contract from raw bytes: checks the encoding, then [`read`]s it.
///
/// # Errors
/// Bytes that are not UTF-8 or hold NUL characters, and everything [`read`] refuses.
pub fn read_bytes(
    file: &str,
    bytes: &[u8],
    settings: &ReaderSettings,
) -> Result<Contract, ParseError> {
    read_bytes_hashed(file, bytes, settings, blake3::hash(bytes))
}

/// [`read_bytes`], with the bytes' hash already computed (the caller keyed a cache by it).
pub(crate) fn read_bytes_hashed(
    file: &str,
    bytes: &[u8],
    settings: &ReaderSettings,
    hash: blake3::Hash,
) -> Result<Contract, ParseError> {
    check_size(bytes, settings)?;
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let line = line_at(bytes, e.valid_up_to());
        ParseError::new(
            line,
            format!(
                "file is not UTF-8 text (invalid byte at offset {})",
                e.valid_up_to()
            ),
        )
    })?;
    if let Some(pos) = text.find('\0') {
        return Err(ParseError::new(
            line_at(bytes, pos),
            "file holds a NUL character; contracts are YAML text",
        ));
    }
    read_hashed(
        file,
        text.strip_prefix('\u{feff}').unwrap_or(text),
        settings,
        hash,
    )
}

/// Reads one contract from its text, detecting the format from `apiVersion` and `kind`.
///
/// `file` is the path findings will show (relative to the repository root).
///
/// # Errors
/// The text is not YAML, not a known format, or has wrong types.
pub fn read(file: &str, text: &str, settings: &ReaderSettings) -> Result<Contract, ParseError> {
    check_size(text.as_bytes(), settings)?;
    read_hashed(file, text, settings, blake3::hash(text.as_bytes()))
}

fn check_size(bytes: &[u8], settings: &ReaderSettings) -> Result<(), ParseError> {
    settings
        .limits
        .check_size(bytes.len() as u64)
        .map_err(|message| ParseError::new(1, message))
}

/// [`read`], with the content hash of the file (its bytes, not the decoded text) given.
fn read_hashed(
    file: &str,
    text: &str,
    settings: &ReaderSettings,
    hash: blake3::Hash,
) -> Result<Contract, ParseError> {
    read_text(file, text, settings, hash).map_err(|mut e| {
        // The parser reports an error "at the end of the stream" one line past the last
        // line of a file without a final line break; a finding points inside the file.
        let last = u32::try_from(super::lines::lines(text.as_bytes()).count()).unwrap_or(u32::MAX);
        e.line = e.line.clamp(1, last);
        e
    })
}

fn read_text(
    file: &str,
    text: &str,
    settings: &ReaderSettings,
    hash: blake3::Hash,
) -> Result<Contract, ParseError> {
    settings.limits.check(text)?;
    let (kind, api_version) = match header(text) {
        Some(found) => found,
        None => {
            // Not a plain block-style header: let the event parser say what the file is.
            let index = LineIndex::build(text);
            if let Some((line, message)) = index.syntax_error() {
                return Err(syntax_error(text).unwrap_or_else(|| {
                    ParseError::new(line, format!("not valid YAML: {message}"))
                }));
            }
            if index.is_empty_document() {
                return Err(ParseError::new(
                    1,
                    "empty file; expected a data-product contract",
                ));
            }
            if !index.is_mapping() {
                return Err(ParseError::new(
                    1,
                    "expected a mapping with `apiVersion` and `kind` at the top of the file",
                ));
            }
            (
                index.top_scalar("kind").map(str::to_owned),
                index.top_scalar("apiVersion").map(str::to_owned),
            )
        }
    };
    let key_line = |key: &str| line_of(text, key);
    let (mut product, map) = match (kind.as_deref(), api_version.as_deref()) {
        (Some("DataProduct"), Some("datamesh.io/v1")) => seed::read(text, settings)?,
        (Some("DataContract"), Some(v)) if v.starts_with("v3.") || v.starts_with('3') => {
            odcs::read(text, settings)?
        }
        (Some("DataProduct"), v) => {
            return Err(ParseError::new(
                key_line("apiVersion"),
                format!(
                    "unsupported apiVersion `{}` for kind `DataProduct`; expected `datamesh.io/v1`",
                    v.unwrap_or("")
                ),
            ));
        }
        (Some("DataContract"), v) => {
            return Err(ParseError::new(
                key_line("apiVersion"),
                format!(
                    "unsupported ODCS apiVersion `{}`; expected `v3.0.x` or `v3.1.x`",
                    v.unwrap_or("")
                ),
            ));
        }
        (other, _) => {
            // A file that is not YAML at all says so before anything else.
            if let Some(e) = syntax_error(text) {
                return Err(e);
            }
            return Err(ParseError::new(
                if other.is_some() { key_line("kind") } else { 1 },
                format!(
                    "unknown contract format (kind `{}`); expected `kind: DataProduct` with `apiVersion: datamesh.io/v1`, or `kind: DataContract` (ODCS v3)",
                    other.unwrap_or("missing")
                ),
            ));
        }
    };
    file.clone_into(&mut product.source.file);
    let source: Arc<str> = Arc::from(text);
    Ok(Contract {
        product,
        locations: Locations::new(source, map),
        hash: hash.to_hex().to_string(),
        input: std::sync::OnceLock::new(),
    })
}

/// `kind` and `apiVersion` from top-level block-style lines (`kind: DataProduct`), without
/// parsing the document. `None` when the file does not read that way; the caller then
/// asks the YAML parser.
fn header(text: &str) -> Option<(Option<String>, Option<String>)> {
    let mut kind = None;
    let mut api_version = None;
    for line in text.lines() {
        let value = |key: &str| {
            let rest = line.strip_prefix(key)?.strip_prefix(':')?;
            let rest = rest.split(" #").next().unwrap_or(rest).trim();
            let unquoted = rest.trim_matches(|c| c == '"' || c == '\'');
            (!unquoted.is_empty() && !unquoted.starts_with(['{', '[', '&', '*', '!', '|', '>']))
                .then(|| unquoted.to_owned())
        };
        if kind.is_none() {
            kind = value("kind").or_else(|| value("\"kind\""));
        }
        if api_version.is_none() {
            api_version = value("apiVersion").or_else(|| value("\"apiVersion\""));
        }
        if kind.is_some() && api_version.is_some() {
            break;
        }
    }
    kind.is_some().then_some((kind, api_version))
}

/// yaml_serde's message for a file that is not YAML, if it is not.
fn syntax_error(text: &str) -> Option<ParseError> {
    yaml_serde::from_str::<yaml_serde::Value>(text)
        .err()
        .map(|e| yaml_error(&e, "not valid YAML"))
}

/// The line of a document path (or its nearest ancestor); builds the line index, so only
/// for error paths.
pub(crate) fn line_of(text: &str, yaml_path: &str) -> u32 {
    LineIndex::build(text).line(yaml_path).unwrap_or(1)
}

/// Deserializes the typed document from the text, so that errors carry a line.
///
/// A wrong value is reported at its key (`spec.sla:`), not at the value below it; a file
/// that is not YAML at all is reported as such.
pub(crate) fn typed<T: DeserializeOwned>(text: &str) -> Result<T, ParseError> {
    yaml_serde::from_str::<T>(text).map_err(|e| {
        if let Some(syntax) = syntax_error(text) {
            return syntax;
        }
        let mut error = yaml_error(&e, "wrong type");
        if let Some(line) =
            failed_at::<T>(text).and_then(|path| LineIndex::build(text).exact(&path))
        {
            error.line = line;
        }
        error
    })
}

/// The document path (`spec.schema.fields[2].name`) at which deserializing `T` fails, as
/// serde walked it: taken from the deserializer, never parsed out of an error message.
/// `None` at the root. Only on the error path (it deserializes the text again).
fn failed_at<T: DeserializeOwned>(text: &str) -> Option<String> {
    let error =
        serde_path_to_error::deserialize::<_, T>(yaml_serde::Deserializer::from_str(text)).err()?;
    let path = error.path().to_string();
    (path != ".").then_some(path)
}

pub(crate) fn yaml_error(e: &yaml_serde::Error, what: &str) -> ParseError {
    let line = e
        .location()
        .map_or(1, |l| u32::try_from(l.line()).unwrap_or(u32::MAX));
    // yaml_serde appends " at line L column C"; the finding carries the line on its own.
    let message = e.to_string();
    let message = message
        .split(" at line ")
        .next()
        .unwrap_or(&message)
        .to_owned();
    ParseError::new(line, format!("{what}: {message}"))
}

/// Converts a duration field, with the line of its key on error.
pub(crate) fn duration_at(
    value: Option<String>,
    source: &str,
    yaml: &str,
) -> Result<Option<super::model::Duration>, ParseError> {
    value
        .map(|t| {
            super::parse_duration(&t)
                .map_err(|m| ParseError::new(line_of(source, yaml), format!("`{yaml}`: {m}")))
        })
        .transpose()
}
