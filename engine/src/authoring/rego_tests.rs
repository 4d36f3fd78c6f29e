//! Rego unit tests, as `opa test` runs them: every `test_*` rule of every package is a test
//! that passes when it is `true`; `false`, undefined or an error fail it; `todo_*` rules are
//! skipped. All the pack's modules are loaded, tests included (the contract rules leave
//! `*_test.rego` out), with the settings at `data.charter.settings`.
//!
//! A test that is false or undefined is run once more, alone, with coverage on: the last
//! statement of its body that was evaluated is the one that did not hold, and the reason
//! names it.

use std::collections::BTreeSet;
use std::time::Duration;

use regorus::{Engine, Value};

use super::ast::{self, HeadKind, ParsedModule};
use super::diagnostic::Diagnostic;
use super::rego_check;
use super::test_report::{TestKind, TestResult, TestStatus, test_id};
use crate::pack::PolicyPack;

/// A test rule found in a module.
struct Discovered<'a> {
    module: &'a ParsedModule,
    package: String,
    name: String,
    line: u32,
    todo: bool,
}

/// The Rego tests run, and the engine's coverage report when it was gathered.
pub(crate) struct RegoRun {
    pub results: Vec<TestResult>,
    pub coverage: Option<regorus::coverage::Report>,
}

/// Compiles every module of the pack into one engine.
///
/// # Errors
/// The first module that does not parse or compile, as `file:line:col: message`.
pub(crate) fn load(pack: &PolicyPack) -> Result<(Vec<ParsedModule>, Engine), String> {
    let (parsed, problems) = rego_check::parse_all(pack);
    if let Some(problem) = problems.first() {
        return Err(format!("{}: {}", problem.location(), problem.message));
    }
    let modules: Vec<&ParsedModule> = parsed.iter().collect();
    let mut engine = rego_check::engine_with(pack, &modules).map_err(|d| d.located())?;
    engine
        .eval_query("true".to_owned(), false)
        .map_err(|e| Diagnostic::from_regorus(&e.to_string(), "rego").located())?;
    engine.set_gather_prints(true);
    Ok((parsed, engine))
}

/// Runs the tests whose id `selected` accepts.
pub(crate) fn run(
    modules: &[ParsedModule],
    engine: &Engine,
    selected: &dyn Fn(&str) -> bool,
    coverage: bool,
    timeout: Duration,
) -> RegoRun {
    let mut engine = engine.clone();
    engine.set_execution_timer_config(crate::rules::timer(timeout));
    // A clone without coverage data, to replay a failing test alone.
    let pristine = engine.clone();
    if coverage {
        engine.set_enable_coverage(true);
    }
    let mut results = Vec::new();
    for test in discover(modules) {
        let suite = test.package.clone();
        if !selected(&test_id(TestKind::Rego, &suite, &test.name)) {
            continue;
        }
        let mut result = TestResult {
            kind: TestKind::Rego,
            suite,
            name: test.name.clone(),
            file: test.module.path.clone(),
            line: Some(test.line),
            status: TestStatus::Pass,
            reason: None,
            output: Vec::new(),
        };
        if test.todo {
            result.status = TestStatus::Skip;
            result.reason = Some("a `todo_` rule: not run".into());
            results.push(result);
            continue;
        }
        let path = format!("data.{}.{}", test.package, test.name);
        let outcome = engine.eval_rule(path.clone());
        result.output = engine.take_prints().unwrap_or_default();
        let failure = match outcome {
            Ok(Value::Bool(true)) => None,
            Ok(Value::Bool(false)) => Some(format!(
                "the test is false{}",
                stopped_at(&pristine, &path, &test)
            )),
            Ok(Value::Undefined) => Some(format!(
                "the test is undefined{}",
                stopped_at(&pristine, &path, &test)
            )),
            Ok(other) => Some(format!("the test is `{other}`, not `true`")),
            Err(e) => Some(error_reason(&e.to_string(), &test, timeout)),
        };
        if let Some(reason) = failure {
            result.status = TestStatus::Fail;
            result.reason = Some(reason);
        }
        results.push(result);
    }
    let coverage = if coverage {
        engine.get_coverage_report().ok()
    } else {
        None
    };
    RegoRun { results, coverage }
}

/// Every `test_*` and `todo_*` rule (complete rules with a plain name), by file then line;
/// a test defined by several bodies is one test.
fn discover(modules: &[ParsedModule]) -> Vec<Discovered<'_>> {
    let mut seen = BTreeSet::new();
    let mut found = Vec::new();
    let mut modules: Vec<&ParsedModule> = modules.iter().collect();
    modules.sort_by(|a, b| a.path.cmp(&b.path));
    for module in modules {
        let package = module.package();
        for rule in &module.module.policy {
            let Some((name, HeadKind::Complete, span)) = ast::rule_head(rule) else {
                continue;
            };
            let todo = name.starts_with("todo_");
            if !(todo || name.starts_with("test_")) {
                continue;
            }
            if seen.insert((package.clone(), name.clone())) {
                found.push(Discovered {
                    module,
                    package: package.clone(),
                    name,
                    line: span.line,
                    todo,
                });
            }
        }
    }
    found
}

