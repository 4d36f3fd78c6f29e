//! Every document Charter writes, in every format it writes it: one [`Format`], one
//! [`Render`] trait that each document implements, and [`render`], which checks the format,
//! buffers the writer and flushes it.
//!
//! The documents are the engine's models: a [`Report`](crate::report::Report), a policy
//! [`Impact`](crate::impact::Impact), a [`Validation`](crate::authoring::Validation), a
//! [`TestReport`](crate::authoring::TestReport), a rule [`Catalog`], an access
//! [`Authorization`], a contract [`DiffDocument`](crate::diff::DiffDocument), a bundle
//! [`Verification`] and a bundle [`Listing`](crate::bundle::Listing). A renderer
//! writes a whole document and returns only I/O errors: a document always renders, whatever
//! its contents (contract text is untrusted, so each format escapes what it takes from it).
//!
//! This module (feature `render`, on by default) is the only part of the engine that uses
//! tables, colour, SARIF or JUnit XML; an in-process user that only wants the models turns
//! default features off and compiles none of them.
//!
//! ```
//! use std::collections::BTreeMap;
//! use charter_engine::render::{Format, Options, render};
//! use charter_engine::report::Report;
//!
//! let report = Report::new("rev", Vec::new(), Vec::new(), 0, BTreeMap::new());
//! let mut out = Vec::new();
//! render(&report, Format::Github, &Options::default(), &mut out)?;
//! assert_eq!(
//!     String::from_utf8_lossy(&out),
//!     "::notice::0 products, 0 compliant (100.0%25): no findings\n"
//! );
//! # Ok::<(), charter_engine::render::RenderError>(())
//! ```

use std::fmt;
use std::io::{self, Write};
use std::str::FromStr;

use serde::Serialize;

mod bundle;
mod catalog;
mod decision;
mod diff;
mod impact;
mod markdown;
mod report;
mod test_report;
mod text;
mod validation;

pub use bundle::Verification;
pub use catalog::Catalog;
pub use decision::Authorization;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Human-readable, optionally coloured (every document's default).
    Text,
    /// The document's stable, versioned JSON.
    Json,
    /// SARIF 2.1.0, for code scanning.
    Sarif,
    /// JUnit XML, for CI test views.
    Junit,
    /// GitHub Actions workflow commands (`::error file=…,line=…::…`).
    Github,
    /// Markdown, fit for a pull-request comment.
    Markdown,
    /// A self-contained HTML page (inline CSS, no script, nothing fetched).
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

    /// Every format, in the order help texts list them.
    pub const ALL: &'static [Format] = &[
        Format::Text,
        Format::Json,
        Format::Sarif,
        Format::Junit,
        Format::Github,
        Format::Markdown,
        Format::Html,
    ];
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A format name that is not one of [`Format::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown format `{name}`: expected one of {}", names(Format::ALL))]
pub struct UnknownFormat {
    /// The name that was given.
    pub name: String,
}

fn names(formats: &[Format]) -> String {
    formats
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
    /// use charter_engine::render::Format;
    ///
    /// assert_eq!("sarif".parse::<Format>(), Ok(Format::Sarif));
    /// let err = "xml".parse::<Format>().unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "unknown format `xml`: expected one of text, json, sarif, junit, github, markdown, html"
    /// );
    /// ```
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.name().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownFormat { name: s.to_owned() })
    }
}

/// How to render: what the caller knows and the document does not. Each format reads what
/// applies to it and ignores the rest.
#[derive(Debug, Clone)]
pub struct Options {
    /// Colour the `text` format with ANSI escapes (the caller decides: terminal, `NO_COLOR`,
    /// `--color`).
    pub color: bool,
    /// Charter's version, written where a format names its tool (SARIF driver, Markdown footer).
    pub tool_version: String,
    /// When the run happened (RFC 3339, e.g. `2025-06-01T09:30:00Z`), shown by the `html`
    /// format; the caller fills it, so rendering stays deterministic without it.
    pub generated_at: Option<String>,
    /// A report's `text`: explain every rule that has findings, its title, what it checks
    /// and how to fix a finding (`charter check --explain`).
    pub explain: bool,
    /// A test report's `text`: show every test, passed ones included (`charter test --verbose`).
    pub verbose: bool,
    /// The width tables wrap to (the terminal's); 120 columns when `None`.
    pub width: Option<u16>,
}

