//! The default pack's rule cases (`policies/tests/rules/*.yaml`): every case holds, and
//! every default rule is shown both raised and not raised.
#![cfg(test)]

use std::collections::BTreeSet;

use charter_engine::PolicyPack;
use charter_engine::cache::{CacheConfig, CacheKey};
use charter_engine::contract::ReaderSettings;
use charter_engine::rules::{
    CaseOutcome, RuleCaseFile, RuleEngine, RuleSet, RuleSetOptions, run_case_file,
};

fn default_pack() -> PolicyPack {
    PolicyPack::from_files(charter_policies::files()).expect("the default pack loads")
}

#[test]
fn default_rule_cases_hold_and_cover_every_rule() {
    rule_cases_hold(RuleEngine::Compiled);
}

#[test]
fn default_rule_cases_hold_in_the_interpreter() {
    rule_cases_hold(RuleEngine::Interpreter);
}

fn rule_cases_hold(engine: RuleEngine) {
    let pack = default_pack();
    let options = RuleSetOptions {
        engine,
        ..RuleSetOptions::default()
    };
    let rules = RuleSet::compile(&pack, options).expect("the default pack compiles");
    assert_eq!(
        rules.engine_kind(),
        engine,
        "{:?}",
        rules.interpreted_because()
    );
    let reader = ReaderSettings::from_settings(pack.settings());
    let mut failures = Vec::new();
    let mut raised = BTreeSet::new();
    let mut not_raised = BTreeSet::new();
    let mut count = 0;
    for file in pack
        .files_in("tests", ".yaml")
        .filter(|f| f.path.starts_with("tests/rules/"))
    {
        let parsed: RuleCaseFile =
            yaml_serde::from_str(&file.text).unwrap_or_else(|e| panic!("{}: {e}", file.path));
        for case in &parsed.cases {
            raised.extend(case.raises.iter().cloned());
            not_raised.extend(case.not_raises.iter().cloned());
        }
        for result in run_case_file(&rules, &reader, &pack, &file.text)
            .unwrap_or_else(|e| panic!("{}: {e}", file.path))
        {
            count += 1;
            if let CaseOutcome::Fail(why) = result.outcome {
                failures.push(format!("{}: {}: {why}", file.path, result.name));
            }
        }
    }
    assert!(count > 0, "no rule cases found");
    assert!(
        failures.is_empty(),
        "{} of {count} rule cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    for id in rules.catalog().keys() {
        assert!(raised.contains(id), "no case shows `{id}` raised");
        assert!(not_raised.contains(id), "no case shows `{id}` not raised");
    }
}

#[test]
fn every_default_rule_is_documented() {
    let pack = default_pack();
    let rules = RuleSet::compile(&pack, RuleSetOptions::default()).expect("compiles");
    assert!(
        rules.catalog().len() >= 20,
        "{} rules",
        rules.catalog().len()
    );
    for (id, info) in rules.catalog() {
        assert!(info.title.is_some(), "`{id}` has no METADATA title");
        assert!(
            info.description.is_some(),
            "`{id}` has no METADATA description"
        );
        assert!(
            info.remediation.is_some(),
            "`{id}` has no METADATA custom.remediation"
        );
    }
}

#[test]
fn a_case_that_does_not_hold_fails_with_the_reason() {
    let pack = default_pack();
    let rules = RuleSet::compile(&pack, RuleSetOptions::default()).expect("compiles");
    let text = "cases:\n  - name: empty input raises no owner\n    input: {}\n    raises: [ownership/missing_owner, naming/no_such_rule]\n    not_raises: [ownership/missing_owner]\n";
    let results = run_case_file(&rules, &ReaderSettings::default(), &pack, text).unwrap();
    let CaseOutcome::Fail(why) = &results[0].outcome else {
        panic!("the case must fail")
    };
    assert!(
        why.contains("expected naming/no_such_rule to be raised"),
        "{why}"
    );
    assert!(
        why.contains("expected ownership/missing_owner not to be raised"),
        "{why}"
    );
}

