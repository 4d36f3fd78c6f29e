//! `charter test` as text: failed and skipped tests (every test when verbose) with their
//! reasons, counts per kind, coverage per file, and a verdict.
//!
//! ```text
//! FAIL  rego/rules/pii_test.rego:19  charter.rules.pii_test.test_masking_required
//!       the test is undefined: the body stopped at rego/rules/pii_test.rego:21: `count(x) == 1`
//! SKIP  rego/rules/pii_test.rego:40  charter.rules.pii_test.todo_masking_aliases
//!       a `todo_` rule: not run
//!
//! rego tests    120 passed, 1 failed, 1 skipped
//! rule cases     40 passed
//! access cases   12 passed
//!
//! FAILED: 1 of 174 tests failed
//! ```

use std::io::{self, Write};

use owo_colors::{OwoColorize, Style};

use super::by_kind;
use crate::authoring::{Coverage, TestCounts, TestKind, TestReport, TestResult, TestStatus};
use crate::render::Options;
use crate::render::text::{clean, count};

struct Palette {
    pass: Style,
    fail: Style,
    skip: Style,
    location: Style,
    dim: Style,
    heading: Style,
}

impl Palette {
    fn new(color: bool) -> Self {
        if !color {
            let plain = Style::new();
            return Self {
                pass: plain,
                fail: plain,
                skip: plain,
                location: plain,
                dim: plain,
                heading: plain,
            };
        }
        Self {
            pass: Style::new().green().bold(),
            fail: Style::new().red().bold(),
            skip: Style::new().yellow().bold(),
            location: Style::new().cyan(),
            dim: Style::new().dimmed(),
            heading: Style::new().bold().underline(),
        }
    }
}

pub(super) fn render(
    report: &TestReport,
    options: &Options,
    out: &mut dyn Write,
) -> io::Result<()> {
    let palette = Palette::new(options.color);
    let shown: Vec<&TestResult> = report
        .tests
        .iter()
        .filter(|t| options.verbose || t.status != TestStatus::Pass)
        .collect();
    let width = shown
        .iter()
        .map(|t| clean(&t.location()).chars().count())
        .max()
        .unwrap_or(0);
    for test in &shown {
        write_test(test, width, &palette, out)?;
    }
    if !shown.is_empty() {
        writeln!(out)?;
    }
    write_totals(report, &palette, out)?;
    writeln!(out, "{}", verdict(report, &palette))
}

/// One test's line; a failure's or skip's reason and output below it.
fn write_test(
    test: &TestResult,
    width: usize,
    palette: &Palette,
    out: &mut dyn Write,
) -> io::Result<()> {
    let (label, style) = match test.status {
        TestStatus::Pass => ("PASS", palette.pass),
        TestStatus::Fail => ("FAIL", palette.fail),
        TestStatus::Skip => ("SKIP", palette.skip),
    };
    let name = match test.kind {
        TestKind::Rego => test.id(),
        TestKind::RuleCase | TestKind::AccessCase => test.name.clone(),
    };
    writeln!(
        out,
        "{}  {}  {}",
        label.style(style),
        format_args!("{:<width$}", clean(&test.location())).style(palette.location),
        clean(&name)
    )?;
    if test.status == TestStatus::Pass {
        return Ok(());
    }
    if let Some(reason) = &test.reason {
        for line in reason.lines() {
            writeln!(out, "      {}", clean(line))?;
        }
    }
    for line in &test.output {
        writeln!(
            out,
            "      {}",
            format_args!("| {}", clean(line)).style(palette.dim)
        )?;
    }
    Ok(())
}

/// The counts per kind of test, then the coverage when measured.
fn write_totals(report: &TestReport, palette: &Palette, out: &mut dyn Write) -> io::Result<()> {
    let groups = by_kind(report);
    let label_width = groups
        .iter()
        .map(|(k, _)| k.label().len())
        .max()
        .unwrap_or(0);
    for (kind, _) in &groups {
        writeln!(
            out,
            "{:<label_width$}  {}",
            kind.label(),
            counts(report.summary.of(*kind))
        )?;
    }
    if let Some(coverage) = &report.coverage {
        if !groups.is_empty() {
            writeln!(out)?;
        }
        write_coverage(coverage, palette, out)?;
    }
    if !groups.is_empty() || report.coverage.is_some() {
        writeln!(out)?;
    }
    Ok(())
}

/// The last line: nothing found, failures, coverage below the threshold, or ok.
fn verdict(report: &TestReport, palette: &Palette) -> String {
    let total = &report.summary.total;
    if total.total() == 0 {
        match &report.filter {
            Some(filter) => format!("no test matches `{}`", clean(filter))
                .style(palette.skip)
                .to_string(),
            None => "no tests found".style(palette.skip).to_string(),
        }
    } else if total.failed > 0 {
        format!(
            "FAILED: {} of {} failed",
            total.failed,
            count(total.total(), "test", "tests")
        )
        .style(palette.fail)
        .to_string()
    } else if !report.passed() {
        "FAILED: coverage below the threshold"
            .style(palette.fail)
            .to_string()
    } else {
        let mut line = format!("ok: {} passed", count(total.passed, "test", "tests"));
        if total.skipped > 0 {
            line.push_str(&format!(", {} skipped", total.skipped));
        }
        line.style(palette.pass).to_string()
    }
}

/// `120 passed, 1 failed, 1 skipped` (zero counts left out, but for `0 passed`).
fn counts(c: &TestCounts) -> String {
    let mut parts = vec![format!("{} passed", c.passed)];
    if c.failed > 0 {
        parts.push(format!("{} failed", c.failed));
    }
    if c.skipped > 0 {
        parts.push(format!("{} skipped", c.skipped));
    }
    parts.join(", ")
}

fn write_coverage(coverage: &Coverage, palette: &Palette, out: &mut dyn Write) -> io::Result<()> {
    writeln!(out, "{}", "Rego coverage".style(palette.heading))?;
    let width = coverage
        .files
        .iter()
        .map(|f| f.file.chars().count())
        .chain(["total".len()])
        .max()
        .unwrap_or(0);
    let lines_width = coverage.lines.to_string().len() * 2 + 1;
    for file in &coverage.files {
        let fraction = format!("{}/{}", file.covered, file.lines);
        write!(
            out,
            "  {:<width$}  {:>6.1}%  {fraction:>lines_width$}",
            clean(&file.file),
            file.percent
        )?;
        if file.not_covered.is_empty() {
            writeln!(out)?;
        } else {
            writeln!(
                out,
                "  {}",
                format_args!("not covered: {}", ranges(&file.not_covered)).style(palette.dim)
            )?;
        }
    }
    let fraction = format!("{}/{}", coverage.covered, coverage.lines);
    write!(
        out,
        "  {:<width$}  {:>6.1}%  {fraction:>lines_width$}",
        "total", coverage.percent
    )?;
    match coverage.threshold {
        Some(threshold) => {
            let (word, style) = if coverage.meets_threshold() {
                ("met", palette.pass)
            } else {
                ("NOT met", palette.fail)
            };
            writeln!(
                out,
                "  {}",
                format_args!("threshold {threshold:.1}%: {word}").style(style)
            )
        }
        None => writeln!(out),
    }
}

/// `3-5, 9, 12-13`.
fn ranges(lines: &[u32]) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut iter = lines.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end += 1;
            iter.next();
        }
        parts.push(if end == start {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_ranges_are_compact() {
        assert_eq!(ranges(&[3, 4, 5, 9, 12, 13]), "3-5, 9, 12-13");
        assert_eq!(ranges(&[]), "");
    }
}
