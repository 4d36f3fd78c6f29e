//! `junit`: JUnit XML, as CI systems read test results.
//!
//! A test suite per domain and a test case per product (`name` the product id, `classname` the
//! domain, `file` the contract); a product with error findings fails: the `<failure>` message
//! is the first error (`rule: message`, `(+N more)` when there are others) and its text lists
//! every error as `file:line: rule: message`, one a line. Warnings go to the test case's
//! `<system-out>`. Files that could not be read as products form one more suite,
//! `unreadable files`, with a test case per file.
//!
//! A test case holds one `<failure>`: CI systems read only the first, so the failure carries
//! every error finding of the product rather than one element each.

use std::io::{self, Write};

use quick_junit::{NonSuccessKind, Report as JunitReport, TestCase, TestCaseStatus, TestSuite};

use super::group::group;
use crate::report::Report;
use crate::report::{Finding, Severity};

/// The name of the suite of files that were not read as products.
pub(super) const UNREADABLE_SUITE: &str = "unreadable files";

pub(super) fn render(report: &Report, out: &mut dyn Write) -> io::Result<()> {
    let grouped = group(report);
    let mut junit = JunitReport::new("charter");
    for domain in &grouped.domains {
        let mut suite = TestSuite::new(domain.name);
        for product in &domain.products {
            suite.add_test_case(test_case(
                product.id,
                domain.name,
                product.file,
                &product.findings,
            ));
        }
        junit.add_test_suite(suite);
    }
    if !grouped.unreadable.is_empty() {
        let mut suite = TestSuite::new(UNREADABLE_SUITE);
        for file in &grouped.unreadable {
            suite.add_test_case(test_case(
                file.file,
                UNREADABLE_SUITE,
                file.file,
                &file.findings,
            ));
        }
        junit.add_test_suite(suite);
    }
    // Serialized whole first: quick-junit's error hides the kind of a write error.
    let xml = junit.to_string().map_err(io::Error::other)?;
    out.write_all(xml.as_bytes())
}

fn test_case(name: &str, classname: &str, file: &str, findings: &[&Finding]) -> TestCase {
    let errors: Vec<&Finding> = findings
        .iter()
        .copied()
        .filter(|f| f.counts() && f.severity == Severity::Error)
        .collect();
    // Warnings and waived findings are reported, but never fail the test case.
    let warnings: Vec<&Finding> = findings
        .iter()
        .copied()
        .filter(|f| !f.counts() || f.severity == Severity::Warning)
        .collect();

    let status = match errors.as_slice() {
        [] => TestCaseStatus::success(),
        [first, rest @ ..] => {
            let mut status = TestCaseStatus::non_success(NonSuccessKind::Failure);
            let more = if rest.is_empty() {
                String::new()
            } else {
                format!(" (+{} more)", rest.len())
            };
            let message = format!("{}: {}{more}", first.rule, first.message);
            status
                .set_message(message)
                .set_type(first.rule.as_str())
                .set_description(lines(&errors));
            status
        }
    };
    let mut case = TestCase::new(name, status);
    case.set_classname(classname);
    case.extra.insert("file".into(), file.into());
    if !warnings.is_empty() {
        case.set_system_out(lines(&warnings));
    }
    case
}

/// `file:line: rule: message`, one finding a line.
fn lines(findings: &[&Finding]) -> String {
    findings
        .iter()
        .map(|f| format!("{}:{}: {}: {}", f.file, f.line, f.rule, f.message))
        .collect::<Vec<_>>()
        .join("\n")
}