#[test]
fn a_policy_that_does_not_compile_is_refused_with_its_file() {
    let mut files: Vec<(String, String)> = charter_policies::files()
        .into_iter()
        .map(|(p, t)| (p, t.to_owned()))
        .collect();
    files.push((
        "rego/rules/broken.rego".into(),
        "package charter.rules.broken\ndeny_x contains msg if {\n".into(),
    ));
    let pack = PolicyPack::from_files(files).unwrap();
    let err = RuleSet::compile(&pack, RuleSetOptions::default())
        .unwrap_err()
        .to_string();
    assert!(err.contains("rego/rules/broken.rego"), "{err}");
}

#[test]
fn a_rule_past_the_time_limit_is_a_timeout_not_a_hang() {
    let files = vec![(
        "rego/rules/slow.rego".to_owned(),
        "package charter.rules.slow\ndeny_spin contains \"x\" if {\n  some i in numbers.range(1, 20000)\n  some j in numbers.range(1, 20000)\n  i == j + 50000\n}\n".to_owned(),
    )];
    let pack = PolicyPack::from_files(files).unwrap();
    let timeout = std::time::Duration::from_millis(100);
    for engine in [RuleEngine::Compiled, RuleEngine::Interpreter] {
        // Compiling probes the rules once on an empty product: that probe times out too,
        // and a timeout is not a compile error.
        let rules = RuleSet::compile(&pack, RuleSetOptions { timeout, engine }).unwrap();
        assert_eq!(rules.engine_kind(), engine);
        let start = std::time::Instant::now();
        let err = rules
            .evaluator()
            .evaluate(&charter_engine::contract::Product::default())
            .unwrap_err();
        assert_eq!(
            err,
            charter_engine::rules::EvalError::Timeout(timeout),
            "{engine:?}"
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(5),
            "{engine:?} took {:?}",
            start.elapsed()
        );
    }
}

