//! `charter authorize`: one access decision, as a query engine would ask for it.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use charter_engine::access::{
    AccessRequest, ColumnEffect, Decision, Dialect, Explanation, Outcome, PolicyOutcome, Principal,
    ProductEffect, ProductRef, Reason,
};
use charter_engine::snapshot::{Snapshot, Sources};
use clap::{Args, ValueEnum};
use owo_colors::{OwoColorize, Style};

use crate::output::ColorChoice;

/// Arguments of `charter authorize`.
#[derive(Args, Debug)]
#[command(
    group = clap::ArgGroup::new("target").required(true).args(["product", "table"]),
    after_help = "Examples:\n  charter authorize --mesh testdata/mesh --principal ana --role analyst \\\n      --product orders.order_events --column order_id --column customer_id\n  charter authorize --mesh . --principal svc-bi --role analyst --attr region=eu \\\n      --table lake.orders.order_events --format json\n\nExit codes: 0 allowed (masks included), 1 denied or partially denied, 2 could not decide (bad input, policies that do not validate, an unreadable mesh)."
)]
pub struct AuthorizeArgs {
    /// The mesh: a folder of data-product contracts.
    #[arg(long, value_name = "DIR")]
    pub mesh: PathBuf,
    /// A policy folder (rego/, cedar/, data/) to use instead of the embedded default pack.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// The principal's id.
    #[arg(long, value_name = "ID")]
    pub principal: String,
    /// A principal directory (YAML: users and groups with roles, groups, attributes) that
    /// completes the principal.
    #[arg(long, value_name = "FILE")]
    pub principals: Option<PathBuf>,
    /// A role of the principal (repeatable).
    #[arg(long = "role", value_name = "ROLE")]
    pub roles: Vec<String>,
    /// A group of the principal (repeatable), e.g. its team `team-orders@acme.example`.
    #[arg(long = "group", value_name = "GROUP")]
    pub groups: Vec<String>,
    /// A string attribute of the principal (repeatable), e.g. `region=eu`.
    #[arg(long = "attr", value_name = "KEY=VALUE", value_parser = parse_attribute)]
    pub attributes: Vec<(String, String)>,
    /// The product, by id (`<domain>.<product>`).
    #[arg(long, value_name = "ID")]
    pub product: Option<String>,
    /// The product, by the physical table that serves it.
    #[arg(long, value_name = "CATALOG.SCHEMA.TABLE")]
    pub table: Option<String>,
    /// A column the query reads (repeatable); none means every column of the product.
    #[arg(long = "column", value_name = "COLUMN")]
    pub columns: Vec<String>,
    /// Why the data is read (given to policies as `context.purpose`).
    #[arg(long, value_name = "PURPOSE")]
    pub purpose: Option<String>,
    /// SQL dialect of mask expressions and row filters [default: the pack's, trino].
    #[arg(long, value_name = "trino|ansi", value_parser = parse_dialect)]
    pub dialect: Option<Dialect>,
    /// Output format.
    #[arg(long, short = 'f', value_enum, default_value_t = AuthorizeFormat::Text)]
    pub format: AuthorizeFormat,
    /// Show every policy that was satisfied, errored or skipped, for each action asked.
    #[arg(long)]
    pub explain: bool,
    /// Colour the text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}

/// Output formats of `charter authorize`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuthorizeFormat {
    /// For people.
    Text,
    /// The decision as JSON (what the decision service answers).
    Json,
}

fn parse_attribute(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((key, value)) if !key.trim().is_empty() => {
            Ok((key.trim().to_owned(), value.to_owned()))
        }
        _ => Err(format!("expected KEY=VALUE, got `{s}`")),
    }
}

fn parse_dialect(s: &str) -> Result<Dialect, String> {
    s.parse::<Dialect>().map_err(|e| e.to_string())
}

/// Runs `charter authorize`.
pub fn run(args: &AuthorizeArgs) -> anyhow::Result<ExitCode> {
    let snapshot = load_snapshot(
        &args.mesh,
        args.policies.as_deref(),
        &args.limits,
        args.principals.as_deref(),
    )?;
    let engine = &snapshot.access;
    let request = AccessRequest {
        principal: snapshot.directory.resolve(&Principal {
            id: args.principal.clone(),
            roles: args.roles.clone(),
            groups: args.groups.clone(),
            attributes: args.attributes.iter().cloned().collect(),
        }),
        product: match (&args.product, &args.table) {
            (Some(id), _) => ProductRef::Id(id.clone()),
            (None, Some(table)) => ProductRef::Table(table.clone()),
            (None, None) => {
                anyhow::bail!("give the product with --product ID or --table CATALOG.SCHEMA.TABLE")
            }
        },
        columns: args.columns.clone(),
        purpose: args.purpose.clone(),
        dialect: args.dialect,
    };
    let decision = if args.explain {
        engine.explain(&request)
    } else {
        engine.decide(&request)
    }
    .context("cannot decide the request")?;

    let mut out = io::stdout().lock();
    match args.format {
        AuthorizeFormat::Json => {
            serde_json::to_writer_pretty(&mut out, &decision)?;
            writeln!(out)?;
        }
        AuthorizeFormat::Text => {
            let paint = Paint::new(args.color.enabled(true));
            write_text(&mut out, &request, &decision, &paint)?;
        }
    }
    out.flush()?;
    Ok(if decision.decision == Outcome::Allow {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}

/// Loads the pack and builds the snapshot of the mesh (with the principal directory, when
/// given); unreadable contracts and policy warnings go to stderr.
pub(crate) fn load_snapshot(
    mesh_dir: &std::path::Path,
    policies: Option<&std::path::Path>,
    limits: &super::limits::LimitArgs,
    principals: Option<&std::path::Path>,
) -> anyhow::Result<Snapshot> {
    let reading = limits.reading();
    let pack = crate::policies::load(policies, reading.follow_external_symlinks)?;
    let snapshot = Snapshot::load(&Sources {
        pack: &pack,
        mesh: mesh_dir,
        reading: &reading,
        principals,
    })?;
    let mut err = io::stderr().lock();
    for warning in &snapshot.warnings {
        let _ = writeln!(err, "warning: {warning}");
    }
    for failure in &snapshot.unreadable {
        let _ = writeln!(
            err,
            "warning: {}:{}: not a readable contract ({}); its product is unknown",
            failure.file, failure.line, failure.message
        );
    }
    Ok(snapshot)
}

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

fn write_text(
    out: &mut dyn Write,
    request: &AccessRequest,
    d: &Decision,
    paint: &Paint,
) -> io::Result<()> {
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
