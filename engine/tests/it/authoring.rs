//! Policy authoring through the public interface: the default pack validates without a
//! problem and passes its own tests (Rego, rule cases, access cases); every default Cedar
//! policy and the row-filter rule are exercised by access cases; broken packs built in
//! memory fail the way an author needs to see.
// The renderers are behind the engine's default feature `render`.
#![cfg(test)]
#![cfg(feature = "render")]

use std::collections::BTreeSet;

use charter_engine::PolicyPack;
use charter_engine::access::AccessPolicies;
use charter_engine::authoring::{
    AccessCaseFile, Check, TestKind, TestOptions, TestStatus, ValidateOptions, run_tests, validate,
};
use charter_engine::render::{Format, Options, render};
use charter_engine::report::Severity;

fn default_files() -> Vec<(String, String)> {
    charter_policies::files()
        .into_iter()
        .map(|(p, t)| (p, t.to_owned()))
        .collect()
}

fn default_pack() -> PolicyPack {
    PolicyPack::from_files(default_files()).unwrap()
}

/// The default pack with `extra` files added (or replaced).
fn pack_with(extra: &[(&str, &str)]) -> PolicyPack {
    let mut files = default_files();
    for (path, text) in extra {
        files.retain(|(p, _)| p != path);
        files.push(((*path).to_owned(), (*text).to_owned()));
    }
    PolicyPack::from_files(files).unwrap()
}

fn pack(files: &[(&str, &str)]) -> PolicyPack {
    PolicyPack::from_files(files.iter().map(|(p, t)| (*p, *t))).unwrap()
}

#[test]
fn the_default_pack_validates_without_a_problem() {
    let validation = validate(&default_pack(), &ValidateOptions::default());
    assert!(
        validation.is_clean(),
        "the default pack has problems:\n{:#?}",
        validation.problems
    );
    assert!(validation.checked.rego_modules >= 16);
    assert!(validation.checked.cedar_policies >= 7);
    assert!(validation.checked.settings_files >= 2);
}

#[test]
fn the_default_pack_passes_its_own_tests() {
    let report = run_tests(&default_pack(), &TestOptions::default()).unwrap();
    let failed: Vec<String> = report
        .tests
        .iter()
        .filter(|t| t.status != TestStatus::Pass)
        .map(|t| format!("{} {}: {:?}", t.location(), t.id(), t.reason))
        .collect();
    assert!(
        failed.is_empty(),
        "failed or skipped:\n{}",
        failed.join("\n")
    );
    assert!(report.passed());
    assert!(report.summary.rego.passed >= 90, "{:?}", report.summary);
    assert!(
        report.summary.rule_cases.passed >= 70,
        "{:?}",
        report.summary
    );
    assert!(
        report.summary.access_cases.passed >= 20,
        "{:?}",
        report.summary
    );
}

/// Every Cedar policy of the default pack is named by an access case as the reason of a
/// decision, and the row-filter rule is shown filtering and not.
#[test]
fn every_default_access_policy_has_cases() {
    let pack = default_pack();
    let policies = AccessPolicies::from_pack(&pack).unwrap();
    let mut named = BTreeSet::new();
    let mut filtered = false;
    let mut unfiltered = false;
    for file in pack.files_in("tests/access", ".yaml") {
        let Ok(cases) = yaml_serde::from_str::<AccessCaseFile>(&file.text) else {
            continue;
        };
        for case in &cases.cases {
            named.extend(case.expect.reasons.iter().cloned());
            for column in case.expect.columns.iter().flat_map(|c| c.values()) {
                named.extend(column.reasons.iter().cloned());
            }
            match case.expect.row_filters.as_deref() {
                Some([]) => unfiltered = true,
                Some(_) => filtered = true,
                None => {}
            }
        }
    }
    let missing: Vec<&str> = policies
        .policies()
        .iter()
        .map(|p| p.id.as_str())
        .filter(|id| !named.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "policies without an access case: {missing:?}"
    );
    assert!(filtered && unfiltered, "row filters need a case each way");
}

#[test]
fn a_failing_access_case_says_what_differs() {
    let wrong = r#"
mesh: tests/access/mesh
cases:
  - name: wrong on purpose
    request:
      principal: { id: ana, roles: [analyst] }
      product: { id: sales.orders }
      columns: [email]
    expect:
      decision: deny
      columns:
        email: { effect: allow, reasons: [read-pii-column-as-pii-reader] }
"#;
    let pack = pack_with(&[("tests/access/wrong.yaml", wrong)]);
    let options = TestOptions {
        run: Some("wrong.yaml".into()),
        ..TestOptions::default()
    };
    let report = run_tests(&pack, &options).unwrap();
    assert_eq!(report.tests.len(), 1);
    let test = &report.tests[0];
    assert_eq!(test.kind, TestKind::AccessCase);
    assert_eq!(test.status, TestStatus::Fail);
    assert_eq!(test.location(), "tests/access/wrong.yaml:4");
    let reason = test.reason.as_deref().unwrap_or_default();
    for part in [
        "expected decision deny, got allow",
        "column `email`: expected allow, got mask",
        "column `email`: its reasons lack `read-pii-column-as-pii-reader`: [read-pii-column-masked]",
    ] {
        assert!(reason.contains(part), "{reason}");
    }
    assert!(!report.passed());
}

