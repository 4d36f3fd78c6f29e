//! The impact preview's formats, and the phrases its renderers share.

use std::fmt;
use std::io::{self, Write};

use super::model::{Counts, Figures, Impact, Totals};
use super::{json, markdown, text};
use crate::report::render::count as plural;
use crate::report::{self, RenderOptions};

/// An output format of the impact preview: the report formats that make sense for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Human-readable, per domain, optionally coloured.
    Text,
    /// The stable, versioned JSON document ([`IMPACT_VERSION`]).
    Json,
    /// Markdown, fit for a pull-request comment.
    Markdown,
}

impl Format {
    /// `text`, `json` or `markdown`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Format::Text => "text",
            Format::Json => "json",
            Format::Markdown => "markdown",
        }
    }
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A report format the impact preview does not offer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the policy impact preview has no `{format}` format: expected one of text, json, markdown")]
pub struct UnsupportedFormat {
    /// The format asked for.
    pub format: report::Format,
}

impl TryFrom<report::Format> for Format {
    type Error = UnsupportedFormat;

    /// The impact format of the same name.
    ///
    /// ```
    /// use charter_engine::impact::Format;
    /// use charter_engine::report;
    ///
    /// assert_eq!(Format::try_from(report::Format::Json), Ok(Format::Json));
    /// let err = Format::try_from(report::Format::Sarif).unwrap_err();
    /// assert_eq!(
    ///     err.to_string(),
    ///     "the policy impact preview has no `sarif` format: expected one of text, json, markdown"
    /// );
    /// ```
    fn try_from(format: report::Format) -> Result<Self, Self::Error> {
        match format {
            report::Format::Text => Ok(Format::Text),
            report::Format::Json => Ok(Format::Json),
            report::Format::Markdown => Ok(Format::Markdown),
            other => Err(UnsupportedFormat { format: other }),
        }
    }
}

/// Renders `impact` in `format` to `out` (colour only for `text`, when `options.color`).
///
/// # Errors
///
/// Only the errors of writing to `out` (which is written through a buffer and flushed).
pub fn render(
    impact: &Impact,
    format: Format,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let mut out = io::BufWriter::new(out);
    match format {
        Format::Text => text::render(impact, options, &mut out),
        Format::Json => json::render(impact, &mut out),
        Format::Markdown => markdown::render(impact, options, &mut out),
    }?;
    out.flush()
}

/// `3 errors, 1 warning, 2 waived`, `none`.
fn counts(c: &Counts) -> String {
    let mut parts = Vec::new();
    if c.errors > 0 {
        parts.push(plural(c.errors, "error", "errors"));
    }
    if c.warnings > 0 {
        parts.push(plural(c.warnings, "warning", "warnings"));
    }
    if c.waived > 0 {
        parts.push(format!("{} waived", c.waived));
    }
    if parts.is_empty() {
        "none".to_owned()
    } else {
        parts.join(", ")
    }
}

/// `12 findings added (10 errors, 2 warnings), 3 removed (3 warnings), 1 raised to error`.
pub(super) fn totals_line(t: &Totals) -> String {
    if t.is_empty() {
        return "no finding added, removed or re-graded".to_owned();
    }
    let mut parts = vec![
        format!(
            "{} added ({})",
            plural(t.added.total(), "finding", "findings"),
            counts(&t.added)
        ),
        format!("{} removed ({})", t.removed.total(), counts(&t.removed)),
    ];
    if t.added.total() == 0 {
        parts[0] = "no finding added".to_owned();
    }
    if t.removed.total() == 0 {
        parts[1] = "none removed".to_owned();
    }
    if t.raised > 0 {
        parts.push(format!("{} raised to error", t.raised));
    }
    if t.lowered > 0 {
        parts.push(format!("{} lowered to warning", t.lowered));
    }
    parts.join(", ")
}

/// `7 of 10 compliant (70.0%)`.
pub(super) fn figures_line(f: &Figures) -> String {
    format!(
        "{} of {} compliant ({:.1}%)",
        f.compliant, f.products, f.score
    )
}

/// The label of a domain, `(files not read as a product)` for none.
pub(super) fn domain_label(name: Option<&str>) -> &str {
    name.unwrap_or("(files not read as a product)")
}
