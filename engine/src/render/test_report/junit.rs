//! `charter test --format junit`: a test suite per Rego package and per case file, a test
//! case per test (`classname` the suite, `file` and `line` attributes); a failure's message
//! is its reason, a skipped test is `<skipped>`, what a test printed is its `<system-out>`.
//! With a coverage threshold, one more suite, `coverage`, holds a test case that fails when
//! the coverage is below it.

use std::collections::BTreeMap;
use std::io::{self, Write};

use quick_junit::{NonSuccessKind, Report, TestCase, TestCaseStatus, TestSuite};

use crate::authoring::{TestKind, TestReport, TestStatus};

pub(super) fn render(report: &TestReport, out: &mut dyn Write) -> io::Result<()> {
    let mut junit = Report::new("charter test");
    let mut suites: BTreeMap<(TestKind, &str), TestSuite> = BTreeMap::new();
    for test in &report.tests {
        let suite = suites
            .entry((test.kind, test.suite.as_str()))
            .or_insert_with(|| TestSuite::new(test.suite.as_str()));
        let status = match test.status {
            TestStatus::Pass => TestCaseStatus::success(),
            TestStatus::Skip => {
                let mut status = TestCaseStatus::skipped();
                if let Some(reason) = &test.reason {
                    status.set_message(reason.as_str());
                }
                status
            }
            TestStatus::Fail => {
                let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
                let reason = test.reason.as_deref().unwrap_or("failed");
                status
                    .set_message(reason.lines().next().unwrap_or_default())
                    .set_description(format!("{}: {reason}", test.location()));
                status
            }
        };
        let mut case = TestCase::new(test.name.as_str(), status);
        case.set_classname(test.suite.as_str());
        case.extra.insert("file".into(), test.file.as_str().into());
        if let Some(line) = test.line {
            case.extra.insert("line".into(), line.to_string().into());
        }
        if !test.output.is_empty() {
            case.set_system_out(test.output.join("\n"));
        }
        suite.add_test_case(case);
    }
    junit.add_test_suites(suites.into_values());
    if let Some(coverage) = &report.coverage
        && let Some(threshold) = coverage.threshold
    {
        let message = format!(
            "Rego line coverage {:.1}% ({}/{} lines), threshold {threshold:.1}%",
            coverage.percent, coverage.covered, coverage.lines
        );
        let status = if coverage.meets_threshold() {
            TestCaseStatus::success()
        } else {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            status.set_message(message.as_str());
            status
        };
        let mut case = TestCase::new("threshold", status);
        case.set_classname("coverage");
        case.set_system_out(message);
        let mut suite = TestSuite::new("coverage");
        suite.add_test_case(case);
        junit.add_test_suite(suite);
    }
    // Serialized whole first: quick-junit's error hides the kind of a write error.
    let xml = junit.to_string().map_err(io::Error::other)?;
    out.write_all(xml.as_bytes())
}