/// Policies cannot reach out: the builtins that touch the network or the process
/// environment are compiled out of the Rego engine, so a pack that calls them does not
/// compile (SECURITY.md). A policy that could read `opa.runtime().env` or `http.send`
/// a contract somewhere would turn a governance check into an exfiltration channel.
#[test]
fn builtins_that_reach_out_are_compiled_out() {
    for (builtin, call) in [
        (
            "http.send",
            r#"http.send({"method": "get", "url": "http://127.0.0.1:9/"})"#,
        ),
        ("opa.runtime", "opa.runtime()"),
        ("net.lookup_ip_addr", r#"net.lookup_ip_addr("localhost")"#),
    ] {
        let rego = format!(
            "package charter.rules.probe\n\nimport rego.v1\n\n# METADATA\n# title: Probe\n# custom:\n#   severity: error\ndeny_probe contains msg if {{\n\tx := {call}\n\tmsg := sprintf(\"%v\", [x])\n}}\n"
        );
        let pack = PolicyPack::from_files([("rego/probe.rego", rego.as_str())])
            .expect("the pack's files load");
        let compiled = RuleSet::compile(&pack, RuleSetOptions::default());
        let error = compiled
            .err()
            .unwrap_or_else(|| panic!("{builtin} compiled"));
        assert!(error.to_string().contains(builtin), "{builtin}: {error}");
    }
}

/// The result cache is read, not just written: a warm run reads no contract, and after an
/// edit it reads only the edited one, with the same findings as a cold run throughout.
#[test]
fn the_result_cache_serves_unchanged_contracts_and_rereads_changed_ones() {
    use charter_engine::check::{CheckOptions, NoProgress, check_files_keeping_contracts};
    use charter_engine::mesh::{LoadOptions, discover};

    let dir = tempfile::tempdir().unwrap();
    let orders =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/mesh/domains/orders");
    for name in ["order_events.yaml", "returns.yaml", "order_lines.yaml"] {
        std::fs::copy(orders.join(name), dir.path().join(name)).unwrap();
    }
    let pack = default_pack();
    let rules = RuleSet::compile(&pack, RuleSetOptions::default()).unwrap();
    let reader = ReaderSettings::from_settings(pack.settings());
    let options = CheckOptions {
        cache: Some(CacheConfig {
            dir: dir.path().join(".charter-cache"),
            key: CacheKey::derive("test"),
        }),
    };
    let run = || {
        let files = discover(dir.path(), &LoadOptions::default()).unwrap();
        check_files_keeping_contracts(&files, &rules, &reader, &options, &NoProgress)
    };
    let cold = run();
    assert_eq!(cold.contracts.len(), 3, "a cold run reads every contract");
    assert!(cold.cached.is_empty());
    let warm = run();
    assert!(warm.contracts.is_empty(), "a warm run reads none");
    assert_eq!(warm.cached.len(), 3);
    assert_eq!(warm.report.findings, cold.report.findings);

    let edited = dir.path().join("returns.yaml");
    let text = std::fs::read_to_string(&edited).unwrap();
    std::fs::write(&edited, format!("{text}# edited\n")).unwrap();
    let after = run();
    assert_eq!(after.contracts.len(), 1, "only the edited contract is read");
    assert_eq!(after.contracts[0].product.source.file, "returns.yaml");
    assert_eq!(after.cached.len(), 2);
    assert_eq!(after.report.findings, cold.report.findings);
}

/// `evaluate_bytes` (the service's EvaluateContract) and `check_files` (`charter check`)
/// find the same on every sample contract, and a file that cannot be read is one
/// `contract/parse` finding at its line.
#[test]
fn one_contract_is_evaluated_as_a_check_evaluates_it() {
    use charter_engine::check::{CheckOptions, NoProgress, PARSE_RULE, check_files};
    use charter_engine::evaluation::evaluate_bytes;
    use charter_engine::mesh::{LoadOptions, discover};

    let pack = default_pack();
    let rules = RuleSet::compile(&pack, RuleSetOptions::default()).expect("compiles");
    let reader = ReaderSettings::from_settings(pack.settings());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/mesh");
    let files = discover(&root, &LoadOptions::default()).expect("the sample mesh");
    let report = check_files(
        &files,
        &rules,
        &reader,
        &CheckOptions::default(),
        &NoProgress,
    );
    let mut found = 0;
    for file in &files {
        let bytes = std::fs::read(&file.path).expect("a sample contract");
        let evaluation = evaluate_bytes(&file.display, &bytes, &reader, &mut rules.evaluator());
        let mut one: Vec<(u32, String, String)> = evaluation
            .findings
            .into_iter()
            .map(|f| (f.line, f.rule, f.message))
            .collect();
        one.sort();
        let mut checked: Vec<(u32, String, String)> = report
            .findings
            .iter()
            .filter(|f| f.file == file.display)
            .map(|f| (f.line, f.rule.clone(), f.message.clone()))
            .collect();
        checked.sort();
        assert_eq!(one, checked, "{}", file.display);
        found += one.len();
    }
    assert!(found > 0, "the sample mesh has findings");

    let text = b"apiVersion: datamesh.io/v1\nkind: DataProduct\nmetadata: [\n";
    let bad = evaluate_bytes("bad.yaml", text, &reader, &mut rules.evaluator());
    let error =
        charter_engine::contract::read_bytes("bad.yaml", text, &reader).expect_err("not YAML");
    assert!(bad.contract.is_none());
    assert_eq!(bad.findings.len(), 1);
    assert_eq!(bad.findings[0].rule, PARSE_RULE);
    assert_eq!(
        (bad.findings[0].line, bad.findings[0].message.as_str()),
        (error.line, error.message.as_str())
    );
}

/// The rules compiled to bytecode and the interpreter find the same, in the same order, on
/// every contract the repository holds (the sample mesh, the fixtures, the rule cases'
/// products); and each finds on the part of the product the pack reads (what a contract is
/// converted to) what it finds on the whole product.
#[test]
fn both_rule_engines_find_the_same_on_every_sample_contract_and_its_whole_input() {
    use charter_engine::contract::read_bytes;

    let pack = default_pack();
    let compile = |engine| {
        let rules = RuleSet::compile(
            &pack,
            RuleSetOptions {
                engine,
                ..RuleSetOptions::default()
            },
        )
        .expect("compiles");
        assert_eq!(rules.engine_kind(), engine);
        rules
    };
    let (compiled, interpreted) = (
        compile(RuleEngine::Compiled),
        compile(RuleEngine::Interpreter),
    );
    let (mut fast, mut slow) = (compiled.evaluator(), interpreted.evaluator());
    let reader = ReaderSettings::from_settings(pack.settings());
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let (mut compared, mut with_findings) = (0, 0);
    for dir in ["testdata", "policies/tests"] {
        for entry in walkdir::WalkDir::new(root.join(dir)).sort_by_file_name() {
            let entry = entry.expect("a readable tree");
            let path = entry.path();
            if !path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                continue;
            }
            let bytes = std::fs::read(path).expect("a readable file");
            let Ok(contract) = read_bytes(&path.display().to_string(), &bytes, &reader) else {
                continue;
            };
            let a = fast.evaluate_contract(&contract);
            let b = slow.evaluate_contract(&contract);
            assert_eq!(a, b, "{}", path.display());
            // A contract is converted to only what the pack reads of it: the rules find
            // the same on the whole product.
            let whole = contract.rego_input().expect("converts");
            let found = |r: &Result<Vec<_>, _>| {
                r.clone()
                    .map(|f: Vec<_>| f.into_iter().map(|(f, _)| f).collect::<Vec<_>>())
            };
            assert_eq!(
                found(&a),
                fast.evaluate_input(whole.clone()),
                "{}: whole input",
                path.display()
            );
            assert_eq!(
                found(&b),
                slow.evaluate_input(whole),
                "{}: whole input",
                path.display()
            );
            compared += 1;
            with_findings += usize::from(a.is_ok_and(|f| !f.is_empty()));
        }
    }
    assert!(compared >= 30, "only {compared} contracts compared");
    assert!(
        with_findings >= 10,
        "only {with_findings} contracts with findings"
    );
}

