//! `charter validate`, `charter test` and `charter rules` as a policy author runs them: the
//! default pack (clean, every test passing: this is the pack's test run in CI) and one
//! broken pack per problem (`testdata/policies/*`), checking output and exit codes.
#![cfg(test)]

use std::process::Output;

use crate::common::{charter, stderr, stdout};

fn pack(name: &str) -> String {
    format!("testdata/policies/{name}")
}

/// Snapshot settings: revisions and temporary paths filtered out.
fn settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        r#""revision": "[0-9a-f]{16}""#,
        r#""revision": "[revision]""#,
    );
    settings.add_filter(r"/tmp/[^\s`]+", "[temp]");
    settings.add_filter(r#"time="[0-9.]+""#, r#"time="[time]""#);
    settings.add_filter(r#"timestamp="[^"]+""#, r#"timestamp="[timestamp]""#);
    settings.set_snapshot_path("../snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

/// Runs `charter` and checks its exit code, showing stdout and stderr when it differs.
fn run(args: &[&str], code: i32) -> Output {
    let out = charter(args);
    assert_eq!(
        out.status.code(),
        Some(code),
        "charter {}\n--- stdout\n{}--- stderr\n{}",
        args.join(" "),
        stdout(&out),
        stderr(&out)
    );
    out
}

macro_rules! snapshot {
    ($name:literal, $args:expr, $code:expr) => {{
        let out = run($args, $code);
        settings().bind(|| insta::assert_snapshot!($name, stdout(&out)));
        out
    }};
}

// The default pack: what CI runs on every change to policies/.

#[test]
fn the_default_pack_validates_clean() {
    let out = run(&["validate"], 0);
    let text = stdout(&out);
    assert!(text.ends_with(": no problems\n"), "{text}");
    assert!(stderr(&out).is_empty());
    let out = run(
        &["validate", "--policies", "policies", "--fail-on", "warning"],
        0,
    );
    assert!(stdout(&out).ends_with(": no problems\n"));
}

#[test]
fn the_default_pack_passes_every_test() {
    let out = run(&["test"], 0);
    let text = stdout(&out);
    assert!(text.contains("\nok: "), "{text}");
    assert!(!text.contains("FAIL") && !text.contains("SKIP"), "{text}");
    for kind in ["rego tests", "rule cases", "access cases"] {
        assert!(text.contains(kind), "no {kind}: {text}");
    }
    // The folder reads the same as the embedded copy.
    let json = stdout(&run(
        &["test", "--policies", "policies", "--format", "json"],
        0,
    ));
    let report: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(report["summary"]["total"]["failed"], 0);
    assert!(report["summary"]["access_cases"]["passed"].as_u64() >= Some(20));
}

#[test]
fn the_default_pack_documents_every_rule() {
    let json = stdout(&run(&["rules", "--format", "json"], 0));
    let catalogue: serde_json::Value = serde_json::from_str(&json).unwrap();
    let rules = catalogue["rules"].as_array().unwrap();
    assert!(rules.len() >= 25, "{} rules", rules.len());
    for rule in rules {
        for key in ["title", "description", "remediation", "severity"] {
            assert!(rule[key].is_string(), "{} has no {key}", rule["id"]);
        }
    }
    let text = stdout(&run(&["rules", "pii/masking"], 0));
    assert!(text.contains("pii/masking_required"), "{text}");
    assert!(!text.contains("naming/"), "{text}");
}

// validate

#[test]
fn validate_broken_rego() {
    let out = snapshot!(
        "validate_broken_rego",
        &["validate", "--policies", &pack("broken_rego")],
        1
    );
    assert!(stderr(&out).is_empty());
}

#[test]
fn validate_bad_cedar() {
    snapshot!(
        "validate_bad_cedar",
        &["validate", "--policies", &pack("bad_cedar")],
        1
    );
}

#[test]
fn validate_conventions() {
    snapshot!(
        "validate_conventions",
        &["validate", "--policies", &pack("conventions")],
        1
    );
    let out = run(
        &[
            "validate",
            "--policies",
            &pack("conventions"),
            "--allow-package",
            "acme.lib",
        ],
        1,
    );
    assert!(!stdout(&out).contains("rego/package"), "{}", stdout(&out));
}

#[test]
fn validate_conventions_json() {
    snapshot!(
        "validate_conventions_json",
        &[
            "validate",
            "--policies",
            &pack("conventions"),
            "--format",
            "json"
        ],
        1
    );
}

#[test]
fn validate_portability_warns() {
    snapshot!(
        "validate_portability",
        &["validate", "--policies", &pack("portability")],
        0
    );
    run(
        &[
            "validate",
            "--policies",
            &pack("portability"),
            "--fail-on",
            "warning",
        ],
        1,
    );
}

#[test]
fn validate_cannot_read_a_missing_folder() {
    let out = run(&["validate", "--policies", "testdata/policies/nope"], 2);
    assert!(stdout(&out).is_empty());
    assert!(
        stderr(&out).starts_with("error: cannot load the policies in `testdata/policies/nope`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn validate_reports_a_settings_file_that_is_not_yaml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rego")).unwrap();
    std::fs::create_dir_all(dir.path().join("data")).unwrap();
    std::fs::write(dir.path().join("rego/x.rego"), "package charter.rules.x\n").unwrap();
    std::fs::write(dir.path().join("data/settings.yaml"), "naming:\n  a: [\n").unwrap();
    let out = run(
        &["validate", "--policies", &dir.path().display().to_string()],
        1,
    );
    assert!(
        stdout(&out).starts_with("error    data/settings.yaml:"),
        "{}",
        stdout(&out)
    );
    assert!(stdout(&out).contains("settings/syntax"));
}

// test

#[test]
fn test_failing_test() {
    snapshot!(
        "test_failing_test",
        &["test", "--policies", &pack("failing_test")],
        1
    );
}

#[test]
fn test_failing_test_verbose() {
    snapshot!(
        "test_failing_test_verbose",
        &["test", "--policies", &pack("failing_test"), "--verbose"],
        1
    );
}

#[test]
fn test_failing_test_json() {
    snapshot!(
        "test_failing_test_json",
        &[
            "test",
            "--policies",
            &pack("failing_test"),
            "--format",
            "json"
        ],
        1
    );
}

#[test]
fn test_failing_test_junit() {
    snapshot!(
        "test_failing_test_junit",
        &[
            "test",
            "--policies",
            &pack("failing_test"),
            "--format",
            "junit"
        ],
        1
    );
}

#[test]
fn test_run_selects_tests() {
    let out = run(
        &[
            "test",
            "--policies",
            &pack("failing_test"),
            "--run",
            r"test_uppercase|an uppercase id",
        ],
        0,
    );
    assert_eq!(
        stdout(&out),
        "rego tests  1 passed\nrule cases  1 passed\n\nok: 2 tests passed\n"
    );
    let out = run(
        &[
            "test",
            "--policies",
            &pack("failing_test"),
            "--run",
            "nothing",
        ],
        0,
    );
    assert_eq!(stdout(&out), "no test matches `nothing`\n");
    let out = run(&["test", "--run", "("], 2);
    assert!(
        stderr(&out).contains("invalid `--run` pattern `(`"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn test_coverage_threshold_not_met() {
    snapshot!(
        "test_coverage_threshold",
        &[
            "test",
            "--policies",
            &pack("low_coverage"),
            "--threshold",
            "80"
        ],
        1
    );
    let out = run(
        &[
            "test",
            "--policies",
            &pack("low_coverage"),
            "--threshold",
            "60%",
        ],
        0,
    );
    assert!(
        stdout(&out).contains("threshold 60.0%: met"),
        "{}",
        stdout(&out)
    );
    let out = run(
        &[
            "test",
            "--policies",
            &pack("low_coverage"),
            "--threshold",
            "80",
            "--format",
            "junit",
        ],
        1,
    );
    assert!(stdout(&out).contains("<testsuite name=\"coverage\""));
    run(&["test", "--threshold", "120"], 2);
}

#[test]
fn test_cannot_run_broken_packs() {
    let out = run(&["test", "--policies", &pack("broken_rego")], 2);
    assert!(stdout(&out).is_empty());
    assert_eq!(
        stderr(&out),
        "error: cannot run the tests\n  caused by: the Rego modules do not compile: rego/rules/owner.rego:13:1: expecting `)` while parsing call expr\n"
    );
    let out = run(&["test", "--policies", &pack("bad_cedar")], 2);
    assert!(
        stderr(&out).contains("the access policies cannot be loaded"),
        "{}",
        stderr(&out)
    );
    assert!(
        stderr(&out).contains("cedar/products.cedar:10"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn test_writes_to_a_file() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("results.xml");
    let out = run(
        &[
            "test",
            "--policies",
            &pack("failing_test"),
            "--format",
            "junit",
            "--output",
            &file.display().to_string(),
        ],
        1,
    );
    assert!(stdout(&out).is_empty());
    let xml = std::fs::read_to_string(&file).unwrap();
    assert!(xml.contains("<failure"), "{xml}");
}

// rules

#[test]
fn rules_text() {
    snapshot!(
        "rules_text",
        &["rules", "--policies", &pack("portability")],
        0
    );
}

#[test]
fn rules_markdown() {
    snapshot!(
        "rules_markdown",
        &[
            "rules",
            "--policies",
            &pack("portability"),
            "--format",
            "markdown"
        ],
        0
    );
}

#[test]
fn rules_json() {
    snapshot!(
        "rules_json",
        &[
            "rules",
            "--policies",
            &pack("low_coverage"),
            "--format",
            "json"
        ],
        0
    );
}
