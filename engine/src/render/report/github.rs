//! `github`: GitHub Actions workflow commands, one annotation per finding and a closing notice.
//!
//! ```text
//! ::error file=orders/checkout.yaml,line=12,title=pii/masking_required::field `email` is PII
//! ::notice::2 products, 1 compliant (50.0%): 1 error
//! ```

use std::io::{self, Write};

use super::summary_line;
use crate::report::Report;
use crate::report::Severity;

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    for f in &report.findings {
        let command = match (f.severity, &f.waiver) {
            (_, Some(_)) => "notice",
            (Severity::Error, None) => "error",
            (Severity::Warning, None) => "warning",
        };
        write!(out, "::{command} file={}", escape_property(&f.file))?;
        if f.line > 0 {
            write!(out, ",line={}", f.line)?;
        }
        writeln!(
            out,
            ",title={}::{}{}",
            escape_property(&f.rule),
            escape_data(&f.message),
            f.waiver
                .as_ref()
                .map(|w| escape_data(&format!(" (waived until {}: {})", w.expires, w.reason)))
                .unwrap_or_default()
        )?;
    }
    writeln!(
        out,
        "::notice::{}",
        escape_data(&summary_line(&report.summary))
    )
}

/// Escapes a command's message: `%`, carriage return and line feed.
fn escape_data(s: &str) -> String {
    let mut escaped = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => escaped.push_str("%25"),
            '\r' => escaped.push_str("%0D"),
            '\n' => escaped.push_str("%0A"),
            c => escaped.push(c),
        }
    }
    escaped
}

/// Escapes a command's property value: as [`escape_data`], plus `:` and `,`.
fn escape_property(s: &str) -> String {
    let mut escaped = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '%' => escaped.push_str("%25"),
            '\r' => escaped.push_str("%0D"),
            '\n' => escaped.push_str("%0A"),
            ':' => escaped.push_str("%3A"),
            ',' => escaped.push_str("%2C"),
            c => escaped.push(c),
        }
    }
    escaped
}