/// A policy that fails at run time (a complete rule with two values) is a policy error,
/// whichever engine is asked for: the bytecode machine would answer undefined there and
/// lose the finding, so a pack that can reach such an error runs in the interpreter.
#[test]
fn a_failing_policy_is_an_error_whichever_engine_is_asked_for() {
    let rego = "package charter.rules.conflict\n\nimport rego.v1\n\nlevel := 1 if input.id == \"boom\"\nlevel := 2 if input.id == \"boom\"\n\ndeny_conflict contains \"x\" if level == 1\n";
    let pack = PolicyPack::from_files([("rego/conflict.rego", rego)]).expect("loads");
    let product = charter_engine::contract::Product {
        id: "boom".into(),
        ..charter_engine::contract::Product::default()
    };
    for engine in [RuleEngine::Compiled, RuleEngine::Interpreter] {
        let options = RuleSetOptions {
            engine,
            ..RuleSetOptions::default()
        };
        let rules = RuleSet::compile(&pack, options).expect("an empty product is fine");
        assert_eq!(rules.engine_kind(), RuleEngine::Interpreter);
        if engine == RuleEngine::Compiled {
            let why = rules.interpreted_because().expect("a reason");
            assert!(
                why.contains(
                    "rego/conflict.rego:5: `charter.rules.conflict.level` has 2 definitions"
                ),
                "{why}"
            );
        }
        let mut evaluator = rules.evaluator();
        let error = evaluator
            .evaluate(&product)
            .expect_err("two values for one rule");
        assert!(
            matches!(error, charter_engine::rules::EvalError::Failed(_)),
            "{engine:?}: {error}"
        );
        let fine = evaluator.evaluate(&charter_engine::contract::Product::default());
        assert_eq!(
            fine,
            Ok(Vec::new()),
            "{engine:?}: the next contract is unaffected"
        );
    }
}

/// A pack with a construct the bytecode compiler does not take (`with`) still runs, in the
/// interpreter, and says why.
#[test]
fn a_pack_the_compiler_cannot_take_runs_in_the_interpreter() {
    let rego = "package charter.rules.probe\n\nimport rego.v1\n\nnamed if input.id == \"x\"\n\ndeny_with contains \"named\" if {\n\tnamed with input as {\"id\": \"x\"}\n}\n";
    let pack = PolicyPack::from_files([("rego/probe.rego", rego)]).expect("loads");
    let rules = RuleSet::compile(&pack, RuleSetOptions::default()).expect("compiles");
    assert_eq!(rules.engine_kind(), RuleEngine::Interpreter);
    let why = rules.interpreted_because().expect("a reason");
    assert!(why.contains("with"), "{why}");
    let findings = rules
        .evaluator()
        .evaluate(&charter_engine::contract::Product::default())
        .expect("evaluates");
    assert_eq!(findings.len(), 1, "{findings:?}");
    assert_eq!(findings[0].rule, "probe/with");
}