#[test]
fn a_yaml_file_under_tests_that_is_no_test_file_fails() {
    let pack = pack_with(&[("tests/rules/typo.yaml", "case:\n  - name: x\n")]);
    let options = TestOptions {
        run: Some("typo".into()),
        ..TestOptions::default()
    };
    let report = run_tests(&pack, &options).unwrap();
    assert_eq!(report.summary.total.failed, 1);
    assert!(
        report.tests[0]
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("expected `cases:`")
    );
}

#[test]
fn run_selects_tests_by_package_rule_or_file_and_case() {
    let options = TestOptions {
        run: Some(r"^charter\.rules\.pii_test\.test_masking_required$".into()),
        ..TestOptions::default()
    };
    let report = run_tests(&default_pack(), &options).unwrap();
    assert_eq!(report.tests.len(), 1);
    assert_eq!(report.tests[0].name, "test_masking_required");

    let options = TestOptions {
        run: Some("tests/access/row_filters.yaml: global-reader".into()),
        ..TestOptions::default()
    };
    let report = run_tests(&default_pack(), &options).unwrap();
    assert_eq!(report.tests.len(), 1);
    assert_eq!(report.tests[0].kind, TestKind::AccessCase);

    let bad = TestOptions {
        run: Some("(".into()),
        ..TestOptions::default()
    };
    let error = run_tests(&default_pack(), &bad).unwrap_err().to_string();
    assert!(error.starts_with("invalid `--run` pattern `(`"), "{error}");
}

#[test]
fn coverage_counts_policy_files_only_and_gates_on_the_threshold() {
    let rules = "package charter.rules.x\n\nimport rego.v1\n\n# METADATA\n# title: A\n# description: A.\n# custom:\n#   remediation: A.\ndeny_a contains \"a\" if {\n\tinput.a == 1\n}\n\n# METADATA\n# title: B\n# description: B.\n# custom:\n#   remediation: B.\ndeny_b contains \"b\" if {\n\tinput.b == 1\n}\n";
    let tests = "package charter.rules.x_test\n\nimport rego.v1\n\nimport data.charter.rules.x\n\ntest_a if {\n\tx.deny_a == {\"a\"} with input as {\"a\": 1}\n}\n";
    let pack = pack(&[("rego/x.rego", rules), ("rego/x_test.rego", tests)]);
    let options = TestOptions {
        threshold: Some(90.0),
        ..TestOptions::default()
    };
    let report = run_tests(&pack, &options).unwrap();
    let coverage = report.coverage.as_ref().unwrap();
    assert_eq!(coverage.files.len(), 1, "tests do not count");
    assert_eq!(coverage.files[0].file, "rego/x.rego");
    assert!(coverage.percent < 90.0, "{coverage:?}");
    assert!(coverage.files[0].not_covered.contains(&19));
    assert_eq!(report.summary.total.failed, 0);
    assert!(!report.passed(), "below the threshold");

    let options = TestOptions {
        threshold: Some(40.0),
        ..TestOptions::default()
    };
    assert!(run_tests(&pack, &options).unwrap().passed());
}

#[test]
fn packs_that_cannot_be_tested_are_errors() {
    let broken = pack(&[("rego/x.rego", "package charter.rules.x\n\nx := \n")]);
    let error = run_tests(&broken, &TestOptions::default()).unwrap_err();
    assert!(
        error
            .to_string()
            .starts_with("the Rego modules do not compile: rego/x.rego:4:1:"),
        "{error}"
    );
    let threshold = TestOptions {
        threshold: Some(120.0),
        ..TestOptions::default()
    };
    assert!(run_tests(&default_pack(), &threshold).is_err());
}

