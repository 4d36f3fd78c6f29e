//! `charter`: policy-as-code governance for a data mesh.

use charter_cli::{cmd, output};
use charter_engine::render::RenderError;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Charter checks data-product contracts against governance rules written as code
/// (Rego) and decides who may read what (Cedar).
#[derive(Parser, Debug)]
#[command(
    name = "charter",
    version,
    about,
    propagate_version = true,
    max_term_width = 100
)]
#[command(
    after_help = "Examples:\n  charter report testdata/mesh\n  charter check domains/orders/order_events.yaml --format github\n  charter report . --format sarif --output charter.sarif\n  charter inspect domains/orders/order_events.yaml\n\nExit codes: 0 no finding at or above --fail-on, 1 findings at or above it, 2 Charter could not do its job."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Check contract files or folders against the contract rules (fast; for pre-commit and CI).
    Check(cmd::check::CheckArgs),
    /// Report on every contract of a repository: findings, and compliance per domain.
    Report(cmd::report::ReportArgs),
    /// Compare two versions of a contract: classified changes, breaking or not.
    Diff(cmd::diff::DiffArgs),
    /// Print a contract as Charter reads it: the normalized model, exactly the Rego `input`.
    Inspect(cmd::inspect::InspectArgs),
    /// Decide whether a principal may read a product, which columns are masked, which rows filtered.
    Authorize(cmd::authorize::AuthorizeArgs),
    /// Compile the mesh's access decisions into an engine's own policies (Snowflake, Unity Catalog).
    Export(cmd::export::ExportArgs),
    /// Print the Cedar entities Charter builds from a mesh (for Cedar's own tooling).
    Entities(cmd::entities::EntitiesArgs),
    /// Check a policy pack: Rego compiles and follows the conventions, Cedar validates, settings are well formed.
    Validate(cmd::validate::ValidateArgs),
    /// Run a policy pack's tests: Rego `test_*` rules, rule cases and Cedar access cases.
    Test(cmd::test::TestArgs),
    /// List the rules of a policy pack with their severity, title, description and remediation.
    Rules(cmd::rules::RulesArgs),
    /// Serve access decisions and contract evaluation over gRPC (the decision service).
    Serve(Box<cmd::serve::ServeArgs>),
    /// Build, verify or inspect policy bundles (OPA's format) for `charter serve --bundle-url`.
    Bundle(cmd::bundle::BundleArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Command::Check(args) => cmd::check::run(args),
        Command::Report(args) => cmd::report::run(args),
        Command::Inspect(args) => cmd::inspect::run(args),
        Command::Diff(args) => cmd::diff::run(args),
        Command::Authorize(args) => cmd::authorize::run(args),
        Command::Entities(args) => cmd::entities::run(args),
        Command::Export(args) => cmd::export::run(args),
        Command::Validate(args) => cmd::validate::run(args),
        Command::Test(args) => cmd::test::run(args),
        Command::Rules(args) => cmd::rules::run(args),
        Command::Serve(args) => cmd::serve::run(args),
        Command::Bundle(args) => cmd::bundle::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) if is_broken_pipe(&error) => ExitCode::SUCCESS,
        Err(error) => {
            output::error(&error);
            ExitCode::from(2)
        }
    }
}

/// `charter … | head` closes the pipe early: that is not an error worth a message.
fn is_broken_pipe(error: &anyhow::Error) -> bool {
    let broken = |e: &std::io::Error| e.kind() == std::io::ErrorKind::BrokenPipe;
    error.chain().any(|cause| {
        cause.downcast_ref::<std::io::Error>().is_some_and(broken)
            || matches!(cause.downcast_ref::<RenderError>(), Some(RenderError::Io(e)) if broken(e))
    })
}
