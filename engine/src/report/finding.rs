//! A finding: one rule's verdict on one place in one contract.

use std::fmt;

use serde::{Deserialize, Serialize};

/// How bad a finding is. Ordered: `Warning < Error`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Reported, fails the run only with `--fail-on warning`.
    Warning,
    /// Fails the run with the default `--fail-on error`.
    Error,
}

impl Severity {
    /// `error` or `warning`.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    /// The rule id, `<area>/<name>` (`pii/masking_required`, `contract/parse`).
    pub rule: String,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong, for a person.
    pub message: String,
    /// The product id, when the file was read as a product.
    pub product: Option<String>,
    /// The product's domain, when known.
    pub domain: Option<String>,
    /// The file, relative to the repository root, `/`-separated.
    pub file: String,
    /// 1-based line of the key that caused the finding.
    pub line: u32,
    /// The live waiver that covers this finding, if any: shown, never failing the run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub waiver: Option<Waived>,
}

/// What a waived finding shows of its waiver.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Waived {
    /// Why the finding is accepted.
    pub reason: String,
    /// Who approved it.
    pub approved_by: String,
    /// When the waiver expires (`YYYY-MM-DD`).
    pub expires: String,
}

impl Finding {
    /// Whether the finding counts against compliance and the exit code (it is not waived).
    #[must_use]
    pub fn counts(&self) -> bool {
        self.waiver.is_none()
    }

    /// The deterministic order of findings: file, line, rule, message.
    #[must_use]
    pub fn sort_key(&self) -> (&str, u32, &str, &str) {
        (&self.file, self.line, &self.rule, &self.message)
    }
}