impl Default for Options {
    fn default() -> Self {
        Self {
            color: false,
            tool_version: env!("CARGO_PKG_VERSION").to_owned(),
            generated_at: None,
            explain: false,
            verbose: false,
            width: None,
        }
    }
}

/// A document Charter writes.
pub trait Render {
    /// What the document is, as an error names it (`the policy impact preview`).
    const DOCUMENT: &'static str;
    /// The formats the document is written in, the default (`text`) first.
    const FORMATS: &'static [Format];

    /// Writes the document in `format`, one of [`Self::FORMATS`] ([`render`] checks it).
    ///
    /// # Errors
    /// Only the errors of writing to `out`.
    fn write(&self, format: Format, options: &Options, out: &mut dyn Write) -> io::Result<()>;
}

/// A format a document is not written in.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "{document} has no `{format}` format: expected one of {}",
    names(supported)
)]
pub struct UnsupportedFormat {
    /// The document (`the policy impact preview`).
    pub document: &'static str,
    /// The format asked for.
    pub format: Format,
    /// The formats it has.
    pub supported: &'static [Format],
}

impl UnsupportedFormat {
    /// `format`, which documents of type `D` are not written in.
    fn of<D: Render + ?Sized>(format: Format) -> Self {
        Self {
            document: D::DOCUMENT,
            format,
            supported: D::FORMATS,
        }
    }
}

/// Why a document was not rendered.
#[derive(Debug, thiserror::Error)]
pub enum RenderError {
    /// The document has no such format.
    #[error(transparent)]
    Unsupported(#[from] UnsupportedFormat),
    /// Writing failed.
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Whether documents of type `D` are written in `format`; a caller asks before it does the
/// work that builds the document.
///
/// ```
/// use charter_engine::impact::Impact;
/// use charter_engine::render::{Format, supports};
///
/// assert!(supports::<Impact>(Format::Markdown).is_ok());
/// assert_eq!(
///     supports::<Impact>(Format::Sarif).unwrap_err().to_string(),
///     "the policy impact preview has no `sarif` format: expected one of text, json, markdown"
/// );
/// ```
///
/// # Errors
/// The format is not one of `D::FORMATS`.
pub fn supports<D: Render + ?Sized>(format: Format) -> Result<(), UnsupportedFormat> {
    if D::FORMATS.contains(&format) {
        Ok(())
    } else {
        Err(UnsupportedFormat::of::<D>(format))
    }
}

/// Renders `document` in `format` to `out`, through a buffer that is flushed at the end.
///
/// # Errors
/// The document has no such format, or writing to `out` failed.
pub fn render<D: Render + ?Sized>(
    document: &D,
    format: Format,
    options: &Options,
    out: &mut dyn Write,
) -> Result<(), RenderError> {
    supports::<D>(format)?;
    let mut out = io::BufWriter::new(out);
    document.write(format, options, &mut out)?;
    out.flush()?;
    Ok(())
}

/// The `json` format of a document that is its own serialization: pretty, one final newline.
fn json<T: Serialize + ?Sized>(value: &T, out: &mut dyn Write) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, value).map_err(io::Error::other)?;
    writeln!(out)
}

/// A format a document's [`Render::write`] was called with but does not have: [`render`]
/// checks first, so this is only reached by a direct call.
fn unsupported<D: Render + ?Sized>(format: Format) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        UnsupportedFormat::of::<D>(format),
    )
}
