//! One renderer per output format, all behind [`Format`] and [`render`].
//!
//! Every renderer writes a whole document to a writer and returns only I/O errors: a report
//! always renders, whatever its contents (contract text is untrusted, so each format escapes
//! what it takes from findings).
//!
//! ```
//! use std::collections::BTreeMap;
//! use charter_engine::report::{Format, RenderOptions, Report, render};
//!
//! let report = Report::new("rev", Vec::new(), Vec::new(), 0, BTreeMap::new());
//! let mut out = Vec::new();
//! render(&report, Format::Github, &RenderOptions::default(), &mut out)?;
//! assert_eq!(
//!     String::from_utf8_lossy(&out),
//!     "::notice::0 products, 0 compliant (100.0%25): no findings\n"
//! );
//! # Ok::<(), std::io::Error>(())
//! ```

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use super::model::{Report, Summary};

mod github;
mod group;
mod html;
mod json;
mod junit;
mod markdown;

/// Markdown escaping shared with the policy impact preview.
pub(crate) use markdown::{
    MAX_ROWS as MARKDOWN_MAX_ROWS, cell as markdown_cell, code as markdown_code,
};
pub(crate) use text::clean;
mod sarif;
mod text;

/// An output format of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Human-readable, grouped by domain and product, optionally coloured (the default).
    Text,
    /// The stable, versioned JSON document ([`REPORT_VERSION`](super::REPORT_VERSION)).
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML: a test suite per domain, a test case per product.
    Junit,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`).
    Github,
    /// Markdown, fit for a pull-request comment.
    Markdown,
    /// A self-contained HTML audit report (inline CSS, no script, nothing fetched).
    Html,
}

impl Format {
    /// The name used on the command line (`text`, `json`, `sarif`, `junit`, `github`, `markdown`, `html`).
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Sarif => "sarif",
            Format::Junit => "junit",
            Format::Github => "github",
            Format::Markdown => "markdown",
            Format::Html => "html",
        }
    }

    /// Every format, in the order the help text lists them.
    #[must_use]
    pub fn all() -> &'static [Format] {
        &[
            Format::Text,
            Format::Json,
            Format::Sarif,
            Format::Junit,
            Format::Github,
            Format::Markdown,
            Format::Html,
        ]
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that is not one of [`Format::all`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{name}`: expected one of {}", valid_names())]
pub struct UnknownFormat {
    /// The name that was given.
    pub name: String,
}

fn valid_names() -> String {
    Format::all()
        .iter()
        .map(|f| f.name())
        .collect::<Vec<_>>()
        .join(", ")
}

impl FromStr for Format {
    type Err = UnknownFormat;

    /// Parses a format name, case-insensitively.
    ///
    /// ```
    /// use charter_engine::report::Format;
    ///
    /// assert_eq!("sarif".parse::<Format>(), Ok(Format::Sarif));
    /// let err = "xml".parse::<Format>().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "unknown format `xml`: expected one of text, json, sarif, junit, github, markdown, html"
    /// );
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::all()
            .iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownFormat { name: s.to_owned() })
    }
}

/// How to render: what the caller knows and the report does not.
#[derive(Debug, Clone)]
pub struct RenderOptions {
    /// Colour the `text` format with ANSI escapes (the caller decides: terminal, `NO_COLOR`,
    /// `--color`). Other formats ignore it.
    pub color: bool,
    /// Charter's version, written where a format names its tool (SARIF driver, Markdown footer).
    pub tool_version: String,
    /// When the run happened (RFC 3339, e.g. `2025-06-01T09:30:00Z`), shown by the `html`
    /// format; the caller fills it, so rendering stays deterministic without it.
    pub generated_at: Option<String>,
    /// In the `text` format, explain every rule that has findings: its title, what it
    /// checks and how to fix a finding (`charter check --explain`).
    pub explain: bool,
}

impl Default for RenderOptions {
    fn default() -> Self {
        Self {
            color: false,
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            generated_at: None,
            explain: false,
        }
    }
}

/// Renders `report` in `format` to `out`.
///
/// # Errors
///
/// Only the errors of writing to `out` (which is written through a buffer and flushed).
pub fn render(
    report: &Report,
    format: Format,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    match format {
        Format::Text => text::render(report, options, &mut out),
        Format::Json => json::render(report, &mut out),
        Format::Sarif => sarif::render(report, options, &mut out),
        Format::Junit => junit::render(report, &mut out),
        Format::Github => github::render(report, &mut out),
        Format::Markdown => markdown::render(report, options, &mut out),
        Format::Html => html::render(report, options, &mut out),
    }?;
    out.flush()
}

/// `20 products, 10 compliant (50.0%), 3 unreadable files: 25 errors, 4 warnings`; the
/// unreadable part only when there are some, `no findings` on a clean run.
fn summary_line(summary: &Summary) -> String {
    let mut line = format!(
        "{}, {} compliant ({:.1}%)",
        count(summary.products, "product", "products"),
        summary.compliant,
        summary.score
    );
    if summary.unreadable > 0 {
        line.push_str(", ");
        line.push_str(&count(
            summary.unreadable,
            "unreadable file",
            "unreadable files",
        ));
    }
    line.push_str(": ");
    line.push_str(&findings_count(summary.errors, summary.warnings));
    if summary.waived > 0 {
        line.push_str(&format!(" ({} waived)", summary.waived));
    }
    line
}

/// `25 errors, 4 warnings`, `1 error`, `no findings`.
fn findings_count(errors: usize, warnings: usize) -> String {
    match (errors, warnings) {
        (0, 0) => "no findings".to_owned(),
        (e, 0) => count(e, "error", "errors"),
        (0, w) => count(w, "warning", "warnings"),
        (e, w) => format!(
            "{}, {}",
            count(e, "error", "errors"),
            count(w, "warning", "warnings")
        ),
    }
}

/// `3 errors`, `1 warning`.
pub(crate) fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
