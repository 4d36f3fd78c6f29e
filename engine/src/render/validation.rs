//! A validation (`charter validate`): as text, one aligned line per problem, then what was
//! checked; as JSON, the [`Validation`] document.
//!
//! ```text
//! error    rego/rules/broken.rego:4:1   rego/parse        expecting expression
//! warning  rego/rules/x.rego:12:2       rego/portability  `not is_number(input.x)` negates …
//!
//! 2 Rego modules, 1 Cedar file (3 policies), 1 settings file: 1 error, 1 warning
//! ```

use std::io::{self, Write};

use owo_colors::{OwoColorize, Style};

use super::text::{clean, count};
use super::{Format, Options, Render, json, unsupported};
use crate::authoring::Validation;
use crate::report::Severity;

impl Render for Validation {
    const DOCUMENT: &'static str = "a validation";
    const FORMATS: &'static [Format] = &[Format::Text, Format::Json];

    fn write(&self, format: Format, options: &Options, out: &mut dyn Write) -> io::Result<()> {
        match format {
            Format::Text => text(self, options, out),
            Format::Json => json(self, out),
            other => Err(unsupported::<Self>(other)),
        }
    }
}

fn text(validation: &Validation, options: &Options, out: &mut dyn Write) -> io::Result<()> {
    let style = |s: Style| if options.color { s } else { Style::new() };
    let rows: Vec<(String, &str)> = validation
        .problems
        .iter()
        .map(|p| (clean(&p.location()).into_owned(), p.check.name()))
        .collect();
    let location_width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let check_width = rows.iter().map(|(_, c)| c.len()).max().unwrap_or(0);
    let continuation = " ".repeat("warning".len() + location_width + check_width + 6);
    for (problem, (location, check)) in validation.problems.iter().zip(&rows) {
        let severity = match problem.severity {
            Severity::Error => style(Style::new().red().bold()),
            Severity::Warning => style(Style::new().yellow().bold()),
        };
        let mut lines = problem.message.lines().map(clean);
        writeln!(
            out,
            "{}  {}  {}  {}",
            format_args!("{:<7}", problem.severity.as_str()).style(severity),
            format_args!("{location:<location_width$}").style(style(Style::new().cyan())),
            format_args!("{check:<check_width$}").style(style(Style::new().dimmed())),
            lines.next().unwrap_or_default()
        )?;
        for line in lines {
            writeln!(out, "{continuation}{line}")?;
        }
    }
    if !validation.problems.is_empty() {
        writeln!(out)?;
    }
    let checked = &validation.checked;
    let cedar = if checked.cedar_policies > 0 {
        format!(" ({})", count(checked.cedar_policies, "policy", "policies"))
    } else {
        String::new()
    };
    let what = format!(
        "{}, {}{cedar}, {}",
        count(checked.rego_modules, "Rego module", "Rego modules"),
        count(checked.cedar_files, "Cedar file", "Cedar files"),
        count(checked.settings_files, "settings file", "settings files"),
    );
    let summary = &validation.summary;
    let (found, summary_style) = match (summary.errors, summary.warnings) {
        (0, 0) => ("no problems".to_owned(), Style::new().green().bold()),
        (0, w) => (
            count(w, "warning", "warnings"),
            Style::new().yellow().bold(),
        ),
        (e, 0) => (count(e, "error", "errors"), Style::new().red().bold()),
        (e, w) => (
            format!(
                "{}, {}",
                count(e, "error", "errors"),
                count(w, "warning", "warnings")
            ),
            Style::new().red().bold(),
        ),
    };
    writeln!(
        out,
        "{}",
        format_args!("{what}: {found}").style(style(summary_style))
    )
}
