//! Running every test of a pack: Rego `test_*` rules, rule cases and access cases, into one
//! [`TestReport`].
//!
//! Test files are the YAML files under `tests/` with a `cases:` list: access cases when a
//! case has a `request` (or the file a `contracts` or `mesh`), rule cases otherwise. YAML
//! files with an `apiVersion` are contracts an access-case file's `mesh` folder holds, not
//! tests; any other YAML file there is reported as a failed test, so that a typo cannot hide
//! a test file.

use std::sync::Arc;
use std::time::Duration;

use serde_json::Value as Json;

use super::access_cases;
use super::coverage;
use super::rego_tests;
use super::rule_cases::{self, bad_file};
use super::test_report::{TestKind, TestReport};
use crate::access::{AccessError, AccessPolicies};
use crate::contract::ReaderSettings;
use crate::error::PackError;
use crate::pack::PolicyPack;
use crate::rules::{RuleSet, RuleSetOptions};

/// How to run a pack's tests.
#[derive(Debug, Clone)]
pub struct TestOptions {
    /// Run only the tests whose id matches this regular expression (`--run`): `package.rule`
    /// for Rego tests (`charter.rules.pii_test.test_masking_required`), `file: case name` for
    /// rule and access cases.
    pub run: Option<String>,
    /// Measure the Rego line coverage of the Rego tests.
    pub coverage: bool,
    /// The coverage percentage below which the run fails; implies `coverage`.
    pub threshold: Option<f64>,
    /// The time budget of one Rego test.
    pub timeout: Duration,
}

impl Default for TestOptions {
    fn default() -> Self {
        Self {
            run: None,
            coverage: false,
            threshold: None,
            timeout: Duration::from_secs(10),
        }
    }
}

/// What stops the tests from running at all (exit code 2 on the CLI).
#[derive(Debug, thiserror::Error)]
pub enum TestError {
    /// The `--run` pattern is not a regular expression.
    #[error("invalid `--run` pattern `{pattern}`: {message}")]
    Filter {
        /// The pattern.
        pattern: String,
        /// Why it does not parse.
        message: String,
    },
    /// The coverage threshold is not a percentage.
    #[error("the coverage threshold `{0}` is not a percentage between 0 and 100")]
    Threshold(f64),
    /// The Rego modules (tests included) do not parse or compile.
    #[error("the Rego modules do not compile: {0}")]
    Rego(String),
    /// The contract rules do not compile, so rule cases cannot run.
    #[error("the contract rules do not compile, so the rule cases cannot run")]
    Rules(#[source] PackError),
    /// The access policies cannot be loaded, so access cases cannot run.
    #[error("the access policies cannot be loaded, so the access cases cannot run")]
    Access(#[source] AccessError),
}

/// What a YAML file under `tests/` is.
enum TestFile {
    Rules,
    Access,
    Fixture,
    Unknown(String),
}

fn classify(text: &str) -> TestFile {
    let value: Json = match yaml_serde::from_str(text) {
        Ok(value) => value,
        Err(e) => return TestFile::Unknown(format!("not valid YAML: {e}")),
    };
    match value.get("cases") {
        Some(Json::Array(cases)) => {
            let access = cases.iter().any(|c| c.get("request").is_some())
                || value.get("contracts").is_some()
                || value.get("mesh").is_some();
            if access {
                TestFile::Access
            } else {
                TestFile::Rules
            }
        }
        Some(_) => TestFile::Unknown("`cases` must be a list of cases".into()),
        // A contract, or a normalized product (`id` and `fields`, as `charter inspect`
        // prints it) that rule-case files name in `base_from`.
        None if value.get("apiVersion").is_some()
            || (value.get("id").is_some() && value.get("fields").is_some()) =>
        {
            TestFile::Fixture
        }
        None => TestFile::Unknown(
            "not a test file: expected `cases:`, a list of rule cases (with `raises`) or access cases (with `request`)"
                .into(),
        ),
    }
}

/// Runs every test of `pack` that `options` select.
///
/// # Errors
/// A bad `--run` pattern or threshold; Rego that does not compile; Cedar policies that do
/// not load when there are access cases to run. Failing tests are not errors: see
/// [`TestReport::passed`].
pub fn run_tests(pack: &PolicyPack, options: &TestOptions) -> Result<TestReport, TestError> {
    let filter = match &options.run {
        Some(pattern) => Some(regex::Regex::new(pattern).map_err(|e| {
            TestError::Filter {
                pattern: pattern.clone(),
                message: e
                    .to_string()
                    .lines()
                    .last()
                    .unwrap_or_default()
                    .trim()
                    .to_owned(),
            }
        })?),
        None => None,
    };
    if let Some(t) = options.threshold
        && !(0.0..=100.0).contains(&t)
    {
        return Err(TestError::Threshold(t));
    }
    let selected = |id: &str| filter.as_ref().is_none_or(|re| re.is_match(id));
    let coverage_on = options.coverage || options.threshold.is_some();

    let mut results = Vec::new();
    let mut coverage = None;
    if pack.rego().next().is_some() {
        let (modules, engine) = rego_tests::load(pack).map_err(TestError::Rego)?;
        let run = rego_tests::run(&modules, &engine, &selected, coverage_on, options.timeout);
        results.extend(run.results);
        if coverage_on {
            let report = run.coverage.unwrap_or_default();
            coverage = Some(coverage::measure(&report, &modules, options.threshold));
        }
    }

    let reader = ReaderSettings::from_settings(pack.settings());
    let mut rules: Option<RuleSet> = None;
    let mut policies: Option<Arc<AccessPolicies>> = None;
    let mut rule_results = Vec::new();
    let mut access_results = Vec::new();
    for file in pack.files().iter().filter(|f| {
        f.path.starts_with("tests/") && (f.path.ends_with(".yaml") || f.path.ends_with(".yml"))
    }) {
        match classify(&file.text) {
            TestFile::Rules => {
                let rules = match &rules {
                    Some(rules) => rules,
                    None => rules.insert(
                        RuleSet::compile(pack, RuleSetOptions::default())
                            .map_err(TestError::Rules)?,
                    ),
                };
                rule_results.extend(rule_cases::run(
                    rules, &reader, pack, &file.path, &file.text, &selected,
                ));
            }
            TestFile::Access => {
                let policies = match &policies {
                    Some(policies) => policies,
                    None => policies.insert(Arc::new(
                        AccessPolicies::from_pack(pack).map_err(TestError::Access)?,
                    )),
                };
                access_results.extend(access_cases::run(
                    policies, pack, &file.path, &file.text, &selected,
                ));
            }
            TestFile::Fixture => {}
            TestFile::Unknown(why) => {
                let bad = bad_file(TestKind::RuleCase, &file.path, why);
                if selected(&bad.id()) {
                    rule_results.push(bad);
                }
            }
        }
    }
    results.extend(rule_results);
    results.extend(access_results);
    Ok(TestReport::new(
        pack.revision(),
        options.run.clone(),
        results,
        coverage,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_files_under_tests_are_classified() {
        assert!(matches!(
            classify("cases:\n  - name: a\n    raises: [x/y]\n"),
            TestFile::Rules
        ));
        assert!(matches!(
            classify("cases:\n  - name: a\n    request: {}\n"),
            TestFile::Access
        ));
        assert!(matches!(
            classify("apiVersion: datamesh.io/v1\nkind: DataProduct\n"),
            TestFile::Fixture
        ));
        assert!(matches!(classify("case: []\n"), TestFile::Unknown(_)));
        assert!(matches!(classify("a: [\n"), TestFile::Unknown(_)));
    }
}
