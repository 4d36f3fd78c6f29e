//! The `charter` binary as a user runs it: output formats on the sample mesh (snapshots),
//! exit codes, the result cache, and error messages.
#![cfg(test)]
#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom; the 100-line limit is for product code"
)]

#[path = "cli/access.rs"]
mod access;
#[path = "cli/authoring.rs"]
mod authoring;
#[path = "cli/base.rs"]
mod base;
#[path = "cli/browser.rs"]
mod browser;
#[path = "cli/bundle.rs"]
mod bundle;
mod common;
#[path = "cli/deploy.rs"]
mod deploy;
#[path = "cli/export.rs"]
mod export;
#[path = "cli/export_ranger.rs"]
mod export_ranger;
#[path = "cli/export_sql.rs"]
mod export_sql;
#[cfg(unix)]
#[path = "cli/hostile_tree.rs"]
mod hostile_tree;
#[path = "cli/impact.rs"]
mod impact;

use std::process::{Command, Output};

use common::{charter, copy_dir, repo, stderr, stdout};

/// Report output with what changes on every policy edit or release filtered out.
fn snapshot_settings() -> insta::Settings {
    let mut settings = insta::Settings::clone_current();
    settings.add_filter(
        r#""revision": "[0-9a-f]{16}""#,
        r#""revision": "[revision]""#,
    );
    settings.add_filter(r"revision [0-9a-f]{16}", "revision [revision]");
    settings.add_filter(r"revision `[0-9a-f]{16}`", "revision `[revision]`");
    settings.add_filter(
        r#""(semanticVersion|version)": "\d+\.\d+\.\d+""#,
        r#""$1": "[version]""#,
    );
    settings.add_filter(r#"version="\d+\.\d+\.\d+""#, r#"version="[version]""#);
    settings.add_filter(r#"time="[0-9.]+""#, r#"time="[time]""#);
    settings.add_filter(r#"timestamp="[^"]+""#, r#"timestamp="[timestamp]""#);
    settings.set_snapshot_path("snapshots");
    settings.set_prepend_module_to_snapshot(false);
    settings
}

fn report_sample(format: &str) -> Output {
    charter(&["report", "testdata/mesh", "--no-cache", "--format", format])
}

macro_rules! format_snapshot {
    ($name:ident, $format:literal) => {
        #[test]
        fn $name() {
            let out = report_sample($format);
            assert_eq!(
                out.status.code(),
                Some(1),
                "the sample mesh has errors: {}",
                stderr(&out)
            );
            assert!(
                stderr(&out).is_empty(),
                "nothing on stderr off a terminal: {}",
                stderr(&out)
            );
            snapshot_settings()
                .bind(|| insta::assert_snapshot!(concat!("report_", $format), stdout(&out)));
        }
    };
}

format_snapshot!(report_text, "text");
format_snapshot!(report_json, "json");
format_snapshot!(report_sarif, "sarif");
format_snapshot!(report_junit, "junit");
format_snapshot!(report_github, "github");
format_snapshot!(report_markdown, "markdown");

#[test]
fn json_report_is_stable_and_complete() {
    let out = report_sample("json");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["version"], 1);
    let summary = &doc["summary"];
    assert_eq!(
        summary["unreadable"], 3,
        "broken, wrong types, unknown kind"
    );
    let products = doc["products"].as_array().unwrap();
    assert_eq!(
        summary["products"].as_u64().unwrap() as usize,
        products.len()
    );
    assert!(products.len() >= 12);
    let domains: Vec<&str> = doc["domains"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["name"].as_str().unwrap())
        .collect();
    assert_eq!(
        domains,
        ["billing", "customer-engagement", "inventory", "orders"]
    );
    let findings = doc["findings"].as_array().unwrap();
    let keys: Vec<(String, u64, String)> = findings
        .iter()
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
                f["rule"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(keys, sorted, "findings are sorted by file, line, rule");
    // Every deliberately broken file is a finding, with its line.
    for (file, line) in [
        ("domains/billing/unknown_kind.yaml", 3),
        ("domains/inventory/wrong_types.yaml", 14),
    ] {
        assert!(
            findings
                .iter()
                .any(|f| f["rule"] == "contract/parse" && f["file"] == file && f["line"] == line),
            "{file}:{line} contract/parse"
        );
    }
}

#[test]
fn sarif_report_is_valid_sarif_2_1_0() {
    let schema_path = repo().join("testdata/schemas/sarif-schema-2.1.0.json");
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(schema_path).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&report_sample("sarif").stdout).unwrap();
    let errors: Vec<String> = validator
        .iter_errors(&doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{errors:#?}");
    let results = doc["runs"][0]["results"].as_array().unwrap();
    assert!(results.iter().all(|r| {
        r["locations"][0]["physicalLocation"]["region"]["startLine"]
            .as_u64()
            .unwrap()
            >= 1
    }));
    assert!(results.iter().all(|r| {
        !r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .starts_with('/')
    }));
}

#[test]
fn fail_on_sets_the_exit_code() {
    assert_eq!(
        charter(&[
            "report",
            "testdata/mesh",
            "--no-cache",
            "--fail-on",
            "never"
        ])
        .status
        .code(),
        Some(0)
    );
    let warning_only = "testdata/mesh/domains/orders/order_events.yaml";
    assert_eq!(
        charter(&["check", warning_only, "--no-cache"])
            .status
            .code(),
        Some(0)
    );
    let with_warning = "testdata/mesh/domains/customer-engagement/email_campaigns.yaml";
    let out = charter(&["check", with_warning, "--no-cache", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["severity"] == "warning")
    );
    assert_eq!(
        charter(&["check", with_warning, "--no-cache", "--fail-on", "warning"])
            .status
            .code(),
        Some(1)
    );
}

#[test]
fn check_takes_files_and_folders_and_reports_paths_as_given() {
    let out = charter(&[
        "check",
        "testdata/mesh/domains/orders",
        "--no-cache",
        "--format",
        "github",
    ]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(
        text.contains(
            "::error file=testdata/mesh/domains/orders/broken.yaml,line=20,title=contract/parse::"
        ),
        "{text}"
    );
    assert!(!text.contains("billing"), "only the given folder: {text}");
}

#[test]
fn charter_could_not_do_its_job_exits_2_with_what_to_fix() {
    let out = charter(&["report", "no/such/dir"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("no/such/dir"), "{}", stderr(&out));

    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("rego")).unwrap();
    std::fs::write(
        dir.path().join("rego/bad.rego"),
        "package charter.rules.bad\ndeny_x contains msg if {\n",
    )
    .unwrap();
    let out = charter(&[
        "report",
        "testdata/mesh",
        "--no-cache",
        "--policies",
        dir.path().to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("rego/bad.rego"), "{}", stderr(&out));

    let out = charter(&["report", "testdata/mesh", "--format", "pdf"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        stderr(&out).contains("sarif"),
        "lists the valid formats: {}",
        stderr(&out)
    );
}

#[test]
fn cache_serves_unchanged_contracts_and_rechecks_changed_ones() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = dir.path().join("mesh");
    copy_dir(&repo().join("testdata/mesh"), &mesh);
    let run = || {
        let out = charter(&["report", mesh.to_str().unwrap(), "--format", "json"]);
        serde_json::from_slice::<serde_json::Value>(&out.stdout).unwrap()
    };
    let cold = run();
    assert!(mesh.join(".charter-cache/results-v2.json").exists());
    assert_eq!(
        std::fs::read_to_string(mesh.join(".charter-cache/.gitignore"))
            .unwrap()
            .lines()
            .last(),
        Some("*")
    );
    let warm = run();
    assert_eq!(cold, warm, "a warm run reports exactly what a cold one did");

    let file = mesh.join("domains/billing/refunds.yaml");
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("version: v2", "version: 2.0.0");
    std::fs::write(&file, text).unwrap();
    let changed = run();
    let rules_of = |doc: &serde_json::Value| -> Vec<String> {
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["product"] == "billing.refunds")
            .map(|f| f["rule"].as_str().unwrap().to_owned())
            .collect()
    };
    assert!(rules_of(&cold).contains(&"versioning/invalid_semver".to_owned()));
    assert!(
        !rules_of(&changed).contains(&"versioning/invalid_semver".to_owned()),
        "the changed file was checked again"
    );
}

/// A cache folder the checked tree made a symlink is neither read nor written, and the
/// run says so and what to do.
#[cfg(unix)]
#[test]
fn a_symlinked_cache_folder_is_not_used() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = dir.path().join("mesh");
    copy_dir(&repo().join("testdata/mesh"), &mesh);
    let elsewhere = dir.path().join("elsewhere");
    std::fs::create_dir(&elsewhere).unwrap();
    // (A cache left in the working copy's testdata by a local run is not part of the test.)
    let _ = std::fs::remove_dir_all(mesh.join(".charter-cache"));
    std::os::unix::fs::symlink(&elsewhere, mesh.join(".charter-cache")).unwrap();
    let out = charter(&["report", mesh.to_str().unwrap(), "--format", "json"]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("running without the result cache")
            && stderr(&out).contains("is a symlink; give the folder it points to with --cache-dir"),
        "{}",
        stderr(&out)
    );
    assert_eq!(std::fs::read_dir(&elsewhere).unwrap().count(), 0);

    // Given as --cache-dir, the folder it points to is used.
    let out = charter(&[
        "report",
        mesh.to_str().unwrap(),
        "--format",
        "json",
        "--cache-dir",
        elsewhere.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(elsewhere.join("results-v2.json").exists());
}

/// A cache committed with a pull request (or copied from another machine) is sealed with
/// another key: it is not trusted, and the contracts are checked for real.
#[test]
fn a_forged_cache_is_not_trusted() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = dir.path().join("mesh");
    copy_dir(&repo().join("testdata/mesh"), &mesh);
    let refunds_rules = |key: Option<&str>| -> Vec<String> {
        let mut command = Command::new(env!("CARGO_BIN_EXE_charter"));
        command
            .args(["report", mesh.to_str().unwrap(), "--format", "json"])
            .env("NO_COLOR", "1")
            .env_remove(charter_cli::cache_key::ENV);
        if let Some(key) = key {
            command.env(charter_cli::cache_key::ENV, key);
        }
        let out = command.output().unwrap();
        assert_eq!(stderr(&out), "");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["product"] == "billing.refunds" && f["rule"] != "policy/error")
            .map(|f| f["rule"].as_str().unwrap().to_owned())
            .collect()
    };
    let honest = refunds_rules(Some("attacker"));
    assert!(honest.contains(&"versioning/invalid_semver".to_owned()));

    // The attacker, who knows their own key, empties every cached result and seals it again.
    let file = mesh.join(".charter-cache/results-v2.json");
    let sealed = std::fs::read(&file).unwrap();
    let split = sealed.iter().position(|&b| b == b'\n').unwrap();
    let mut body: serde_json::Value = serde_json::from_slice(&sealed[split + 1..]).unwrap();
    for entry in body["entries"].as_object_mut().unwrap().values_mut() {
        entry["findings"] = serde_json::json!([]);
    }
    let body = serde_json::to_vec(&body).unwrap();
    let key = blake3::derive_key("charter result cache v2 key", b"attacker");
    let mut forged = blake3::keyed_hash(&key, &body).to_hex().as_bytes().to_vec();
    forged.push(b'\n');
    forged.extend_from_slice(&body);
    std::fs::write(&file, forged).unwrap();
    assert_eq!(
        refunds_rules(Some("attacker")),
        Vec::<String>::new(),
        "under the attacker's own key the forgery is read: the test forges for real"
    );

    assert_eq!(refunds_rules(Some("the CI's secret")), honest);
    assert_eq!(refunds_rules(None), honest, "the machine's own key");
}

#[test]
fn inspect_prints_the_rego_input() {
    let out = charter(&["inspect", "testdata/mesh/domains/orders/order_events.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["id"], "orders.order_events");
    assert!(
        doc["fields"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["pii"] == true)
    );

    let out = charter(&["inspect", "testdata/mesh/domains/orders/broken.yaml"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("broken.yaml:20"), "{}", stderr(&out));
}

#[test]
fn output_flag_writes_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.md");
    let out = charter(&[
        "report",
        "testdata/mesh",
        "--no-cache",
        "--format",
        "markdown",
        "--output",
        path.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(std::fs::read_to_string(path).unwrap().contains("| Domain"));
}

#[test]
fn waivers_are_shown_and_never_fail_the_run() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = dir.path().join("mesh");
    copy_dir(&repo().join("testdata/mesh"), &mesh);
    std::fs::write(
        mesh.join("waivers.yaml"),
        "waivers:\n  - rule: pii/masking_required\n    product: customer-engagement.web_sessions\n    reason: tokenized at the source until the Q1 migration\n    approved_by: governance@acme.example\n    expires: 2027-01-15\n  - rule: sla/*\n    product: nothing.*\n    reason: stale\n    approved_by: governance@acme.example\n    expires: 2027-01-15\n  - rule: naming/*\n    product: '*'\n    reason: old\n    approved_by: governance@acme.example\n    expires: 2026-01-01\n",
    )
    .unwrap();
    let out = charter(&[
        "report",
        mesh.to_str().unwrap(),
        "--no-cache",
        "--format",
        "json",
        "--today",
        "2026-11-27",
    ]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    let waived: Vec<&serde_json::Value> =
        findings.iter().filter(|f| !f["waiver"].is_null()).collect();
    assert_eq!(waived.len(), 1);
    assert_eq!(waived[0]["rule"], "pii/masking_required");
    assert_eq!(doc["summary"]["waived"], 1);
    let at = |rule: &str| {
        findings.iter().find(|f| f["rule"] == rule).map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["line"].as_u64().unwrap(),
            )
        })
    };
    assert_eq!(at("waiver/unused"), Some(("waivers.yaml".to_owned(), 7)));
    assert_eq!(at("waiver/expired"), Some(("waivers.yaml".to_owned(), 16)));
    assert_eq!(doc["waivers"].as_array().unwrap().len(), 3);

    // The waived finding is a SARIF suppression.
    let out = charter(&[
        "report",
        mesh.to_str().unwrap(),
        "--no-cache",
        "--format",
        "sarif",
        "--today",
        "2026-11-27",
    ]);
    let sarif: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let suppressed = sarif["runs"][0]["results"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r.get("suppressions").is_some())
        .count();
    assert_eq!(suppressed, 1);
}

#[test]
fn report_runs_the_repository_wide_rules_and_check_does_not() {
    let out = report_sample("json");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert!(rules.contains(&"pii/unmarked_upstream_pii"), "{rules:?}");
    assert!(rules.contains(&"lineage/deprecated_upstream"), "{rules:?}");
    let out = charter(&["check", "testdata/mesh", "--no-cache", "--format", "json"]);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        !doc["findings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["rule"] == "pii/unmarked_upstream_pii")
    );
}

#[test]
fn explain_describes_each_rule_with_findings() {
    let out = charter(&[
        "check",
        "testdata/mesh/domains/billing/payments.yaml",
        "--no-cache",
        "--explain",
    ]);
    let text = stdout(&out);
    let rules = text.split("Rules\n").nth(1).expect("a Rules section");
    assert!(rules.contains("ownership/invalid_owner"), "{text}");
    assert!(rules.contains("fix: "), "{text}");
    let without = stdout(&charter(&[
        "check",
        "testdata/mesh/domains/billing/payments.yaml",
        "--no-cache",
    ]));
    assert!(!without.contains("\nRules\n"));
}

#[test]
fn limits_are_flags_and_a_file_over_one_is_a_finding_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let orders = repo().join("testdata/mesh/domains/orders/order_events.yaml");
    std::fs::copy(&orders, dir.path().join("order_events.yaml")).unwrap();
    let path = dir.path().to_str().unwrap();
    let ok = charter(&["check", path, "--no-cache", "--fail-on", "never"]);
    assert!(!stdout(&ok).contains("contract/parse"), "{}", stdout(&ok));
    for (flag, value, named) in [
        ("--max-depth", "2", "--max-depth"),
        ("--max-nodes", "10", "--max-nodes"),
        ("--max-line-length", "10", "--max-line-length"),
        ("--max-file-size", "100", "over the limit of 100 bytes"),
    ] {
        let out = charter(&["check", path, "--no-cache", flag, value]);
        assert_eq!(out.status.code(), Some(1), "{flag}: {}", stderr(&out));
        let text = stdout(&out);
        assert!(
            text.contains("contract/parse") && text.contains(named),
            "{flag}: {text}"
        );
    }
    let help = stdout(&charter(&["report", "--help"]));
    assert!(help.contains("Limits on each contract file"), "{help}");
}

/// A folder that cannot be listed is a finding, and the rest of the repository is still
/// checked. Root reads any folder, so as root the check runs as `nobody` (setpriv).
#[cfg(unix)]
#[test]
fn an_unreadable_folder_is_a_finding_not_an_abort() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    let readable = dir.path().join("domains/orders");
    let secret = dir.path().join("domains/secret");
    std::fs::create_dir_all(&readable).unwrap();
    std::fs::create_dir_all(&secret).unwrap();
    let contract = repo().join("testdata/mesh/domains/orders/order_events.yaml");
    std::fs::copy(&contract, readable.join("order_events.yaml")).unwrap();
    std::fs::copy(&contract, secret.join("order_events.yaml")).unwrap();
    for d in [dir.path(), &dir.path().join("domains"), &readable] {
        std::fs::set_permissions(d, std::fs::Permissions::from_mode(0o755)).unwrap();
    }
    std::fs::set_permissions(
        readable.join("order_events.yaml"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o000)).unwrap();
    let path = dir.path().to_str().unwrap();
    let binary = env!("CARGO_BIN_EXE_charter");
    let args = ["report", path, "--no-cache", "--format", "json"];
    let mut command = if is_root() {
        // `nobody` may not reach the build folder: run a copy from the temporary one.
        let copy = dir.path().join(".bin/charter");
        std::fs::create_dir_all(copy.parent().unwrap()).unwrap();
        std::fs::copy(binary, &copy).unwrap();
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&copy)
            .current_dir(dir.path());
        c
    } else {
        Command::new(binary)
    };
    let out = command
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("charter runs");
    std::fs::set_permissions(&secret, std::fs::Permissions::from_mode(0o755)).unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings.iter().any(|f| f["file"] == "domains/secret/"
            && f["rule"] == "contract/parse"
            && f["message"]
                .as_str()
                .is_some_and(|m| m.contains("cannot read folder"))),
        "{findings:#?}"
    );
    assert_eq!(
        report["summary"]["products"], 1,
        "the readable contract is still checked"
    );
}

/// Whether this process runs as root (`id -u`), without unsafe code.
fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Repository-wide rules past their time limit stop the report with exit 2 and say which
/// flag to raise: a gate that could not apply its rules must not pass.
#[test]
fn repository_rules_past_their_time_limit_say_what_to_do() {
    let out = charter(&[
        "report",
        "testdata/mesh",
        "--no-cache",
        "--mesh-timeout",
        "1ns",
    ]);
    assert_eq!(out.status.code(), Some(2));
    let err = stderr(&out);
    assert!(
        err.contains("did not finish within 1ns over 21 contracts")
            && err.contains("--mesh-timeout"),
        "{err}"
    );
}

/// Every command that reads contracts takes the same limits.
#[test]
fn inspect_diff_and_authorize_take_the_limits_too() {
    let file = "testdata/mesh/domains/orders/order_events.yaml";
    let out = charter(&["inspect", file, "--max-file-size", "100"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--max-file-size"), "{}", stderr(&out));
    let out = charter(&["inspect", file, "--max-depth", "2"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("--max-depth"), "{}", stderr(&out));
    let out = charter(&["diff", file, file, "--max-nodes", "10"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("--max-nodes"), "{}", stderr(&out));
    let out = charter(&[
        "entities",
        "--mesh",
        "testdata/mesh",
        "--max-file-size",
        "100",
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("--max-file-size"),
        "every contract is reported unreadable: {}",
        stderr(&out)
    );
}

/// A service limit of 0 would refuse every call: refused at start, saying why.
#[test]
fn serve_refuses_limits_of_zero() {
    for flag in [
        "--max-concurrency",
        "--max-batch",
        "--max-columns",
        "--max-message-bytes",
        "--worker-threads",
    ] {
        let out = charter(&["serve", "--mesh", "testdata/mesh", flag, "0"]);
        assert_eq!(out.status.code(), Some(2), "{flag}");
        assert!(
            stderr(&out).contains(&format!("invalid value '0' for '{flag}"))
                && stderr(&out).contains("must be at least 1"),
            "{flag}: {}",
            stderr(&out)
        );
    }
}

/// `charter … | head`: a reader that closes the pipe early is not an error worth a message,
/// whatever document was being written.
#[test]
fn a_closed_pipe_ends_quietly() {
    for args in [
        &["report", "testdata/mesh", "--no-cache", "--format", "json"][..],
        &["rules", "--format", "markdown"],
        &["validate", "--format", "json"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_charter"))
            .args(args)
            .current_dir(repo())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("charter runs");
        // The reader is gone before charter writes anything.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("charter ends");
        assert_eq!(stderr(&out), "", "{args:?}");
        assert_eq!(out.status.code(), Some(0), "{args:?}");
    }
}

#[test]
fn sub_second_time_limits_are_kept() {
    // `500ms` used to be read as whole seconds, a limit of 0: every contract timed out.
    let out = charter(&[
        "check",
        "testdata/mesh",
        "--no-cache",
        "--format",
        "json",
        "--timeout",
        "500ms",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert!(!findings.is_empty());
    assert!(
        findings.iter().all(|f| f["rule"] != "policy/timeout"),
        "no contract times out in 500ms: {findings:#?}"
    );

    let zero = charter(&["check", "testdata/mesh", "--timeout", "0s"]);
    assert_eq!(zero.status.code(), Some(2));
    assert!(stderr(&zero).contains("above zero"), "{}", stderr(&zero));
}

#[test]
fn report_completes_over_the_odcs_examples() {
    // The ODCS project's examples (beside the repository): two of them share a name and
    // differ in status, which once made a repository-wide rule fail and the report exit 2.
    let dir = repo().join("../shared/conformance/odcs");
    if !dir.is_dir() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`{}` is absent, and CI=true requires it",
            dir.display()
        );
        eprintln!("skipped: `{}` is absent", dir.display());
        return;
    }
    let dir = dir.to_string_lossy().into_owned();
    let out = charter(&["report", "--no-cache", "--format", "json", &dir]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("a JSON report");
    let findings = report["findings"].as_array().expect("findings");
    assert!(
        !findings.iter().any(|f| f["rule"] == "policy/error"),
        "{findings:?}"
    );
    assert!(
        !findings
            .iter()
            .any(|f| f["rule"] == "naming/duplicate_field"),
        "a column repeated across tables is no duplicate"
    );
}

mod any_mesh {
    //! Property: for any set of contracts (ids, contract ids, statuses, lineage and PII
    //! drawn from small pools so that they collide), `charter report` completes: exit 0
    //! or 1 with a report, never exit 2, and no repository-wide rule fails.
    use super::{charter, stderr, stdout};
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    struct Spec {
        odcs: bool,
        id: &'static str,
        contract_id: &'static str,
        status: &'static str,
        upstream: Vec<&'static str>,
        tables: Vec<Vec<(&'static str, bool)>>,
        servers: Vec<&'static str>,
    }

    fn spec() -> impl Strategy<Value = Spec> {
        let ids = prop::sample::select(vec!["sales.orders", "sales.lines", "crm.people"]);
        let contract_ids = prop::sample::select(vec!["c1", "c2", "c3"]);
        let statuses = prop::sample::select(vec!["active", "deprecated", "retired", "live"]);
        let refs = prop::sample::select(vec!["sales.orders", "crm.people", "raw.x", "nope.y"]);
        let column = (
            prop::sample::select(vec!["id", "email", "emailaddress", "region", "id"]),
            any::<bool>(),
        );
        let table = prop::collection::vec(column, 0..4);
        let servers = prop::sample::select(vec!["trino", "kafka", "s3", "postgres"]);
        (
            any::<bool>(),
            ids,
            contract_ids,
            statuses,
            prop::collection::vec(refs, 0..3),
            prop::collection::vec(table, 1..3),
            prop::collection::vec(servers, 0..3),
        )
            .prop_map(
                |(odcs, id, contract_id, status, upstream, tables, servers)| Spec {
                    odcs,
                    id,
                    contract_id,
                    status,
                    upstream,
                    tables,
                    servers,
                },
            )
    }

    fn yaml(s: &Spec) -> String {
        let list = |items: &[&str]| format!("[{}]", items.join(", "));
        let (domain, name) = s.id.split_once('.').unwrap_or(("d", s.id));
        if !s.odcs {
            let fields: String = s.tables[0]
                .iter()
                .map(|(c, pii)| {
                    format!("      - {{name: {c}, type: string, constraints: {{pii: {pii}}}}}\n")
                })
                .collect();
            return format!(
                "apiVersion: datamesh.io/v1\nkind: DataProduct\nmetadata:\n  name: {}\n  domain: {domain}\n  version: 1.0.0\nspec:\n  status: {}\n  schema:\n    fields:\n{fields}  lineage:\n    upstream: {}\n",
                s.id,
                s.status,
                list(&s.upstream)
            );
        }
        let mut schema = String::new();
        for (t, columns) in s.tables.iter().enumerate() {
            schema.push_str(&format!(
                "  - name: t{t}\n    physicalName: p{t}\n    properties:\n"
            ));
            for (c, pii) in columns {
                let tag = if *pii { "pii" } else { "x" };
                schema.push_str(&format!(
                    "      - {{name: {c}, physicalName: {c}_p, logicalType: string, tags: [{tag}]}}\n"
                ));
            }
        }
        let servers: String = s
            .servers
            .iter()
            .map(|k| match *k {
                "s3" => "  - {server: s, type: s3, location: 's3://b/{model}'}\n".to_owned(),
                "kafka" => "  - {server: k, type: kafka, host: 'h:9092'}\n".to_owned(),
                other => format!(
                    "  - {{server: w, type: {other}, catalog: c, database: d, schema: s}}\n"
                ),
            })
            .collect();
        format!(
            "apiVersion: v3.1.0\nkind: DataContract\nid: {}\nversion: 1.0.0\nstatus: {}\ndomain: {domain}\ndataProduct: {name}\nschema:\n{schema}servers:\n{servers}customProperties:\n  - property: upstream\n    value: {}\n",
            s.contract_id,
            s.status,
            list(&s.upstream)
        )
        .replace("servers:\ncustomProperties", "servers: []\ncustomProperties")
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 24, failure_persistence: None, ..ProptestConfig::default() })]
        #[test]
        fn report_completes_for_any_set_of_contracts(specs in prop::collection::vec(spec(), 1..7)) {
            let dir = tempfile::tempdir().expect("temp dir");
            for (i, s) in specs.iter().enumerate() {
                std::fs::write(dir.path().join(format!("c{i}.yaml")), yaml(s)).expect("write");
            }
            let root = dir.path().to_string_lossy().into_owned();
            let out = charter(&["report", "--no-cache", "--format", "json", &root]);
            let code = out.status.code();
            prop_assert!(matches!(code, Some(0 | 1)), "exit {code:?}: {}", stderr(&out));
            let report: serde_json::Value = serde_json::from_str(&stdout(&out)).expect("a JSON report");
            let findings = report["findings"].as_array().cloned().unwrap_or_default();
            prop_assert!(
                !findings.iter().any(|f| f["rule"] == "policy/error" || f["rule"] == "contract/parse"),
                "{findings:?}"
            );
        }
    }
}

/// `--rego-engine`: the compiled rules and the interpreter give the same report; a pack the
/// bytecode machine must not run (here an object comprehension, which could see one key
/// twice) runs in the interpreter, and `check` says why on stderr.
#[test]
fn both_rego_engines_report_the_same_and_a_fallback_is_noted() {
    let run = |engine: &str| {
        charter(&[
            "check",
            "testdata/mesh",
            "--format",
            "json",
            "--no-cache",
            "--rego-engine",
            engine,
        ])
    };
    let (compiled, interpreted) = (run("compiled"), run("interpreter"));
    assert_eq!(compiled.status.code(), Some(1), "{}", stderr(&compiled));
    assert_eq!(compiled.status.code(), interpreted.status.code());
    assert_eq!(stdout(&compiled), stdout(&interpreted));
    assert!(
        !stderr(&compiled).contains("note:"),
        "{}",
        stderr(&compiled)
    );

    let pack = tempfile::tempdir().unwrap();
    for sub in ["rego", "cedar", "data"] {
        copy_dir(&repo().join("policies").join(sub), &pack.path().join(sub));
    }
    std::fs::write(
        pack.path().join("rego/rules/by_name.rego"),
        "package charter.rules.by_name\n\nimport rego.v1\n\nfields := {f.name: f | some f in input.fields}\n",
    )
    .unwrap();
    let pack_dir = pack.path().display().to_string();
    let custom = charter(&[
        "check",
        "testdata/mesh",
        "--format",
        "json",
        "--no-cache",
        "--policies",
        &pack_dir,
    ]);
    let err = stderr(&custom);
    assert!(
        err.contains("note: the contract rules run in regorus's interpreter")
            && err.contains("rego/rules/by_name.rego:5: an object comprehension"),
        "{err}"
    );
    assert_eq!(custom.status.code(), Some(1), "{err}");
}
