//! Renderers of the authoring results: a validation (text, json), a test report (text, json,
//! junit) and the rule catalogue (text, json, markdown). Each writes a whole document to a
//! writer and returns only I/O errors.

use std::io::{self, Write};

use serde::Serialize;

use super::problem::Validation;
use super::test_report::TestReport;
use crate::report::RuleInfo;
use crate::report::render::{clean, count};

mod catalog;
mod tests_junit;
mod tests_text;
mod validation;

/// Output formats of `charter validate`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ValidationFormat {
    /// One aligned line per problem and a summary; optionally coloured.
    Text,
    /// The [`Validation`] document.
    Json,
}

/// Output formats of `charter test`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TestFormat {
    /// Failures (every test with `verbose`), counts per kind, coverage; optionally coloured.
    Text,
    /// The [`TestReport`] document.
    Json,
    /// JUnit XML: a test suite per Rego package and per case file.
    Junit,
}

/// Output formats of `charter rules`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CatalogFormat {
    /// A table.
    Text,
    /// `{"version", "revision", "rules": [{"id", "severity", "title", "description", "remediation"}]}`.
    Json,
    /// A summary table and a section per rule.
    Markdown,
}

/// How to render text: what the caller knows and the results do not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TextOptions {
    /// Colour with ANSI escapes (the caller decides: terminal, `NO_COLOR`, `--color`).
    pub color: bool,
    /// Show every test, passed ones included (`charter test --verbose`).
    pub verbose: bool,
    /// The width tables wrap to (the terminal's); 120 columns when `None`.
    pub width: Option<u16>,
}

/// Renders a validation.
///
/// # Errors
/// Only the errors of writing to `out`.
pub fn render_validation(
    validation: &Validation,
    format: ValidationFormat,
    options: &TextOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    match format {
        ValidationFormat::Text => validation::render(validation, options, &mut out),
        ValidationFormat::Json => json(validation, &mut out),
    }?;
    out.flush()
}

/// Renders a test report.
///
/// # Errors
/// Only the errors of writing to `out`.
pub fn render_tests(
    report: &TestReport,
    format: TestFormat,
    options: &TextOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    match format {
        TestFormat::Text => tests_text::render(report, options, &mut out),
        TestFormat::Json => json(report, &mut out),
        TestFormat::Junit => tests_junit::render(report, &mut out),
    }?;
    out.flush()
}

/// Renders the rule catalogue of a pack (of revision `revision`).
///
/// # Errors
/// Only the errors of writing to `out`.
pub fn render_catalog(
    revision: &str,
    rules: &[RuleInfo],
    format: CatalogFormat,
    options: &TextOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    match format {
        CatalogFormat::Text => catalog::text(rules, options, &mut out),
        CatalogFormat::Json => json(&catalog::Document::new(revision, rules), &mut out),
        CatalogFormat::Markdown => catalog::markdown(rules, &mut out),
    }?;
    out.flush()
}

fn json<T: Serialize>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::other)?;
    writeln!(out)
}
