//! `text`: findings grouped by domain and product, a per-domain score table, a summary line.
//!
//! ```text
//! orders
//!   orders.checkout (orders/checkout.yaml)
//!     warning  orders/checkout.yaml:3   sla/freshness         no freshness declared
//!     error    orders/checkout.yaml:12  pii/masking_required  field `email` is PII and has no masking
//!
//! Unreadable files
//!   error    orders/broken.yaml:4  contract/parse  expected a mapping
//!
//! ╭────────┬──────────┬───────────┬────────┬──────────┬───────╮
//! │ Domain ┆ Products ┆ Compliant ┆ Errors ┆ Warnings ┆ Score │
//! ╞════════╪══════════╪═══════════╪════════╪══════════╪═══════╡
//! │ orders ┆        2 ┆         1 ┆      1 ┆        1 ┆ 50.0% │
//! ╰────────┴──────────┴───────────┴────────┴──────────┴───────╯
//!
//! 2 products, 1 compliant (50.0%), 1 unreadable file: 2 errors, 1 warning
//! ```
//!
//! Colour is the caller's choice ([`Options::color`](super::Options)); without it
//! the output has no escape sequences at all. Control characters that come from contracts are
//! shown escaped, so a contract cannot write escape sequences to the terminal.

use std::borrow::Cow;
use std::io::{self, Write};

use comfy_table::{CellAlignment, ContentArrangement, Table, modifiers, presets};
use owo_colors::{OwoColorize, Style};

use super::group::group;
use super::summary_line;
use crate::render::Options;
use crate::render::text::clean;
use crate::report::Report;
use crate::report::{Finding, Severity};

/// The styles of each part of the output; all plain without colour.
struct Palette {
    heading: Style,
    product: Style,
    file: Style,
    error: Style,
    warning: Style,
    location: Style,
    rule: Style,
    summary: Style,
}

impl Palette {
    fn new(color: bool, report: &Report) -> Self {
        if !color {
            let plain = Style::new();
            return Self {
                heading: plain,
                product: plain,
                file: plain,
                error: plain,
                warning: plain,
                location: plain,
                rule: plain,
                summary: plain,
            };
        }
        let summary = if report.summary.errors > 0 {
            Style::new().red().bold()
        } else if report.summary.warnings > 0 {
            Style::new().yellow().bold()
        } else {
            Style::new().green().bold()
        };
        Self {
            heading: Style::new().bold().underline(),
            product: Style::new().bold(),
            file: Style::new().dimmed(),
            error: Style::new().red().bold(),
            warning: Style::new().yellow().bold(),
            location: Style::new().cyan(),
            rule: Style::new().dimmed(),
            summary,
        }
    }

    fn severity(&self, severity: Severity) -> Style {
        match severity {
            Severity::Error => self.error,
            Severity::Warning => self.warning,
        }
    }
}

pub(super) fn render(report: &Report, options: &Options, out: &mut dyn Write) -> io::Result<()> {
    let palette = Palette::new(options.color, report);
    let grouped = group(report);

    for domain in grouped.domains.iter().filter(|d| d.has_findings()) {
        writeln!(out, "{}", clean(domain.name).style(palette.heading))?;
        for product in domain.products.iter().filter(|p| !p.findings.is_empty()) {
            writeln!(
                out,
                "  {} {}",
                clean(product.id).style(palette.product),
                format_args!("({})", clean(product.file)).style(palette.file)
            )?;
            write_findings(out, &product.findings, "    ", &palette)?;
        }
        writeln!(out)?;
    }
    if !grouped.unreadable.is_empty() {
        writeln!(out, "{}", "Unreadable files".style(palette.heading))?;
        for file in &grouped.unreadable {
            write_findings(out, &file.findings, "  ", &palette)?;
        }
        writeln!(out)?;
    }

    if options.explain {
        write_explanations(out, report, &palette)?;
    }
    if !report.domains.is_empty() {
        writeln!(out, "{}", score_table(report))?;
        writeln!(out)?;
    }
    writeln!(
        out,
        "{}",
        summary_line(&report.summary).style(palette.summary)
    )
}

