//! Rule cases in a pack (`tests/rules/*.yaml`): the format and runner of
//! [`crate::rules::run_case_file`], each case a test.

use super::test_report::{TestKind, TestResult, TestStatus, test_id};
use crate::contract::{LineIndex, ReaderSettings};
use crate::pack::PolicyPack;
use crate::rules::{CaseOutcome, RuleSet, run_case_file};

/// Runs the cases of one rule-case file; a file that is not one is a failed test.
pub(crate) fn run(
    rules: &RuleSet,
    reader: &ReaderSettings,
    pack: &PolicyPack,
    path: &str,
    text: &str,
    selected: &dyn Fn(&str) -> bool,
) -> Vec<TestResult> {
    let lines = LineIndex::build(text);
    match run_case_file(rules, reader, pack, text) {
        Ok(results) => results
            .into_iter()
            .enumerate()
            .filter(|(_, case)| selected(&test_id(TestKind::RuleCase, path, &case.name)))
            .map(|(i, case)| {
                let (status, reason) = match case.outcome {
                    CaseOutcome::Pass => (TestStatus::Pass, None),
                    CaseOutcome::Fail(why) => (TestStatus::Fail, Some(why)),
                };
                TestResult {
                    kind: TestKind::RuleCase,
                    suite: path.to_owned(),
                    name: case.name,
                    file: path.to_owned(),
                    line: lines.exact(&format!("cases[{i}]")),
                    status,
                    reason,
                    output: Vec::new(),
                }
            })
            .collect(),
        Err(why) => vec![bad_file(TestKind::RuleCase, path, why)],
    }
}

/// A case file that cannot be run, as one failed test.
pub(crate) fn bad_file(kind: TestKind, path: &str, why: String) -> TestResult {
    TestResult {
        kind,
        suite: path.to_owned(),
        name: "(the file)".to_owned(),
        file: path.to_owned(),
        line: None,
        status: TestStatus::Fail,
        reason: Some(why),
        output: Vec::new(),
    }
}
