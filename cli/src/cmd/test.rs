//! `charter test [--policies DIR]`: a policy pack's own tests, as `opa test` and
//! `cedar run-tests` run them, in one run: Rego `test_*` rules, rule cases
//! (`tests/rules/*.yaml`) and access cases (`tests/access/*.yaml`), with Rego line coverage.
//!
//! ```text
//! $ charter test --policies testdata/policies/failing_test
//! FAIL  rego/rules/naming_test.rego:12  charter.rules.naming_test.test_lowercase_id_is_denied
//!       the test is undefined: the body stopped at rego/rules/naming_test.rego:14: `count(ids) == 1`
//! SKIP  rego/rules/naming_test.rego:17  charter.rules.naming_test.todo_ids_with_digits
//!       a `todo_` rule: not run
//! FAIL  tests/rules/naming.yaml:8       wrong on purpose - a lowercase id is not denied
//!       expected naming/uppercase_id to be raised (raised: [])
//!
//! rego tests  1 passed, 1 failed, 1 skipped
//! rule cases  1 passed, 1 failed
//!
//! FAILED: 2 of 5 tests failed
//! ```

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use charter_engine::authoring::{TestOptions, TestReport, run_tests};
use charter_engine::render::{Format, Options, render};
use clap::Args;

use crate::output::{self, ColorChoice};

/// Arguments of `charter test`.
#[derive(Args, Debug)]
#[command(
    after_help = "Tests: every Rego rule named test_* passes when true (false, undefined or an error fail it; todo_* rules are skipped); YAML files under tests/ hold rule cases (a contract and the rule ids it must and must not raise) and access cases (a request against a small mesh and the decision expected).\n\nExamples:\n  charter test\n  charter test --policies policies/ --run 'pii' --verbose\n  charter test --coverage --threshold 90\n  charter test --format junit --output charter-tests.xml\n\nExit codes: 0 every test passed (and coverage reached --threshold), 1 a test failed or coverage is below --threshold, 2 the tests could not run."
)]
pub struct TestArgs {
    /// The policy folder to test (rego/, cedar/, data/, tests/) [default: the embedded default pack].
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// Follow symlinks in the policy folder that lead out of it (or out of its git work
    /// tree); by default such a link stops the pack from loading.
    #[arg(long)]
    pub follow_external_symlinks: bool,
    /// Run only the tests whose name matches REGEX: `package.rule` for Rego tests, `file: case` for cases.
    #[arg(long, value_name = "REGEX")]
    pub run: Option<String>,
    /// Report the Rego line coverage of the policy files (tests excluded).
    #[arg(long)]
    pub coverage: bool,
    /// Fail when Rego line coverage is below PCT percent (implies --coverage).
    #[arg(long, value_name = "PCT", value_parser = percentage)]
    pub threshold: Option<f64>,
    /// Output format.
    #[arg(long, short = 'f', default_value = "text", ignore_case = true, value_parser = super::format::of::<TestReport>())]
    pub format: Format,
    /// Write the result to FILE instead of stdout.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// List every test, passed ones too (text output).
    #[arg(long, short = 'v')]
    pub verbose: bool,
    /// Time limit of one Rego test (e.g. `10s`, `500ms`).
    #[arg(long, value_name = "DURATION", default_value = "10s", value_parser = super::duration::time_limit)]
    pub timeout: Duration,
    /// Colour the text output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub color: ColorChoice,
}

fn percentage(s: &str) -> Result<f64, String> {
    let value: f64 = s
        .trim()
        .trim_end_matches('%')
        .parse()
        .map_err(|_| format!("`{s}` is not a percentage; expected e.g. `80` or `92.5`"))?;
    if (0.0..=100.0).contains(&value) {
        Ok(value)
    } else {
        Err(format!("`{s}` is not between 0 and 100"))
    }
}

/// Runs `charter test`.
pub fn run(args: &TestArgs) -> anyhow::Result<ExitCode> {
    let pack = crate::policies::load(args.policies.as_deref(), args.follow_external_symlinks)?;
    let options = TestOptions {
        run: args.run.clone(),
        coverage: args.coverage,
        threshold: args.threshold,
        timeout: args.timeout,
    };
    let report = run_tests(&pack, &options).context("cannot run the tests")?;
    let options = Options {
        color: args.format == Format::Text && args.color.enabled(args.output.is_none()),
        verbose: args.verbose,
        ..Options::default()
    };
    let mut out = output::sink(args.output.as_deref())?;
    render(&report, args.format, &options, &mut out).context("cannot write the test results")?;
    out.flush().context("cannot write the test results")?;
    Ok(if report.passed() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