#[test]
fn a_cedar_policy_that_does_not_validate_is_a_problem_with_its_line() {
    let policy = "@id(\"bad\")\npermit (principal, action == Action::\"query\", resource is DataProduct)\nwhen { resource.sensitivity == \"high\" };\n";
    let pack = pack_with(&[("cedar/bad.cedar", policy)]);
    let validation = validate(&pack, &ValidateOptions::default());
    assert_eq!(validation.problems.len(), 1, "{:#?}", validation.problems);
    let problem = &validation.problems[0];
    assert_eq!(problem.check, Check::CedarValidation);
    assert_eq!(problem.location(), "cedar/bad.cedar:3");
    assert!(
        problem.message.contains("`sensitivity`"),
        "{}",
        problem.message
    );
}

#[test]
fn validation_finds_each_kind_of_problem_with_its_place() {
    let pack = pack(&[
        ("rego/a.rego", "package charter.rules.a\n\nx := [\n"),
        (
            "rego/b.rego",
            "package acme.b\n\nimport rego.v1\n\ny if { not is_number(input.n) }\n",
        ),
        (
            "rego/c.rego",
            "package charter.rules.c\n\ndeny_c := {\"c\"}\n",
        ),
        ("data/s.yaml", "sla:\n  min_availability: [1]\n"),
    ]);
    let validation = validate(&pack, &ValidateOptions::default());
    let found: Vec<(String, Check, Severity)> = validation
        .problems
        .iter()
        .map(|p| (p.location(), p.check, p.severity))
        .collect();
    assert_eq!(
        found,
        [
            ("data/s.yaml:2".into(), Check::SettingsType, Severity::Error),
            ("rego/a.rego:4:1".into(), Check::RegoParse, Severity::Error),
            (
                "rego/b.rego:1:1".into(),
                Check::RegoPackage,
                Severity::Error
            ),
            (
                "rego/b.rego:5:8".into(),
                Check::RegoPortability,
                Severity::Warning
            ),
            (
                "rego/c.rego:3:1".into(),
                Check::RegoRuleShape,
                Severity::Error
            ),
            (
                "rego/c.rego:3:1".into(),
                Check::RegoMetadata,
                Severity::Warning
            ),
        ]
    );
    let allowed = ValidateOptions {
        allow_packages: vec!["acme".into()],
    };
    assert!(
        validate(&pack, &allowed)
            .problems
            .iter()
            .all(|p| p.check != Check::RegoPackage)
    );
}

#[test]
fn renderers_write_json_and_junit() {
    let validation = validate(&default_pack(), &ValidateOptions::default());
    let mut out = Vec::new();
    render(&validation, Format::Json, &Options::default(), &mut out).unwrap();
    let json: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(json["version"], 1);
    assert_eq!(json["summary"]["errors"], 0);

    let options = TestOptions {
        run: Some("pii".into()),
        ..TestOptions::default()
    };
    let report = run_tests(&default_pack(), &options).unwrap();
    let mut out = Vec::new();
    render(&report, Format::Junit, &Options::default(), &mut out).unwrap();
    let xml = String::from_utf8(out).unwrap();
    assert!(
        xml.contains("<testsuite name=\"charter.rules.pii_test\""),
        "{xml}"
    );
    assert!(
        xml.contains("<testsuite name=\"tests/rules/pii.yaml\""),
        "{xml}"
    );
    assert!(!xml.contains("<failure"));
}

#[test]
fn the_rule_prefix_decides_the_severity_and_validate_flags_a_contradiction() {
    let text = "package charter.rules.sev\n\n# METADATA\n# title: Said to be an error\n# description: A warning by name.\n# custom:\n#   remediation: Fix it.\n#   severity: error\nwarn_said_error contains \"x\" if {\n\tinput.id == \"x\"\n}\n\n# METADATA\n# title: Agreed\n# description: An error by name and by metadata.\n# custom:\n#   remediation: Fix it.\n#   severity: error\ndeny_agreed contains \"y\" if {\n\tinput.id == \"y\"\n}\n";
    let pack = pack_with(&[("rego/rules/sev.rego", text)]);
    let catalog = charter_engine::rules::catalog(&pack);
    assert_eq!(catalog["sev/said_error"].severity, Some(Severity::Warning));
    assert_eq!(catalog["sev/agreed"].severity, Some(Severity::Error));

    let validation = validate(&pack, &ValidateOptions::default());
    let flagged: Vec<_> = validation
        .problems
        .iter()
        .filter(|p| p.file == "rego/rules/sev.rego")
        .map(|p| (p.location(), p.check, p.severity, p.message.clone()))
        .collect();
    assert_eq!(flagged.len(), 1, "{flagged:#?}");
    let (location, check, severity, message) = &flagged[0];
    assert_eq!(location, "rego/rules/sev.rego:9:1");
    assert_eq!(*check, Check::RegoMetadata);
    assert_eq!(*severity, Severity::Error);
    assert!(
        message.contains("`warn_said_error`") && message.contains("deny_said_error"),
        "{message}"
    );
}
