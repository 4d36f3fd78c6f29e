//! What `charter validate` finds: problems in a policy pack, each with its file, line and
//! column, and the validation result that gathers them.

use std::fmt;

use serde::Serialize;

use super::diagnostic::Diagnostic;
use crate::report::Severity;

/// Version of the JSON document of a [`Validation`]; bumped on any incompatible change.
pub const VALIDATION_VERSION: u32 = 1;

/// Which check found a problem; serialized as its [`name`](Check::name), `rego/parse`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// A Rego module does not parse.
    RegoParse,
    /// The Rego modules do not compile together (unsafe variables, unknown functions…).
    RegoCompile,
    /// A package outside `charter.rules.*`, `charter.mesh.*` and `charter.access*`.
    RegoPackage,
    /// A `deny_`/`warn_` rule that is not a set of messages or of `{msg, path?}` objects.
    RegoRuleShape,
    /// A `deny_`/`warn_` rule without a `# METADATA` title or description.
    RegoMetadata,
    /// An expression whose meaning differs between regorus and OPA.
    RegoPortability,
    /// The Cedar schema does not parse, or is missing.
    CedarSchema,
    /// A Cedar policy does not parse.
    CedarParse,
    /// A Cedar policy without a unique `@id`.
    CedarPolicyId,
    /// A Cedar policy does not validate strictly against the schema.
    CedarValidation,
    /// The Cedar validator's warning.
    CedarWarning,
    /// The access settings or row-filter rules the access engine needs are unusable.
    Access,
    /// A settings file is not a YAML mapping.
    SettingsSyntax,
    /// A setting the pack does not read.
    SettingsUnknownKey,
    /// A setting of the wrong type or form.
    SettingsType,
    /// A top-level setting given in two files (the later file wins).
    SettingsOverride,
}

impl Check {
    /// The name shown and serialized: `rego/parse`, `cedar/validation`, `settings/type`…
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Check::RegoParse => "rego/parse",
            Check::RegoCompile => "rego/compile",
            Check::RegoPackage => "rego/package",
            Check::RegoRuleShape => "rego/rule-shape",
            Check::RegoMetadata => "rego/metadata",
            Check::RegoPortability => "rego/portability",
            Check::CedarSchema => "cedar/schema",
            Check::CedarParse => "cedar/parse",
            Check::CedarPolicyId => "cedar/policy-id",
            Check::CedarValidation => "cedar/validation",
            Check::CedarWarning => "cedar/warning",
            Check::Access => "access/settings",
            Check::SettingsSyntax => "settings/syntax",
            Check::SettingsUnknownKey => "settings/unknown-key",
            Check::SettingsType => "settings/type",
            Check::SettingsOverride => "settings/override",
        }
    }
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl Serialize for Check {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.name())
    }
}

/// One problem in a policy pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// Errors fail `charter validate`; warnings only with `--fail-on warning`.
    pub severity: Severity,
    /// The check that found it.
    pub check: Check,
    /// The file, relative to the pack (`rego/rules/pii.rego`).
    pub file: String,
    /// 1-based line, when known.
    pub line: Option<u32>,
    /// 1-based column, when known.
    pub column: Option<u32>,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Problem {
    /// An error.
    #[must_use]
    pub fn error(check: Check, file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Error,
            check,
            file: file.into(),
            line: None,
            column: None,
            message: message.into(),
        }
    }

    /// A warning.
    #[must_use]
    pub fn warning(check: Check, file: impl Into<String>, message: impl Into<String>) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(check, file, message)
        }
    }

    /// The same problem at `line` (and `column`, when given).
    #[must_use]
    pub fn at(mut self, line: u32, column: Option<u32>) -> Self {
        self.line = Some(line);
        self.column = column;
        self
    }

    pub(crate) fn from_diagnostic(check: Check, diagnostic: Diagnostic) -> Self {
        Self {
            severity: Severity::Error,
            check,
            file: diagnostic.file,
            line: diagnostic.line,
            column: diagnostic.column,
            message: diagnostic.message,
        }
    }

    /// `file:line:col` (as much as is known).
    #[must_use]
    pub fn location(&self) -> String {
        match (self.line, self.column) {
            (Some(line), Some(column)) => format!("{}:{line}:{column}", self.file),
            (Some(line), None) => format!("{}:{line}", self.file),
            _ => self.file.clone(),
        }
    }

    fn sort_key(&self) -> (&str, u32, u32, Check, &str) {
        (
            &self.file,
            self.line.unwrap_or(0),
            self.column.unwrap_or(0),
            self.check,
            &self.message,
        )
    }
}

/// What was checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct Checked {
    /// Rego modules (`rego/**/*.rego`, tests included).
    pub rego_modules: usize,
    /// Cedar policy files (`cedar/*.cedar`).
    pub cedar_files: usize,
    /// Cedar policies in them (0 when they do not validate).
    pub cedar_policies: usize,
    /// Settings files (`data/*.yaml`).
    pub settings_files: usize,
}

/// Problem counts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct ProblemCounts {
    /// Errors.
    pub errors: usize,
    /// Warnings.
    pub warnings: usize,
}

/// The result of validating a pack: what was checked and every problem, sorted by file,
/// line and column. Serialized, it is the document `charter validate --format json` prints.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Validation {
    /// [`VALIDATION_VERSION`].
    pub version: u32,
    /// The pack's revision.
    pub revision: String,
    /// What was checked.
    pub checked: Checked,
    /// Problem counts.
    pub summary: ProblemCounts,
    /// Every problem.
    pub problems: Vec<Problem>,
}

impl Validation {
    /// Sorts and counts `problems`.
    #[must_use]
    pub fn new(revision: impl Into<String>, checked: Checked, mut problems: Vec<Problem>) -> Self {
        problems.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
        problems.dedup();
        let errors = problems
            .iter()
            .filter(|p| p.severity == Severity::Error)
            .count();
        Self {
            version: VALIDATION_VERSION,
            revision: revision.into(),
            checked,
            summary: ProblemCounts {
                errors,
                warnings: problems.len() - errors,
            },
            problems,
        }
    }

    /// The highest severity of any problem, if there is one.
    #[must_use]
    pub fn worst(&self) -> Option<Severity> {
        self.problems.iter().map(|p| p.severity).max()
    }

    /// No problem at all.
    #[must_use]
    pub fn is_clean(&self) -> bool {
        self.problems.is_empty()
    }
}