/// Why a test failed with an error: the error's message and location.
fn error_reason(error: &str, test: &Discovered<'_>, timeout: Duration) -> String {
    if error.contains("execution exceeded time limit") {
        return format!("the test did not finish within {timeout:?}");
    }
    let diagnostic = Diagnostic::from_regorus(error, &test.module.path);
    match diagnostic.line {
        Some(_) => format!("error at {}", diagnostic.located()),
        None => format!("error: {}", diagnostic.message),
    }
}

/// `: the body stopped at line N: `statement``, found by replaying the test alone with
/// coverage on; empty when that tells nothing.
fn stopped_at(pristine: &Engine, path: &str, test: &Discovered<'_>) -> String {
    let mut engine = pristine.clone();
    engine.set_enable_coverage(true);
    engine.clear_coverage_data();
    let _ = engine.eval_rule(path.to_owned());
    let _ = engine.take_prints();
    let Ok(report) = engine.get_coverage_report() else {
        return String::new();
    };
    let Some(covered) = report
        .files
        .iter()
        .find(|f| f.path == test.module.path)
        .map(|f| &f.covered)
    else {
        return String::new();
    };
    // The statements of the test's bodies (of every rule of that name: bodies may be split).
    let mut last = None;
    for rule in &test.module.module.policy {
        if ast::rule_head(rule).is_none_or(|(name, _, _)| name != test.name) {
            continue;
        }
        for query in ast::rule_queries(rule) {
            for stmt in &query.stmts {
                let (start, end) = (stmt.span.line, ast::end_line(&stmt.span));
                if covered.range(start..=end).next().is_some() {
                    last = Some(&stmt.span);
                }
            }
        }
    }
    match last {
        Some(span) => {
            let text = span.text();
            let first = text.lines().next().unwrap_or_default().trim();
            let more = if text.lines().nth(1).is_some() {
                " …"
            } else {
                ""
            };
            format!(
                ": the body stopped at {}:{}: `{first}{more}`",
                test.module.path, span.line
            )
        }
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run_pack(files: &[(&str, &str)], coverage: bool) -> RegoRun {
        let pack = PolicyPack::from_files(files.iter().map(|(p, t)| (*p, *t))).unwrap();
        let (modules, engine) = load(&pack).unwrap();
        run(
            &modules,
            &engine,
            &|_| true,
            coverage,
            Duration::from_secs(5),
        )
    }

    #[test]
    fn tests_pass_fail_and_skip_with_reasons() {
        let test = r#"package charter.rules.x_test

import data.charter.rules.x

test_pass if {
	x.double(2) == 4
}

test_false := false

test_undefined if {
	y := x.double(2)
	y == 5
	print("never")
}

test_error if {
	nope(1)
}

test_prints if {
	print("hello", 1)
	false
}

todo_later if {
	false
}
"#;
        let run = run_pack(
            &[
                (
                    "rego/x.rego",
                    "package charter.rules.x\n\ndouble(n) := n * 2\n",
                ),
                ("rego/x_test.rego", test),
            ],
            false,
        );
        let summary: Vec<(&str, TestStatus)> = run
            .results
            .iter()
            .map(|r| (r.name.as_str(), r.status))
            .collect();
        assert_eq!(
            summary,
            [
                ("test_pass", TestStatus::Pass),
                ("test_false", TestStatus::Fail),
                ("test_undefined", TestStatus::Fail),
                ("test_error", TestStatus::Fail),
                ("test_prints", TestStatus::Fail),
                ("todo_later", TestStatus::Skip),
            ]
        );
        let reason = |i: usize| run.results[i].reason.clone().unwrap_or_default();
        assert_eq!(reason(1), "the test is false");
        assert_eq!(
            reason(2),
            "the test is undefined: the body stopped at rego/x_test.rego:13: `y == 5`"
        );
        assert_eq!(
            reason(3),
            "error at rego/x_test.rego:18:9: could not find function nope"
        );
        assert_eq!(run.results[4].output, ["rego/x_test.rego:22: hello 1"]);
        assert_eq!(run.results[0].line, Some(5));
    }

    #[test]
    fn coverage_is_gathered_across_tests() {
        let run = run_pack(
            &[
                (
                    "rego/x.rego",
                    "package charter.rules.x\n\nimport rego.v1\n\nf(n) := m if {\n\tn > 0\n\tm := n\n}\n\ng(n) := n * 3\n",
                ),
                (
                    "rego/x_test.rego",
                    "package charter.rules.x_test\n\nimport data.charter.rules.x\n\ntest_f if { x.f(1) == 1 }\n",
                ),
            ],
            true,
        );
        let report = run.coverage.unwrap();
        let file = report
            .files
            .iter()
            .find(|f| f.path == "rego/x.rego")
            .unwrap();
        assert!(file.covered.contains(&6) && file.covered.contains(&7));
        assert!(file.not_covered.contains(&10));
    }
}
