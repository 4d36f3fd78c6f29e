//! An access decision (`charter authorize`): for people (colour only when asked), or as JSON.

use std::io::{self, Write};

use owo_colors::{OwoColorize, Style};

use super::{Format, Options, Render, json, unsupported};
use crate::access::{
    AccessRequest, ColumnEffect, Decision, Explanation, Outcome, PolicyOutcome, ProductEffect,
    Reason,
};

/// Styles of the text output (all plain when colour is off).
struct Paint {
    allow: Style,
    mask: Style,
    deny: Style,
    strong: Style,
    dim: Style,
}

impl Paint {
    fn new(color: bool) -> Self {
        if color {
            Self {
                allow: Style::new().green().bold(),
                mask: Style::new().yellow().bold(),
                deny: Style::new().red().bold(),
                strong: Style::new().bold(),
                dim: Style::new().dimmed(),
            }
        } else {
            let plain = Style::new();
            Self {
                allow: plain,
                mask: plain,
                deny: plain,
                strong: plain,
                dim: plain,
            }
        }
    }

    fn outcome(&self, outcome: Outcome) -> Style {
        match outcome {
            Outcome::Allow => self.allow,
            Outcome::Partial => self.mask,
            Outcome::Deny => self.deny,
        }
    }

    fn effect(&self, effect: ColumnEffect) -> Style {
        match effect {
            ColumnEffect::Allow => self.allow,
            ColumnEffect::Mask => self.mask,
            ColumnEffect::Deny => self.deny,
        }
    }
}

fn reason_text(reason: &Reason) -> &str {
    &reason.message
}

/// An access decision with the request it answers (`charter authorize`): as text, for
/// people; as JSON, the decision as the decision service answers it.
#[derive(Debug, Clone, Copy)]
pub struct Authorization<'a> {
    /// The request.
    pub request: &'a AccessRequest,
    /// The engine's answer to it.
    pub decision: &'a Decision,
}

impl Render for Authorization<'_> {
    const DOCUMENT: &'static str = "an access decision";
    const FORMATS: &'static [Format] = &[Format::Text, Format::Json];

    fn write(&self, format: Format, options: &Options, out: &mut dyn Write) -> io::Result<()> {
        match format {
            Format::Text => text(out, self.request, self.decision, options.color),
            Format::Json => json(self.decision, out),
            other => Err(unsupported::<Self>(other)),
        }
    }
}

/// Writes `d`, the answer to `request`, for people: the outcome, each column's effect
/// with its mask, the row filters, the explanation when there is one, and the ids.
fn text(out: &mut dyn Write, request: &AccessRequest, d: &Decision, color: bool) -> io::Result<()> {
    let paint = &Paint::new(color);
    write_summary(out, request, d, paint)?;
    write_effects(out, d, paint)?;
    if !d.row_filters.is_empty() {
        writeln!(out, "row filters (AND into WHERE, {}):", d.dialect)?;
        for filter in &d.row_filters {
            match &filter.reason {
                Some(reason) => writeln!(
                    out,
                    "  {}  {}",
                    filter.sql.style(paint.strong),
                    reason.style(paint.dim)
                )?,
                None => writeln!(out, "  {}", filter.sql.style(paint.strong))?,
            }
        }
    }
    if let Some(explanation) = &d.explanation {
        write_explanation(out, explanation, paint)?;
    }
    writeln!(
        out,
        "{}",
        format!(
            "decision {}  policies {}  mesh {}",
            d.decision_id, d.revision.policies, d.revision.mesh
        )
        .style(paint.dim)
    )
}

/// `allow: `ana` may query `sales.orders``, or what is denied.
fn write_summary(
    out: &mut dyn Write,
    request: &AccessRequest,
    d: &Decision,
    paint: &Paint,
) -> io::Result<()> {
    let product = d
        .product
        .id
        .clone()
        .or_else(|| d.product.table.clone())
        .unwrap_or_default();
    let denied = d
        .columns
        .iter()
        .filter(|c| c.effect == ColumnEffect::Deny)
        .count();
    let summary = match (d.decision, d.product.effect) {
        (_, ProductEffect::Deny) => format!("`{}` may not query `{product}`", request.principal.id),
        (Outcome::Allow, _) => format!("`{}` may query `{product}`", request.principal.id),
        _ => format!(
            "`{}` may query `{product}`; {denied} of {} columns denied",
            request.principal.id,
            d.columns.len()
        ),
    };
    writeln!(
        out,
        "{}: {summary}",
        d.decision.as_str().style(paint.outcome(d.decision))
    )
}

/// The product's effect and reasons, then each column's effect, mask and reasons.
fn write_effects(out: &mut dyn Write, d: &Decision, paint: &Paint) -> io::Result<()> {
    let width = d
        .columns
        .iter()
        .map(|c| c.name.chars().count())
        .max()
        .unwrap_or(0)
        .max(7);
    let product_effect = match d.product.effect {
        ProductEffect::Allow => "allow".style(paint.allow).to_string(),
        ProductEffect::Deny => "deny ".style(paint.deny).to_string(),
    };
    let mut reasons = d.reasons.iter();
    let first = reasons.next().map_or("", reason_text);
    writeln!(out, "  {:<width$}  {product_effect}  {first}", "product")?;
    for reason in reasons {
        writeln!(out, "  {:<width$}         {}", "", reason_text(reason))?;
    }
    for column in &d.columns {
        let effect = format!("{:<5}", column.effect.as_str())
            .style(paint.effect(column.effect))
            .to_string();
        let mut lines: Vec<String> = Vec::new();
        if let (Some(method), Some(expr)) = (column.mask_method, &column.mask_expression) {
            lines.push(format!("{}: {expr}", method.as_str().style(paint.strong)));
        }
        lines.extend(
            column
                .reasons
                .iter()
                .map(|r| reason_text(r).style(paint.dim).to_string()),
        );
        let mut lines = lines.into_iter();
        writeln!(
            out,
            "  {:<width$}  {effect}  {}",
            column.name,
            lines.next().unwrap_or_default()
        )?;
        for line in lines {
            writeln!(out, "  {:<width$}         {line}", "")?;
        }
    }
    Ok(())
}

/// `--explain`: every Cedar evaluation, each policy's outcome with its file and line.
fn write_explanation(
    out: &mut dyn Write,
    explanation: &Explanation,
    paint: &Paint,
) -> io::Result<()> {
    writeln!(out, "explain:")?;
    for evaluation in &explanation.evaluations {
        let answer = if evaluation.allowed {
            "allow".style(paint.allow)
        } else {
            "deny".style(paint.deny)
        };
        writeln!(
            out,
            "  {} on {}: {answer}",
            evaluation.action.style(paint.strong),
            evaluation.resource
        )?;
        let id_width = evaluation
            .policies
            .iter()
            .map(|p| p.id.chars().count())
            .max()
            .unwrap_or(0);
        for policy in &evaluation.policies {
            let outcome = format!("{:<9}", policy.outcome.as_str());
            let outcome = match policy.outcome {
                PolicyOutcome::Satisfied => outcome.style(paint.strong).to_string(),
                PolicyOutcome::Errored => outcome.style(paint.deny).to_string(),
                PolicyOutcome::Skipped => outcome.style(paint.dim).to_string(),
            };
            writeln!(
                out,
                "    {outcome}  {:<6}  {:<id_width$}  {}:{}{}",
                policy.effect,
                policy.id,
                policy.file,
                policy.line,
                policy
                    .error
                    .as_deref()
                    .map(|e| format!("  {e}"))
                    .unwrap_or_default()
            )?;
        }
    }
    Ok(())
}
