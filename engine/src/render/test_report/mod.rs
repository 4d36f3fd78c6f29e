//! A test report (`charter test`): as text, failures, counts per kind and coverage; as JSON,
//! the [`TestReport`] document; as JUnit XML, a test suite per Rego package and case file.

use std::io::{self, Write};

use super::{Format, Options, Render, json, unsupported};
use crate::authoring::{TestKind, TestReport, TestResult};

mod junit;
mod text;

impl Render for TestReport {
    const DOCUMENT: &'static str = "a test report";
    const FORMATS: &'static [Format] = &[Format::Text, Format::Json, Format::Junit];

    fn write(&self, format: Format, options: &Options, out: &mut dyn Write) -> io::Result<()> {
        match format {
            Format::Text => text::render(self, options, out),
            Format::Json => json(self, out),
            Format::Junit => junit::render(self, out),
            other => Err(unsupported::<Self>(other)),
        }
    }
}

/// The tests of a report, grouped by kind, for renderers.
fn by_kind(report: &TestReport) -> Vec<(TestKind, Vec<&TestResult>)> {
    [TestKind::Rego, TestKind::RuleCase, TestKind::AccessCase]
        .into_iter()
        .map(|kind| {
            (
                kind,
                report
                    .tests
                    .iter()
                    .filter(|t| t.kind == kind)
                    .collect::<Vec<_>>(),
            )
        })
        .filter(|(_, tests)| !tests.is_empty())
        .collect()
}
