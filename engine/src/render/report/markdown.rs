//! `markdown`: a summary, a per-domain table and the findings by product, fit for a PR comment.
//!
//! Findings are folded into a `<details>` block when there are more than
//! [`FOLD_ABOVE`] of them, and only the first [`MAX_ROWS`] are listed. Text taken from contracts is escaped: `|` cannot break a table,
//! `<`, `>`, `[` and `]` cannot open HTML or links.

use std::io::{self, Write};

use super::group::group;
use super::summary_line;
use crate::render::Options;
use crate::render::markdown::{MAX_ROWS, cell, code};
use crate::render::text::count;
use crate::report::Report;
use crate::report::{Finding, Severity};

/// More findings than this are folded into a `<details>` block.
pub(super) const FOLD_ABOVE: usize = 50;

pub(super) fn render(report: &Report, options: &Options, out: &mut dyn Write) -> io::Result<()> {
    let summary = &report.summary;
    let status = if summary.errors > 0 {
        "❌"
    } else if summary.warnings > 0 {
        "⚠️"
    } else {
        "✅"
    };
    writeln!(out, "## Charter compliance report")?;
    writeln!(out)?;
    writeln!(out, "{status} **{}**", summary_line(summary))?;
    writeln!(out)?;
    if !report.domains.is_empty() {
        domain_table(report, out)?;
    }
    if !report.findings.is_empty() {
        findings(report, out)?;
    }
    writeln!(
        out,
        "<sub>Charter {} · policy revision {}</sub>",
        cell(&options.tool_version),
        code(&report.revision, false)
    )
}

fn domain_table(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "| Domain | Products | Compliant | Errors | Warnings | Score |"
    )?;
    writeln!(out, "| :--- | ---: | ---: | ---: | ---: | ---: |")?;
    for d in &report.domains {
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {:.1}% |",
            cell(&d.name),
            d.products,
            d.compliant,
            d.errors,
            d.warnings,
            d.score
        )?;
    }
    writeln!(out)
}

/// "Findings": a table per product (then the unreadable files), at most [`MAX_ROWS`]
/// rows in all, folded when there are more than [`FOLD_ABOVE`].
fn findings(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "### Findings")?;
    writeln!(out)?;
    let fold = report.findings.len() > FOLD_ABOVE;
    if fold {
        writeln!(out, "<details>")?;
        writeln!(
            out,
            "<summary>{}</summary>",
            count(report.findings.len(), "finding", "findings")
        )?;
        writeln!(out)?;
    }
    let mut shown = 0;
    for (heading, findings) in &sections(report) {
        if shown == MAX_ROWS {
            break;
        }
        let rows = findings.len().min(MAX_ROWS - shown);
        writeln!(out, "#### {heading}")?;
        writeln!(out)?;
        write_table(out, findings.iter().take(rows).copied())?;
        shown += rows;
    }
    if shown < report.findings.len() {
        let hidden = report.findings.len() - shown;
        writeln!(
            out,
            "…and {hidden} more {}, not shown: see the full report (`--format text` or `sarif`).",
            if hidden == 1 { "finding" } else { "findings" }
        )?;
        writeln!(out)?;
    }
    if fold {
        writeln!(out, "</details>")?;
        writeln!(out)?;
    }
    Ok(())
}

/// The findings by product (heading: product id and file), then the unreadable files.
fn sections(report: &Report) -> Vec<(String, Vec<&Finding>)> {
    let grouped = group(report);
    let mut sections: Vec<(String, Vec<&Finding>)> = Vec::new();
    for domain in &grouped.domains {
        for product in domain.products.iter().filter(|p| !p.findings.is_empty()) {
            let heading = format!(
                "{} · {}",
                code(product.id, false),
                code(product.file, false)
            );
            sections.push((heading, product.findings.clone()));
        }
    }
    if !grouped.unreadable.is_empty() {
        let findings = grouped
            .unreadable
            .iter()
            .flat_map(|g| g.findings.iter().copied())
            .collect();
        sections.push(("Unreadable files".to_owned(), findings));
    }
    sections
}

fn write_table<'a>(
    out: &mut dyn Write,
    findings: impl Iterator<Item = &'a Finding>,
) -> io::Result<()> {
    writeln!(out, "| Severity | Rule | Location | Message |")?;
    writeln!(out, "| --- | --- | --- | --- |")?;
    for f in findings {
        let severity = match (f.severity, &f.waiver) {
            (_, Some(_)) => "💤 waived",
            (Severity::Error, None) => "❌ error",
            (Severity::Warning, None) => "⚠️ warning",
        };
        writeln!(
            out,
            "| {severity} | {} | {} | {} |",
            code(&f.rule, true),
            code(&format!("{}:{}", f.file, f.line), true),
            cell(&f.message)
        )?;
    }
    writeln!(out)
}
