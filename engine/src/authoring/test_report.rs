//! What `charter test` reports: every test with its outcome, counts per kind, and (with
//! `--coverage`) the Rego line coverage.

use serde::Serialize;

use super::coverage::Coverage;

/// Version of the JSON document of a [`TestReport`]; bumped on any incompatible change.
pub const TEST_REPORT_VERSION: u32 = 1;

/// What kind of test.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum TestKind {
    /// A Rego `test_*` rule (or a skipped `todo_*` rule).
    Rego,
    /// A rule case: a contract and the rule ids it must and must not raise.
    RuleCase,
    /// An access case: a request against a small mesh and the decision expected.
    AccessCase,
}

impl TestKind {
    /// `rego tests`, `rule cases`, `access cases`: how the text output names the kind.
    #[must_use]
    pub fn label(self) -> &'static str {
        match self {
            TestKind::Rego => "rego tests",
            TestKind::RuleCase => "rule cases",
            TestKind::AccessCase => "access cases",
        }
    }
}

/// How a test ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum TestStatus {
    /// It held.
    Pass,
    /// It did not (see the reason).
    Fail,
    /// It was not run (a `todo_*` rule).
    Skip,
}

/// One test and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TestResult {
    /// What kind of test.
    pub kind: TestKind,
    /// The Rego package (`charter.rules.pii_test`), or the case file (`tests/rules/pii.yaml`).
    pub suite: String,
    /// The rule (`test_masking_required`), or the case's name.
    pub name: String,
    /// The file the test is written in, relative to the pack.
    pub file: String,
    /// 1-based line of the test in its file.
    pub line: Option<u32>,
    /// Pass, fail or skip.
    pub status: TestStatus,
    /// Why it failed (or was skipped).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// What the test printed (`print(…)` in Rego), one entry a call.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub output: Vec<String>,
}

impl TestResult {
    /// The name `--run` matches: `package.rule` for Rego tests, `file: case` for cases.
    #[must_use]
    pub fn id(&self) -> String {
        test_id(self.kind, &self.suite, &self.name)
    }

    /// `file:line`, or the file alone.
    #[must_use]
    pub fn location(&self) -> String {
        match self.line {
            Some(line) => format!("{}:{line}", self.file),
            None => self.file.clone(),
        }
    }
}

/// The name `--run` matches for a test of `kind` in `suite`.
pub(crate) fn test_id(kind: TestKind, suite: &str, name: &str) -> String {
    match kind {
        TestKind::Rego => format!("{suite}.{name}"),
        TestKind::RuleCase | TestKind::AccessCase => format!("{suite}: {name}"),
    }
}

/// Passed, failed and skipped tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TestCounts {
    /// Tests that held.
    pub passed: usize,
    /// Tests that did not.
    pub failed: usize,
    /// Tests not run.
    pub skipped: usize,
}

impl TestCounts {
    fn add(&mut self, status: TestStatus) {
        match status {
            TestStatus::Pass => self.passed += 1,
            TestStatus::Fail => self.failed += 1,
            TestStatus::Skip => self.skipped += 1,
        }
    }

    /// Every test counted.
    #[must_use]
    pub fn total(&self) -> usize {
        self.passed + self.failed + self.skipped
    }
}

/// Counts, in all and per kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct TestSummary {
    /// Every test.
    pub total: TestCounts,
    /// Rego `test_*` rules.
    pub rego: TestCounts,
    /// Rule cases.
    pub rule_cases: TestCounts,
    /// Access cases.
    pub access_cases: TestCounts,
}

impl TestSummary {
    /// The counts of one kind.
    #[must_use]
    pub fn of(&self, kind: TestKind) -> &TestCounts {
        match kind {
            TestKind::Rego => &self.rego,
            TestKind::RuleCase => &self.rule_cases,
            TestKind::AccessCase => &self.access_cases,
        }
    }
}

/// The result of running a pack's tests. Serialized, it is the document
/// `charter test --format json` prints.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestReport {
    /// [`TEST_REPORT_VERSION`].
    pub version: u32,
    /// The pack's revision.
    pub revision: String,
    /// The `--run` pattern the tests were selected with, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub filter: Option<String>,
    /// Counts.
    pub summary: TestSummary,
    /// Every test run (or skipped): Rego tests, then rule cases, then access cases.
    pub tests: Vec<TestResult>,
    /// Rego line coverage, when asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub coverage: Option<Coverage>,
}

impl TestReport {
    /// Counts `tests` (kept in the order given).
    #[must_use]
    pub fn new(
        revision: impl Into<String>,
        filter: Option<String>,
        tests: Vec<TestResult>,
        coverage: Option<Coverage>,
    ) -> Self {
        let mut summary = TestSummary::default();
        for test in &tests {
            summary.total.add(test.status);
            match test.kind {
                TestKind::Rego => summary.rego.add(test.status),
                TestKind::RuleCase => summary.rule_cases.add(test.status),
                TestKind::AccessCase => summary.access_cases.add(test.status),
            }
        }
        Self {
            version: TEST_REPORT_VERSION,
            revision: revision.into(),
            filter,
            summary,
            tests,
            coverage,
        }
    }

    /// No test failed, and coverage (when measured) is not below its threshold.
    #[must_use]
    pub fn passed(&self) -> bool {
        self.summary.total.failed == 0
            && self.coverage.as_ref().is_none_or(Coverage::meets_threshold)
    }
}
