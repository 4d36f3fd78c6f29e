//! `markdown`: the impact as a pull-request comment on a policy change.
//!
//! A headline with the totals, the compliance before and after, a table per domain and per
//! rule, then the changes of each domain (at most [`MAX_ROWS`] rows in all, folded in a
//! `<details>` block). Text taken from contracts is escaped: `|` cannot break a table, `<`,
//! `>`, `[` and `]` cannot open HTML or links.

use std::io::{self, Write};

use super::{domain_label, figures_line, totals_line};
use crate::impact::{Change, ChangeKind, Figures, Impact};
use crate::render::Options;
use crate::render::markdown::{MAX_ROWS, cell, code};
use crate::render::text::count;

pub(super) fn render(impact: &Impact, options: &Options, out: &mut dyn Write) -> io::Result<()> {
    headline(impact, out)?;
    if !impact.domains.is_empty() {
        domain_table(impact, out)?;
        rule_table(impact, out)?;
        changes(impact, out)?;
    }
    footer(impact, options, out)
}

/// The title, a status mark with the totals, and the compliance before and after.
fn headline(impact: &Impact, out: &mut dyn Write) -> io::Result<()> {
    let t = &impact.totals;
    let status = if t.added.errors > 0 || t.raised > 0 {
        "❌"
    } else if t.added.warnings > 0 {
        "⚠️"
    } else {
        "✅"
    };
    writeln!(out, "## Charter policy impact")?;
    writeln!(out)?;
    writeln!(out, "{status} **{}**", totals_line(t))?;
    writeln!(out)?;
    writeln!(
        out,
        "Compliance: {} → {}",
        figures_line(&impact.before),
        figures_line(&impact.after)
    )?;
    writeln!(out)
}

fn domain_table(impact: &Impact, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "| Domain | Added errors | Added warnings | Removed | Re-graded | Score before | Score after |"
    )?;
    writeln!(out, "| :--- | ---: | ---: | ---: | ---: | ---: | ---: |")?;
    for d in &impact.domains {
        let score = |f: &Option<Figures>| {
            f.as_ref()
                .map_or_else(|| "–".to_owned(), |f| format!("{:.1}%", f.score))
        };
        writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} |",
            cell(domain_label(d.name.as_deref())),
            d.totals.added.errors,
            d.totals.added.warnings,
            d.totals.removed.total(),
            d.totals.raised + d.totals.lowered,
            score(&d.before),
            score(&d.after)
        )?;
    }
    writeln!(out)
}

fn rule_table(impact: &Impact, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "| Rule | Added | Removed | Re-graded |")?;
    writeln!(out, "| :--- | ---: | ---: | ---: |")?;
    for r in &impact.rules {
        writeln!(
            out,
            "| {} | {} | {} | {} |",
            code(&r.rule, true),
            r.totals.added.total(),
            r.totals.removed.total(),
            r.totals.raised + r.totals.lowered
        )?;
    }
    writeln!(out)
}

/// Each domain's changes, at most [`MAX_ROWS`] in all, folded in a `<details>` block.
fn changes(impact: &Impact, out: &mut dyn Write) -> io::Result<()> {
    let total: usize = impact.domains.iter().map(|d| d.changes.len()).sum();
    writeln!(out, "<details>")?;
    writeln!(
        out,
        "<summary>{}</summary>",
        count(total, "change", "changes")
    )?;
    writeln!(out)?;
    let mut shown = 0;
    for d in &impact.domains {
        if shown == MAX_ROWS {
            break;
        }
        writeln!(out, "#### {}", cell(domain_label(d.name.as_deref())))?;
        writeln!(out)?;
        writeln!(out, "| Change | Severity | Rule | Location | Message |")?;
        writeln!(out, "| --- | --- | --- | --- | --- |")?;
        for c in d.changes.iter().take(MAX_ROWS - shown) {
            change_row(c, out)?;
            shown += 1;
        }
        writeln!(out)?;
    }
    if shown < total {
        writeln!(
            out,
            "…and {} more, not shown: see `--format json`.",
            total - shown
        )?;
        writeln!(out)?;
    }
    writeln!(out, "</details>")?;
    writeln!(out)
}

fn change_row(c: &Change, out: &mut dyn Write) -> io::Result<()> {
    let change = match c.kind {
        ChangeKind::Added => "➕ added",
        ChangeKind::Removed => "➖ removed",
        ChangeKind::SeverityChanged => "🔁 re-graded",
    };
    let severity = match c.previous_severity {
        Some(previous) => format!("{previous} → {}", c.severity),
        None => c.severity.to_string(),
    };
    writeln!(
        out,
        "| {change} | {severity}{} | {} | {} | {} |",
        if c.waived { " (waived)" } else { "" },
        code(&c.rule, true),
        code(&format!("{}:{}", c.file, c.line), true),
        cell(&c.message)
    )
}

fn footer(impact: &Impact, options: &Options, out: &mut dyn Write) -> io::Result<()> {
    writeln!(
        out,
        "<sub>Charter {} · policies {} → {}</sub>",
        cell(&options.tool_version),
        code(&impact.old_revision, true),
        code(&impact.new_revision, true)
    )
}