/// One aligned line per finding: severity, `file:line`, rule, message.
fn write_findings(
    out: &mut dyn Write,
    findings: &[&Finding],
    indent: &str,
    palette: &Palette,
) -> io::Result<()> {
    let rows: Vec<(String, Cow<'_, str>)> = findings
        .iter()
        .map(|f| (format!("{}:{}", clean(&f.file), f.line), clean(&f.rule)))
        .collect();
    let location_width = rows
        .iter()
        .map(|(l, _)| l.chars().count())
        .max()
        .unwrap_or(0);
    let rule_width = rows
        .iter()
        .map(|(_, r)| r.chars().count())
        .max()
        .unwrap_or(0);
    let severity_width = "warning".len();
    let continuation = " ".repeat(indent.len() + severity_width + location_width + rule_width + 6);

    for (finding, (location, rule)) in findings.iter().zip(&rows) {
        let mut lines = finding.message.lines().map(clean);
        writeln!(
            out,
            "{indent}{}  {}  {}  {}",
            format_args!(
                "{:<severity_width$}",
                if finding.waiver.is_some() {
                    "waived"
                } else {
                    finding.severity.as_str()
                }
            )
            .style(if finding.waiver.is_some() {
                palette.location
            } else {
                palette.severity(finding.severity)
            }),
            format_args!("{location:<location_width$}").style(palette.location),
            format_args!("{rule:<rule_width$}").style(palette.rule),
            lines.next().unwrap_or_default()
        )?;
        for line in lines {
            writeln!(out, "{continuation}{line}")?;
        }
        if let Some(waiver) = &finding.waiver {
            writeln!(
                out,
                "{continuation}waived until {}: {} (approved by {})",
                waiver.expires,
                clean(&waiver.reason),
                clean(&waiver.approved_by)
            )?;
        }
    }
    Ok(())
}

/// The per-domain score table, without colour or terminal-width detection (deterministic).
fn score_table(report: &Report) -> Table {
    let mut table = Table::new();
    table
        .load_preset(presets::UTF8_FULL_CONDENSED)
        .apply_modifier(modifiers::UTF8_ROUND_CORNERS)
        .force_no_tty()
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(vec![
            "Domain",
            "Products",
            "Compliant",
            "Errors",
            "Warnings",
            "Score",
        ]);
    for d in &report.domains {
        table.add_row(vec![
            clean(&d.name).into_owned(),
            d.products.to_string(),
            d.compliant.to_string(),
            d.errors.to_string(),
            d.warnings.to_string(),
            format!("{:.1}%", d.score),
        ]);
    }
    for index in 1..6 {
        if let Some(column) = table.column_mut(index) {
            column.set_cell_alignment(CellAlignment::Right);
        }
    }
    table
}

/// What each rule with findings checks and how to fix it, from its `# METADATA`.
fn write_explanations(out: &mut dyn Write, report: &Report, palette: &Palette) -> io::Result<()> {
    let mut ids: Vec<&str> = report.findings.iter().map(|f| f.rule.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Ok(());
    }
    writeln!(out, "{}", "Rules".style(palette.heading))?;
    for id in ids {
        let info = report.rules.get(id);
        let title = info
            .and_then(|i| i.title.as_deref())
            .unwrap_or("(no description)");
        writeln!(out, "  {}  {}", clean(id).style(palette.rule), clean(title))?;
        if let Some(description) = info.and_then(|i| i.description.as_deref()) {
            writeln!(out, "    {}", clean(description.trim()))?;
        }
        if let Some(remediation) = info.and_then(|i| i.remediation.as_deref()) {
            writeln!(out, "    fix: {}", clean(remediation.trim()))?;
        }
    }
    writeln!(out)
}
