//! `text`: the totals, the compliance before and after, then the changes per domain and per rule.
//!
//! ```text
//! Policy impact: 2 findings added (2 errors), none removed
//! Policies: 1a2b3c4d5e6f7a8b (old) → 9f8e7d6c5b4a3210 (new)
//! Compliance: 5 of 6 compliant (83.3%) → 3 of 6 compliant (50.0%)
//!
//! orders: 2 findings added (2 errors), none removed · 100.0% → 50.0%
//!   + error    orders/checkout.yaml:12  sla/availability_too_low  availability 99.9 is below 99.95
//!   ~ error    orders/refunds.yaml:4    sla/freshness             no freshness declared (was warning)
//!
//! By rule
//!   sla/availability_too_low  +2  -0  ~0
//! ```
//!
//! `+` added, `-` removed, `~` severity changed. Colour (red for what is added, green for what is
//! removed) only when [`RenderOptions::color`] asks; control characters from contracts are
//! shown escaped.

use std::io::{self, Write};

use owo_colors::{OwoColorize, Style};

use super::model::{Change, ChangeKind, Impact};
use super::{domain_label, figures_line, totals_line};
use crate::report::RenderOptions;
use crate::report::render::clean;

pub(super) fn render(
    impact: &Impact,
    options: &RenderOptions,
    out: &mut dyn Write,
) -> io::Result<()> {
    let style = |s: Style| if options.color { s } else { Style::new() };
    let bold = style(Style::new().bold());
    let heading = style(Style::new().bold().underline());
    let dim = style(Style::new().dimmed());
    let added = style(Style::new().red().bold());
    let removed = style(Style::new().green().bold());
    let changed = style(Style::new().yellow().bold());

    writeln!(
        out,
        "{} {}",
        "Policy impact:".style(bold),
        totals_line(&impact.totals)
    )?;
    writeln!(
        out,
        "Policies: {} (old) → {} (new)",
        clean(&impact.old_revision),
        clean(&impact.new_revision)
    )?;
    writeln!(
        out,
        "Compliance: {} → {}",
        figures_line(&impact.before),
        figures_line(&impact.after)
    )?;

    for domain in &impact.domains {
        writeln!(out)?;
        write!(
            out,
            "{}: {}",
            clean(domain_label(domain.name.as_deref())).style(heading),
            totals_line(&domain.totals)
        )?;
        match (&domain.before, &domain.after) {
            (Some(b), Some(a)) => write!(out, " · {:.1}% → {:.1}%", b.score, a.score)?,
            (None, Some(a)) => write!(out, " · {:.1}%", a.score)?,
            (Some(b), None) => write!(out, " · was {:.1}%", b.score)?,
            (None, None) => {}
        }
        writeln!(out)?;
        let rows: Vec<String> = domain
            .changes
            .iter()
            .map(|c| format!("{}:{}", clean(&c.file), c.line))
            .collect();
        let location_width = rows.iter().map(|l| l.chars().count()).max().unwrap_or(0);
        let rule_width = domain
            .changes
            .iter()
            .map(|c| clean(&c.rule).chars().count())
            .max()
            .unwrap_or(0);
        for (change, location) in domain.changes.iter().zip(&rows) {
            let (mark, mark_style) = match change.kind {
                ChangeKind::Added => ("+", added),
                ChangeKind::Removed => ("-", removed),
                ChangeKind::SeverityChanged => ("~", changed),
            };
            let mut lines = change.message.lines().map(clean);
            write!(
                out,
                "  {}  {}  {}  {}  {}",
                mark.style(mark_style),
                format_args!("{:<7}", change.severity.as_str()).style(mark_style),
                format_args!("{location:<location_width$}"),
                format_args!("{:<rule_width$}", clean(&change.rule)).style(dim),
                lines.next().unwrap_or_default()
            )?;
            let rest: Vec<_> = lines.collect();
            if !rest.is_empty() {
                write!(out, " {}", rest.join(" "))?;
            }
            writeln!(out, "{}", suffix(change))?;
        }
    }

    if !impact.rules.is_empty() {
        writeln!(out)?;
        writeln!(out, "{}", "By rule".style(heading))?;
        let width = impact
            .rules
            .iter()
            .map(|r| clean(&r.rule).chars().count())
            .max()
            .unwrap_or(0);
        for rule in &impact.rules {
            let t = &rule.totals;
            writeln!(
                out,
                "  {:<width$}  {}  {}  {}",
                clean(&rule.rule),
                format_args!("+{}", t.added.total()).style(added),
                format_args!("-{}", t.removed.total()).style(removed),
                format_args!("~{}", t.raised + t.lowered).style(changed),
            )?;
        }
    }
    Ok(())
}

/// ` (was warning)`, ` (waived)`.
fn suffix(change: &Change) -> String {
    let mut s = String::new();
    if let Some(previous) = change.previous_severity {
        s.push_str(&format!(" (was {previous})"));
    }
    if change.waived {
        s.push_str(" (waived)");
    }
    s
}
