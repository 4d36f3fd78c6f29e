//! `--format`: one value parser for every command, offering the formats of the document the
//! command writes ([`Render::FORMATS`]), case-insensitively.

use charter_engine::render::{Format, Render};
use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};

/// The value parser of a command's `--format` when the command writes documents of type `D`.
pub fn of<D: Render + ?Sized>() -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(
        D::FORMATS
            .iter()
            .map(|f| PossibleValue::new(f.name()).help(describe(*f))),
    )
    .try_map(|name| name.parse::<Format>())
}

/// What `--help` says of a format.
fn describe(format: Format) -> &'static str {
    match format {
        Format::Text => "For people, coloured on a terminal",
        Format::Json => "The stable, versioned JSON document",
        Format::Sarif => "SARIF 2.1.0, for code scanning",
        Format::Junit => "JUnit XML, for CI test views",
        Format::Github => "GitHub Actions annotations",
        Format::Markdown => "Markdown, fit for a pull-request comment",
        Format::Html => "A self-contained HTML audit page",
    }
}
