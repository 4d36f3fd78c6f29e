//! `charter rules`: the rule catalogue as a table, a JSON document, or Markdown (a summary
//! table and a section per rule, fit for a wiki page or the pack's README).

use std::io::{self, Write};

use comfy_table::{Attribute, Cell, Color, ColumnConstraint, ContentArrangement, Table, presets};
use serde::Serialize;

use super::markdown::{author_cell, code};
use super::text::clean;
use super::{Format, Options, Render, json, unsupported};
use crate::report::{RuleInfo, Severity};

/// Version of the JSON document of the catalogue; bumped on any incompatible change.
const CATALOG_VERSION: u32 = 1;

/// The rule catalogue of a pack: its revision and its rules (from `# METADATA`). The
/// `json` format is this document: `{"version", "revision", "rules": [{"id", "severity",
/// "title", "description", "remediation"}]}`.
#[derive(Debug, Clone, Serialize)]
pub struct Catalog<'a> {
    version: u32,
    revision: &'a str,
    rules: &'a [RuleInfo],
}

impl<'a> Catalog<'a> {
    /// The catalogue of `rules`, of a pack at `revision`.
    #[must_use]
    pub fn new(revision: &'a str, rules: &'a [RuleInfo]) -> Self {
        Self {
            version: CATALOG_VERSION,
            revision,
            rules,
        }
    }
}

impl Render for Catalog<'_> {
    const DOCUMENT: &'static str = "the rule catalogue";
    const FORMATS: &'static [Format] = &[Format::Text, Format::Json, Format::Markdown];

    fn write(&self, format: Format, options: &Options, out: &mut dyn Write) -> io::Result<()> {
        match format {
            Format::Text => text(self.rules, options, out),
            Format::Json => json(self, out),
            Format::Markdown => markdown(self.rules, out),
            other => Err(unsupported::<Self>(other)),
        }
    }
}

fn severity(rule: &RuleInfo) -> &'static str {
    rule.severity.map_or("", Severity::as_str)
}

/// One row per rule: id, severity, title, description, remediation; wrapped to the width.
fn text(rules: &[RuleInfo], options: &Options, out: &mut dyn Write) -> io::Result<()> {
    if rules.is_empty() {
        return writeln!(out, "no rules");
    }
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_HORIZONTAL_ONLY)
        .force_no_tty()
        .set_content_arrangement(ContentArrangement::Dynamic)
        .set_width(options.width.unwrap_or(120))
        .set_header(vec![
            "Rule",
            "Severity",
            "Title",
            "Description",
            "Remediation",
        ]);
    if options.color {
        table.enforce_styling();
    }
    for rule in rules {
        let mut severity = Cell::new(severity(rule));
        if options.color {
            severity = match rule.severity {
                Some(Severity::Error) => severity.fg(Color::Red).add_attribute(Attribute::Bold),
                Some(Severity::Warning) => {
                    severity.fg(Color::Yellow).add_attribute(Attribute::Bold)
                }
                None => severity,
            };
        }
        let field = |value: &Option<String>| Cell::new(text_line(value.as_deref().unwrap_or("")));
        table.add_row(vec![
            Cell::new(clean(&rule.id)),
            severity,
            field(&rule.title),
            field(&rule.description),
            field(&rule.remediation),
        ]);
    }
    // Ids and severities never wrap; the prose columns share the rest of the width.
    for index in [0, 1] {
        if let Some(column) = table.column_mut(index) {
            column.set_constraint(ColumnConstraint::ContentWidth);
        }
    }
    writeln!(out, "{table}")?;
    let errors = rules
        .iter()
        .filter(|r| r.severity == Some(Severity::Error))
        .count();
    writeln!(
        out,
        "\n{} rules: {errors} errors, {} warnings",
        rules.len(),
        rules.len() - errors
    )
}

/// A summary table linking to one section per rule.
fn markdown(rules: &[RuleInfo], out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "# Rules\n")?;
    if rules.is_empty() {
        return writeln!(out, "No rules.");
    }
    writeln!(out, "| Rule | Severity | Title |")?;
    writeln!(out, "|---|---|---|")?;
    for rule in rules {
        writeln!(
            out,
            "| [{}](#{}) | {} | {} |",
            code(&rule.id, true),
            anchor(&rule.id),
            severity(rule),
            author_cell(&text_line(rule.title.as_deref().unwrap_or("")))
        )?;
    }
    for rule in rules {
        writeln!(out, "\n## {}\n", code(&clean(&rule.id), false))?;
        let title = rule.title.as_deref().map(text_line).unwrap_or_default();
        match (rule.severity, title.is_empty()) {
            (Some(s), false) => writeln!(out, "**{s}**: {title}")?,
            (Some(s), true) => writeln!(out, "**{s}**")?,
            (None, false) => writeln!(out, "{title}")?,
            (None, true) => {}
        }
        if let Some(description) = &rule.description {
            writeln!(out, "\n{}", clean(description.trim()))?;
        }
        if let Some(remediation) = &rule.remediation {
            writeln!(out, "\n**Remediation:** {}", clean(remediation.trim()))?;
        }
    }
    Ok(())
}

/// The anchor GitHub gives the `## `pii/masking_required`` heading: `piimasking_required`.
fn anchor(id: &str) -> String {
    id.chars()
        .filter(|c| c.is_alphanumeric() || *c == '-' || *c == '_')
        .flat_map(char::to_lowercase)
        .collect()
}

fn text_line(s: &str) -> String {
    clean(&s.split_whitespace().collect::<Vec<_>>().join(" ")).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_title_keeps_its_markdown_and_stays_in_its_cell() {
        let rules = [RuleInfo {
            id: "naming/id".into(),
            severity: Some(Severity::Error),
            title: Some("Id is not `<domain>.<name>` | or\nworse".into()),
            description: None,
            remediation: None,
        }];
        let mut out = Vec::new();
        markdown(&rules, &mut out).unwrap();
        let out = String::from_utf8(out).unwrap();
        assert!(
            out.contains(
                "| [`naming/id`](#namingid) | error | Id is not `<domain>.<name>` \\| or worse |"
            ),
            "{out}"
        );
    }

    #[test]
    fn anchors_follow_github() {
        assert_eq!(anchor("pii/masking_required"), "piimasking_required");
        assert_eq!(anchor("naming/Field-Case"), "namingfield-case");
    }
}
