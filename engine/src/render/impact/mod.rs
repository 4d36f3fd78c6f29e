//! The policy impact preview in its formats, and the phrases its renderers share.

use std::io::{self, Write};

use super::text::count as plural;
use super::{Format, Options, Render, unsupported};
use crate::impact::{Counts, Figures, Impact, Totals};

mod json;
mod markdown;
mod text;

impl Render for Impact {
    const DOCUMENT: &'static str = "the policy impact preview";
    const FORMATS: &'static [Format] = &[Format::Text, Format::Json, Format::Markdown];

    fn write(&self, format: Format, options: &Options, out: &mut dyn Write) -> io::Result<()> {
        match format {
            Format::Text => text::render(self, options, out),
            Format::Json => json::render(self, out),
            Format::Markdown => markdown::render(self, options, out),
            other => Err(unsupported::<Self>(other)),
        }
    }
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
