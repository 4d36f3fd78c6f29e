//! `charter diff OLD NEW`: the classified changes between two versions of a contract.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use charter_engine::contract::{Contract, ReaderSettings, read_bytes};

use super::limits::LimitArgs;
use charter_engine::diff::DiffDocument;
use charter_engine::render::{Format, Options, render};
use clap::Args;

use crate::output::{self, ColorChoice};

/// Arguments of `charter diff`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  charter diff old/order_events.yaml domains/orders/order_events.yaml\n  git show origin/main:domains/orders/order_events.yaml > /tmp/old.yaml\n  charter diff /tmp/old.yaml domains/orders/order_events.yaml --format json\n\nExit codes: 0 no breaking change, 1 breaking or governance-breaking changes, 2 a file could not be read."
)]
pub struct DiffArgs {
    /// The old version of the contract.
    #[arg(value_name = "OLD")]
    pub old: PathBuf,
    /// The new version of the contract.
    #[arg(value_name = "NEW")]
    pub new: PathBuf,
    /// A policy folder whose settings the contract readers use, instead of the embedded pack's.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// Output format.
    #[arg(long, short = 'f', default_value = "text", ignore_case = true, value_parser = super::format::of::<DiffDocument>())]
    pub format: Format,
    /// Colour the text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
    #[command(flatten)]
    pub limits: LimitArgs,
}

/// Runs `charter diff`.
pub fn run(args: &DiffArgs) -> anyhow::Result<ExitCode> {
    let pack = crate::policies::load(
        args.policies.as_deref(),
        args.limits.follow_external_symlinks,
    )?;
    let reader = args.limits.reader(pack.settings());
    let old = load(&args.old, &reader, &args.limits)?;
    let new = load(&args.new, &reader, &args.limits)?;
    let document = DiffDocument::build(&old, &new);
    let mut out = output::sink(None)?;
    let options = Options {
        color: args.format == Format::Text && args.color.enabled(true),
        ..Options::default()
    };
    render(&document, args.format, &options, &mut out).context("cannot write the diff")?;
    out.flush().context("cannot write the diff")?;
    Ok(if document.breaking {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Reads one contract file; anything wrong with it stops the command (exit 2).
fn load(path: &Path, reader: &ReaderSettings, limits: &LimitArgs) -> anyhow::Result<Contract> {
    let bytes = limits.read_file(path)?;
    let display = path.to_string_lossy().replace('\\', "/");
    read_bytes(&display, &bytes, reader)
        .map_err(|e| anyhow::anyhow!("`{display}` is not a readable contract: {e}"))
}
