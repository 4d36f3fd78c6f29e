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
//! removed) only when [`Options::color`] asks; control characters from contracts are
//! shown escaped.

use std::io::{self, Write};

use owo_colors::{OwoColorize, Style};

use super::{domain_label, figures_line, totals_line};
use crate::impact::{Change, ChangeKind, DomainImpact, Impact};
use crate::render::Options;
use crate::render::text::clean;

pub(super) fn render(impact: &Impact, options: &Options, out: &mut dyn Write) -> io::Result<()> {
    let styles = Styles::new(options.color);
    writeln!(
        out,
        "{} {}",
        "Policy impact:".style(styles.bold),
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
        domain_section(domain, &styles, out)?;
    }
    if !impact.rules.is_empty() {
        rule_section(impact, &styles, out)?;
    }
    Ok(())
}

/// The styles of the text impact: plain unless colour is asked for.
struct Styles {
    bold: Style,
    heading: Style,
    dim: Style,
    added: Style,
    removed: Style,
    changed: Style,
}

impl Styles {
    fn new(color: bool) -> Self {
        let style = |s: Style| if color { s } else { Style::new() };
        Self {
            bold: style(Style::new().bold()),
            heading: style(Style::new().bold().underline()),
            dim: style(Style::new().dimmed()),
            added: style(Style::new().red().bold()),
            removed: style(Style::new().green().bold()),
            changed: style(Style::new().yellow().bold()),
        }
    }
}

/// A domain's headline (totals, score before and after), then its changes, aligned.
fn domain_section(domain: &DomainImpact, styles: &Styles, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    write!(
        out,
        "{}: {}",
        clean(domain_label(domain.name.as_deref())).style(styles.heading),
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
            ChangeKind::Added => ("+", styles.added),
            ChangeKind::Removed => ("-", styles.removed),
            ChangeKind::SeverityChanged => ("~", styles.changed),
        };
        let mut lines = change.message.lines().map(clean);
        write!(
            out,
            "  {}  {}  {}  {}  {}",
            mark.style(mark_style),
            format_args!("{:<7}", change.severity.as_str()).style(mark_style),
            format_args!("{location:<location_width$}"),
            format_args!("{:<rule_width$}", clean(&change.rule)).style(styles.dim),
            lines.next().unwrap_or_default()
        )?;
        let rest: Vec<_> = lines.collect();
        if !rest.is_empty() {
            write!(out, " {}", rest.join(" "))?;
        }
        writeln!(out, "{}", suffix(change))?;
    }
    Ok(())
}

/// "By rule": each rule's added, removed and re-graded counts.
fn rule_section(impact: &Impact, styles: &Styles, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out)?;
    writeln!(out, "{}", "By rule".style(styles.heading))?;
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
            format_args!("+{}", t.added.total()).style(styles.added),
            format_args!("-{}", t.removed.total()).style(styles.removed),
            format_args!("~{}", t.raised + t.lowered).style(styles.changed),
        )?;
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
