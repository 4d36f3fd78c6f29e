//! `charter authorize`: one access decision, as a query engine would ask for it.

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use charter_engine::access::{AccessRequest, Dialect, Outcome, Principal, ProductRef};
use charter_engine::render::{Authorization, Format, Options, render};
use charter_engine::snapshot::{Snapshot, Sources};
use clap::Args;

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
    #[arg(long, short = 'f', default_value = "text", ignore_case = true, value_parser = super::format::of::<Authorization<'static>>())]
    pub format: Format,
    /// Show every policy that was satisfied, errored or skipped, for each action asked.
    #[arg(long)]
    pub explain: bool,
    /// Colour the text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
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
    let options = Options {
        color: args.format == Format::Text && args.color.enabled(true),
        ..Options::default()
    };
    render(
        &Authorization {
            request: &request,
            decision: &decision,
        },
        args.format,
        &options,
        &mut out,
    )?;
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
