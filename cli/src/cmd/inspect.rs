//! `charter inspect FILE`: the normalized model, exactly the Rego `input`.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use charter_engine::contract::read_bytes;
use clap::Args;

/// Arguments of `charter inspect`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  charter inspect domains/orders/order_events.yaml\n  charter inspect contract.odcs.yaml --locations"
)]
pub struct InspectArgs {
    /// The contract file.
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// A policy folder whose settings (PII classifications, masking properties) the readers use.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// Also print the source line of every value (`{"input": …, "locations": …}`).
    #[arg(long)]
    pub locations: bool,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}

/// Runs `charter inspect`.
pub fn run(args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let pack = crate::policies::load(
        args.policies.as_deref(),
        args.limits.follow_external_symlinks,
    )?;
    let reader = args.limits.reader(pack.settings());
    let bytes = args.limits.read_file(&args.file)?;
    let display = args.file.display().to_string();
    let contract = match read_bytes(&display, &bytes, &reader) {
        Ok(c) => c,
        Err(e) => {
            crate::output::error(&anyhow::anyhow!(
                "{display}:{}: {} (contract/parse)",
                e.line,
                e.message
            ));
            return Ok(ExitCode::from(1));
        }
    };
    let value = if args.locations {
        serde_json::json!({ "input": contract.product, "locations": contract.locations.all(&contract.product) })
    } else {
        serde_json::to_value(&contract.product)?
    };
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &value)?;
    writeln!(out)?;
    Ok(ExitCode::SUCCESS)
}
