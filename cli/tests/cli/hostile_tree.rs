//! Every command that reads a tree or a file, on a hostile repository (see
//! `common/hostile.rs`), under a memory and a time limit.

use std::os::unix::fs::symlink;
use std::process::Command;

use crate::common::hostile::{HOSTILE, Hostile, mkfifo};
use crate::common::{copy_dir, repo};

/// `(file, message)` of the `contract/parse` findings of a JSON report.
fn parse_findings(report: &serde_json::Value) -> Vec<(String, String)> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "contract/parse")
        .map(|f| {
            (
                f["file"].as_str().unwrap().to_owned(),
                f["message"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

fn assert_every_hostile_entry_is_a_finding(found: &[(String, String)]) {
    for (file, says) in HOSTILE {
        assert!(
            found
                .iter()
                .any(|(f, message)| f == file && message.contains(says)),
            "no finding for `{file}` saying `{says}`: {found:#?}"
        );
    }
    assert_eq!(found.len(), HOSTILE.len(), "{found:#?}");
}

fn products(report: &serde_json::Value) -> Vec<String> {
    let mut ids: Vec<String> = report["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["id"].as_str().unwrap().to_owned())
        .collect();
    ids.sort();
    ids
}

#[test]
fn report_reads_only_the_regular_files_of_the_repository() {
    let tree = Hostile::new();
    let run = tree.run(&["report", ".", "--no-cache", "--format", "json"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let report = run.json();
    assert_every_hostile_entry_is_a_finding(&parse_findings(&report));
    assert_eq!(
        products(&report),
        ["billing.refunds", "orders.order_events"],
        "the good contracts are still checked, the one behind an in-repository link too"
    );
    let message = |file: &str| {
        parse_findings(&report)
            .into_iter()
            .find(|(f, _)| f == file)
            .map(|(_, m)| m)
            .unwrap()
    };
    assert!(
        message("domains/hostile/outside.yaml").contains("--follow-external-symlinks"),
        "the finding says how to read it anyway"
    );
}

#[test]
fn follow_external_symlinks_reads_what_links_out_of_the_repository() {
    let tree = Hostile::new();
    let run = tree.run(&[
        "report",
        ".",
        "--no-cache",
        "--format",
        "json",
        "--follow-external-symlinks",
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let report = run.json();
    let found = parse_findings(&report);
    assert!(
        !found.iter().any(|(f, _)| f.contains("outside")),
        "{found:#?}"
    );
    // Devices, the FIFO, the socket and the loops stay findings.
    assert_eq!(found.len(), HOSTILE.len() - 2, "{found:#?}");
    // The file linked out and the folder linked out are both read.
    let read: Vec<String> = report["products"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["file"].as_str().unwrap().to_owned())
        .collect();
    for file in [
        "domains/hostile/outside.yaml",
        "domains/hostile/outside_dir/web_sessions.yaml",
        "domains/orders/order_events.yaml",
        "domains/billing/refunds.yaml",
    ] {
        assert!(read.iter().any(|f| f == file), "{file} not read: {read:?}");
    }
}

#[test]
fn check_reports_every_hostile_entry_of_a_folder() {
    let tree = Hostile::new();
    let run = tree.run(&["check", "domains", "--no-cache", "--format", "json"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let report = run.json();
    assert_every_hostile_entry_is_a_finding(&parse_findings(&report));
    assert_eq!(
        products(&report),
        ["billing.refunds", "orders.order_events"]
    );
}

#[test]
fn check_of_a_hostile_file_named_directly_is_a_finding() {
    let tree = Hostile::new();
    for (file, says) in HOSTILE.iter().filter(|(f, _)| !f.ends_with('/')) {
        let run = tree.run(&[
            "check",
            file,
            "domains/orders/order_events.yaml",
            "--no-cache",
            "--format",
            "json",
        ]);
        assert_eq!(run.code, Some(1), "{file}: {}", run.stderr);
        let report = run.json();
        let found = parse_findings(&report);
        assert!(
            found.iter().any(|(f, m)| f == file && m.contains(says)),
            "{file}: {found:#?}"
        );
        assert_eq!(products(&report), ["orders.order_events"], "{file}");
    }
}

#[test]
fn a_waivers_file_that_is_a_fifo_or_a_device_is_a_finding() {
    let tree = Hostile::new();
    mkfifo(&tree.repo().join("waivers.yaml"));
    let run = tree.run(&["report", ".", "--no-cache", "--format", "json"]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let report = run.json();
    let waiver = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "waiver/invalid")
        .unwrap_or_else(|| panic!("no waiver/invalid finding: {report:#}"));
    assert_eq!(waiver["file"], "waivers.yaml");
    assert!(
        waiver["message"]
            .as_str()
            .unwrap()
            .contains("a FIFO (named pipe)"),
        "{waiver}"
    );
    assert_eq!(
        products(&report),
        ["billing.refunds", "orders.order_events"]
    );

    let run = tree.run(&[
        "report",
        ".",
        "--no-cache",
        "--format",
        "json",
        "--waivers",
        "domains/hostile/zero.yaml",
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    assert!(
        run.stdout.contains("the waivers file was not read")
            && run.stdout.contains("a character device"),
        "{}",
        run.stdout
    );
}

#[test]
fn inspect_and_diff_refuse_special_files_and_links_out_of_the_repository() {
    let tree = Hostile::new();
    for (file, says) in HOSTILE.iter().filter(|(f, _)| !f.ends_with('/')) {
        let run = tree.run(&["inspect", file]);
        assert_eq!(run.code, Some(2), "inspect {file}: {}", run.stdout);
        assert!(run.stderr.contains(says), "inspect {file}: {}", run.stderr);
        let run = tree.run(&["diff", "domains/orders/order_events.yaml", file]);
        assert_eq!(run.code, Some(2), "diff {file}: {}", run.stdout);
        assert!(run.stderr.contains(says), "diff {file}: {}", run.stderr);
    }
    let run = tree.run(&["inspect", "domains/billing/refunds.yaml"]);
    assert_eq!(run.code, Some(0), "an in-repository link: {}", run.stderr);
    assert_eq!(run.json()["id"], "billing.refunds");
    let run = tree.run(&[
        "inspect",
        "domains/hostile/outside.yaml",
        "--follow-external-symlinks",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(run.json()["id"], "customer-engagement.web_sessions");
}

#[test]
fn authorize_and_entities_load_the_rest_of_a_hostile_mesh() {
    let tree = Hostile::new();
    let run = tree.run(&[
        "authorize",
        "--mesh",
        ".",
        "--principal",
        "ana",
        "--group",
        "team-orders@acme.example",
        "--product",
        "orders.order_events",
        "--column",
        "order_id",
        "--format",
        "json",
    ]);
    assert_eq!(run.code, Some(0), "{}\n{}", run.stdout, run.stderr);
    assert_eq!(run.json()["product"]["effect"], "allow", "{}", run.stdout);
    for (file, says) in HOSTILE {
        assert!(
            run.stderr.contains(file) && run.stderr.contains(says),
            "authorize warns of `{file}`: {}",
            run.stderr
        );
    }

    let run = tree.run(&["entities", "--mesh", "."]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    let entities = run.json();
    let ids: Vec<&str> = entities
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["uid"]["type"] == "DataProduct")
        .map(|e| e["uid"]["id"].as_str().unwrap())
        .collect();
    assert!(
        ids.contains(&"orders.order_events") && ids.contains(&"billing.refunds"),
        "{ids:?}"
    );
    assert!(
        !ids.contains(&"customer-engagement.web_sessions"),
        "a contract outside the repository is not read: {ids:?}"
    );
}

/// A policy folder (and a pack's test fixtures) holding a FIFO or a device link stops
/// the load with the file named, instead of hanging it.
#[test]
fn a_policy_folder_with_a_fifo_or_a_device_is_refused() {
    let tree = Hostile::new();
    let pack = tree.dir.path().join("pack");
    copy_dir(&repo().join("policies"), &pack);
    let pack_arg = pack.display().to_string();
    mkfifo(&pack.join("rego/evil.rego"));
    let run = tree.run(&[
        "check",
        "domains/orders",
        "--no-cache",
        "--policies",
        &pack_arg,
    ]);
    assert_eq!(run.code, Some(2), "{}", run.stdout);
    assert!(
        run.stderr.contains("evil.rego") && run.stderr.contains("a FIFO (named pipe)"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(pack.join("rego/evil.rego")).unwrap();

    symlink("/dev/zero", pack.join("data/zero.yaml")).unwrap();
    let run = tree.run(&["report", ".", "--no-cache", "--policies", &pack_arg]);
    assert_eq!(run.code, Some(2), "{}", run.stdout);
    assert!(
        run.stderr.contains("zero.yaml") && run.stderr.contains("a character device"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(pack.join("data/zero.yaml")).unwrap();

    // `charter test` fixtures: rule cases and access cases are files of the pack.
    mkfifo(&pack.join("tests/rules/evil.yaml"));
    let run = tree.run(&["test", "--policies", &pack_arg]);
    assert_eq!(run.code, Some(2), "{}", run.stdout);
    assert!(
        run.stderr.contains("tests/rules/evil.yaml") && run.stderr.contains("a FIFO"),
        "{}",
        run.stderr
    );
    std::fs::remove_file(pack.join("tests/rules/evil.yaml")).unwrap();

    let outside = tree.dir.path().join("outside/extra.yaml");
    std::fs::write(&outside, "extra: {}\n").unwrap();
    symlink(&outside, pack.join("tests/access/extra.yaml")).unwrap();
    let run = tree.run(&["validate", "--policies", &pack_arg]);
    assert_eq!(run.code, Some(2), "{}", run.stdout);
    assert!(
        run.stderr.contains("outside the repository"),
        "{}",
        run.stderr
    );
    // With the flag the pack loads (its own validation then judges the extra file).
    let run = tree.run(&[
        "rules",
        "--policies",
        &pack_arg,
        "--follow-external-symlinks",
    ]);
    assert_eq!(run.code, Some(0), "{}", run.stderr);
}

/// `report --base`: the base revision's blobs are read with the same bounds, and a symlink
/// committed at the base (here one to `/dev/zero`) is never resolved.
#[test]
fn report_base_compares_the_good_contracts_of_a_hostile_repository() {
    let tree = Hostile::new();
    let git = |args: &[&str]| {
        let out = Command::new("git")
            .args([
                "-c",
                "user.name=Charter Test",
                "-c",
                "user.email=test@acme.example",
            ])
            .args(["-c", "commit.gpgsign=false"])
            .args(args)
            .current_dir(tree.repo())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .output()
            .unwrap();
        assert!(out.status.success(), "git {args:?}: {out:?}");
    };
    git(&[
        "add",
        "domains/orders",
        "domains/billing",
        "store",
        "domains/hostile/zero.yaml",
        "domains/hostile/outside.yaml",
        "domains/hostile/loop.yaml",
    ]);
    git(&["commit", "-q", "-m", "base"]);
    let contract = tree.repo().join("domains/orders/order_events.yaml");
    let text = std::fs::read_to_string(&contract).unwrap();
    std::fs::write(
        &contract,
        text.replacen(
            "tags: [orders, events, tier-1]",
            "tags: [orders, events]",
            1,
        ),
    )
    .unwrap();
    let run = tree.run(&[
        "report",
        ".",
        "--no-cache",
        "--format",
        "json",
        "--base",
        "HEAD",
    ]);
    assert_eq!(run.code, Some(1), "{}", run.stderr);
    let report = run.json();
    assert_every_hostile_entry_is_a_finding(&parse_findings(&report));
    let findings = report["findings"].as_array().unwrap();
    assert!(
        findings
            .iter()
            .any(|f| f["rule"] == "versioning/change_without_version_bump"
                && f["file"] == "domains/orders/order_events.yaml"),
        "the good contract is compared with its base version: {findings:#?}"
    );
    assert!(
        !findings
            .iter()
            .any(|f| f["rule"].as_str().unwrap().starts_with("versioning/")
                && f["file"].as_str().unwrap().contains("hostile")),
        "{findings:#?}"
    );
}
