//! A report, in every format: one renderer per format.

use std::io::{self, Write};

use super::text::count;
use super::{Format, Options, Render};
use crate::report::{Report, Summary};

mod github;
mod group;
mod html;
mod json;
mod junit;
mod markdown;

mod sarif;
mod text;

impl Render for Report {
    const DOCUMENT: &'static str = "a compliance report";
    /// A report is written in every format.
    const FORMATS: &'static [Format] = Format::ALL;

    fn write(&self, format: Format, options: &Options, out: &mut dyn Write) -> io::Result<()> {
        match format {
            Format::Text => text::render(self, options, out),
            Format::Json => json::render(self, out),
            Format::Sarif => sarif::render(self, options, out),
            Format::Junit => junit::render(self, out),
            Format::Github => github::render(self, out),
            Format::Markdown => markdown::render(self, options, out),
            Format::Html => html::render(self, options, out),
        }
    }
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
