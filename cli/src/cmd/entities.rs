//! `charter entities --mesh DIR`: the Cedar entities Charter builds from a mesh, in
//! Cedar's entities JSON format, to run the same request through Cedar's own tooling:
//!
//! ```text
//! charter entities --mesh testdata/mesh > entities.json
//! cedar authorize --policies policies/cedar/products.cedar --schema policies/cedar/charter.cedarschema \
//!     --entities entities.json --principal 'User::"ana"' --action 'Action::"query"' \
//!     --resource 'DataProduct::"orders.order_events"'
//! ```
//! (The principal is not a mesh entity: add it to the file, e.g.
//! `{"uid": {"type": "User", "id": "ana"}, "attrs": {"roles": ["analyst"], "groups": []}, "parents": [], "tags": {}}`.)

use std::io::{self, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;

/// Arguments of `charter entities`.
#[derive(Args, Debug)]
#[command(after_help = "Example:\n  charter entities --mesh testdata/mesh > entities.json")]
pub struct EntitiesArgs {
    /// The mesh: a folder of data-product contracts.
    #[arg(long, value_name = "DIR")]
    pub mesh: PathBuf,
    /// A policy folder (rego/, cedar/, data/) to use instead of the embedded default pack.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}

/// Runs `charter entities`.
pub fn run(args: &EntitiesArgs) -> anyhow::Result<ExitCode> {
    let snapshot =
        super::authorize::load_snapshot(&args.mesh, args.policies.as_deref(), &args.limits, None)?;
    let json = snapshot.access.entities_json()?;
    let mut out = io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, &json)?;
    writeln!(out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}
