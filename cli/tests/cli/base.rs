//! `charter report --base GIT_REF` against a real git repository made in the test, and
//! `charter diff OLD NEW` on two files.
#![cfg(test)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::Value;

use crate::common::{charter_in as charter, repo};

const VERSIONING: [&str; 4] = [
    "versioning/breaking_change_without_major_bump",
    "versioning/change_without_version_bump",
    "versioning/version_decreased",
    "versioning/product_removed",
];

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args([
            "-c",
            "user.name=Charter Test",
            "-c",
            "user.email=test@acme.example",
        ])
        .args([
            "-c",
            "commit.gpgsign=false",
            "-c",
            "init.defaultBranch=main",
        ])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The 1-based line of the first line of `file` equal to `line` (trimmed).
fn line_of(file: &Path, line: &str) -> u32 {
    let text = std::fs::read_to_string(file).expect("file");
    let n = text
        .lines()
        .position(|l| l.trim() == line)
        .unwrap_or_else(|| panic!("`{line}` not in {}", file.display()));
    u32::try_from(n + 1).expect("line")
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = std::fs::read_to_string(file).expect("file");
    assert!(text.contains(from), "`{from}` not in {}", file.display());
    std::fs::write(file, text.replacen(from, to, 1)).expect("write");
}

const CONTRACTS: [&str; 6] = [
    "domains/billing/invoices.yaml",
    "domains/billing/payment_methods.yaml",
    "domains/billing/payments.yaml",
    "domains/orders/order_events.yaml",
    "domains/inventory/warehouses.yaml",
    "domains/customer-engagement/email_campaigns.yaml",
];

/// A git repository with a few sample contracts committed, then changed in the work tree.
fn changed_repository() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("tempdir");
    let root = tmp.path();
    for file in CONTRACTS {
        let to = root.join(file);
        std::fs::create_dir_all(to.parent().expect("parent")).expect("mkdir");
        std::fs::copy(repo().join("testdata/mesh").join(file), &to).expect("copy");
    }
    git(root, &["init", "--quiet"]);
    git(root, &["add", "."]);
    git(root, &["commit", "--quiet", "-m", "base"]);

    // A field removed with only a minor bump.
    let invoices = root.join("domains/billing/invoices.yaml");
    edit(&invoices, "version: 5.0.2", "version: 5.1.0");
    edit(
        &invoices,
        "      - name: vat_number\n        type: string\n",
        "",
    );
    // A compatible change without any bump.
    let methods = root.join("domains/billing/payment_methods.yaml");
    edit(
        &methods,
        "availability: \"99.95%\"",
        "availability: \"99.99%\"",
    );
    // A lower version.
    let events = root.join("domains/orders/order_events.yaml");
    edit(&events, "version: 2.1.0", "version: 2.0.9");
    // A moved file, unchanged: the same product, no finding.
    std::fs::create_dir_all(root.join("domains/marketing")).expect("mkdir");
    std::fs::rename(
        root.join("domains/customer-engagement/email_campaigns.yaml"),
        root.join("domains/marketing/email_campaigns.yaml"),
    )
    .expect("move");
    // A deleted product.
    std::fs::remove_file(root.join("domains/inventory/warehouses.yaml")).expect("delete");
    tmp
}

fn versioning_findings(out: &Output) -> Vec<(String, String, u32, String)> {
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    let mut found: Vec<(String, String, u32, String)> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| VERSIONING.contains(&f["rule"].as_str().unwrap_or_default()))
        .map(|f| {
            (
                f["rule"].as_str().unwrap_or_default().to_owned(),
                f["file"].as_str().unwrap_or_default().to_owned(),
                u32::try_from(f["line"].as_u64().unwrap_or_default()).expect("line"),
                f["severity"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    found.sort();
    found
}

#[test]
fn report_base_finds_versioning_problems_at_their_lines() {
    let tmp = changed_repository();
    let root = tmp.path();
    let dir = root.to_string_lossy().into_owned();
    let out = charter(
        &repo(),
        &[
            "report",
            &dir,
            "--base",
            "HEAD",
            "--format",
            "json",
            "--no-cache",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let error = "error".to_owned();
    let mut want = vec![
        (
            VERSIONING[0].to_owned(),
            "domains/billing/invoices.yaml".to_owned(),
            line_of(&root.join("domains/billing/invoices.yaml"), "fields:"),
            error.clone(),
        ),
        (
            VERSIONING[1].to_owned(),
            "domains/billing/payment_methods.yaml".to_owned(),
            line_of(
                &root.join("domains/billing/payment_methods.yaml"),
                "availability: \"99.99%\"",
            ),
            error.clone(),
        ),
        (
            VERSIONING[2].to_owned(),
            "domains/orders/order_events.yaml".to_owned(),
            line_of(
                &root.join("domains/orders/order_events.yaml"),
                "version: 2.0.9",
            ),
            error.clone(),
        ),
        (
            VERSIONING[3].to_owned(),
            "domains/inventory/warehouses.yaml".to_owned(),
            line_of(
                &repo().join("testdata/mesh/domains/inventory/warehouses.yaml"),
                "dataProduct: warehouses",
            ),
            error,
        ),
    ];
    want.sort();
    assert_eq!(versioning_findings(&out), want);

    // Without `--base`, none of these.
    let out = charter(&repo(), &["report", &dir, "--format", "json", "--no-cache"]);
    assert!(versioning_findings(&out).is_empty());

    // Once committed, the base is the new state: nothing changed.
    git(root, &["add", "-A"]);
    git(root, &["commit", "--quiet", "-m", "next"]);
    let out = charter(
        &repo(),
        &[
            "report",
            &dir,
            "--base",
            "HEAD",
            "--format",
            "json",
            "--no-cache",
        ],
    );
    assert!(versioning_findings(&out).is_empty());
    // …and against the first commit, the same findings as before.
    let out = charter(
        &repo(),
        &[
            "report",
            &dir,
            "--base",
            "HEAD~1",
            "--format",
            "json",
            "--no-cache",
        ],
    );
    assert_eq!(versioning_findings(&out).len(), 4);
}

#[test]
fn report_base_on_a_subfolder_of_the_repository() {
    let tmp = changed_repository();
    let billing = tmp.path().join("domains/billing");
    // Run from inside the folder, with a relative path, as CI does.
    let out = charter(
        &billing,
        &[
            "report",
            ".",
            "--base",
            "HEAD",
            "--format",
            "json",
            "--no-cache",
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let found = versioning_findings(&out);
    let files: Vec<(&str, &str)> = found.iter().map(|f| (f.0.as_str(), f.1.as_str())).collect();
    assert_eq!(
        files,
        vec![
            (VERSIONING[0], "invoices.yaml"),
            (VERSIONING[1], "payment_methods.yaml"),
        ]
    );
}

#[test]
fn report_base_errors() {
    let tmp = changed_repository();
    let dir = tmp.path().to_string_lossy().into_owned();
    let out = charter(
        &repo(),
        &["report", &dir, "--base", "no-such-branch", "--no-cache"],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("unknown git revision `no-such-branch`"),
        "{stderr}"
    );

    let plain = tempfile::tempdir().expect("tempdir");
    std::fs::copy(
        repo().join("testdata/mesh/domains/billing/invoices.yaml"),
        plain.path().join("invoices.yaml"),
    )
    .expect("copy");
    let dir = plain.path().to_string_lossy().into_owned();
    let out = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(["report", &dir, "--base", "HEAD", "--no-cache"])
        .env(
            "GIT_CEILING_DIRECTORIES",
            plain.path().parent().expect("parent"),
        )
        .output()
        .expect("charter runs");
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("needs a git repository"), "{stderr}");
}

fn diff_files(
    old_edits: &[(&str, &str)],
    new_edits: &[(&str, &str)],
) -> (tempfile::TempDir, String, String) {
    let tmp = tempfile::tempdir().expect("tempdir");
    let source =
        std::fs::read_to_string(repo().join("testdata/mesh/domains/billing/invoices.yaml"))
            .expect("contract");
    let write = |name: &str, edits: &[(&str, &str)]| {
        let text = edits.iter().fold(source.clone(), |t, (from, to)| {
            assert!(t.contains(from), "`{from}`");
            t.replacen(from, to, 1)
        });
        let path = tmp.path().join(name);
        std::fs::write(&path, text).expect("write");
        path.to_string_lossy().into_owned()
    };
    let old = write("old.yaml", old_edits);
    let new = write("new.yaml", new_edits);
    (tmp, old, new)
}

#[test]
fn diff_breaking_change_exits_1_with_json() {
    let (_tmp, old, new) = diff_files(
        &[],
        &[
            ("version: 5.0.2", "version: 5.1.0"),
            ("      - name: vat_number\n        type: string\n", ""),
            ("masking: \"redact\"", "masking: \"last4\""),
            ("availability: \"99.9%\"", "availability: \"99.95%\""),
        ],
    );
    let out = charter(&repo(), &["diff", &old, &new, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["breaking"], true);
    assert_eq!(doc["bump"], "compatible");
    assert_eq!(
        doc["summary"],
        serde_json::json!({"breaking": 1, "governance": 1, "compatible": 1})
    );
    let kinds: Vec<(&str, &str, &str)> = doc["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| {
            (
                c["kind"].as_str().unwrap_or_default(),
                c["class"].as_str().unwrap_or_default(),
                c["path"].as_str().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kinds,
        vec![
            ("availability_raised", "compatible", "sla.availability"),
            ("masking_weakened", "governance", "fields[3].masking"),
            ("field_removed", "breaking", "fields[4]"),
        ]
    );
    // The removed field's line is in the old file; the others in the new one.
    let lines: Vec<u64> = doc["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .map(|c| c["line"].as_u64().unwrap_or_default())
        .collect();
    assert_eq!(lines, vec![16, 31, 32]);
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(rules, vec![VERSIONING[0], VERSIONING[0]]);

    // The text output groups the changes by class.
    let out = charter(&repo(), &["diff", &old, &new]);
    assert_eq!(out.status.code(), Some(1));
    let text = String::from_utf8_lossy(&out.stdout);
    let at = |s: &str| {
        text.find(s)
            .unwrap_or_else(|| panic!("`{s}` not in:\n{text}"))
    };
    assert!(at("breaking (1)") < at("governance-breaking (1)"));
    assert!(at("governance-breaking (1)") < at("compatible (1)"));
    assert!(at("field `vat_number` removed") < at("governance-breaking (1)"));
    assert!(!text.contains('\x1b'), "no colour off a terminal");
    assert!(text.contains("1 breaking, 1 governance-breaking, 1 compatible change(s)"));
}

#[test]
fn diff_compatible_change_exits_0() {
    let (_tmp, old, new) = diff_files(
        &[],
        &[
            ("version: 5.0.2", "version: 5.1.0"),
            (
                "      - name: paid\n        type: boolean\n",
                "      - name: paid\n        type: boolean\n      - name: notes\n        type: string\n",
            ),
        ],
    );
    let out = charter(&repo(), &["diff", &old, &new, "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(doc["breaking"], false);
    assert_eq!(doc["changes"][0]["kind"], "field_added");
    assert_eq!(doc["findings"], serde_json::json!([]));

    // Same file on both sides: no changes.
    let out = charter(&repo(), &["diff", &old, &old]);
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stdout).contains("no changes"));
}

#[test]
fn diff_bad_input_exits_2() {
    let (tmp, old, _new) = diff_files(&[], &[]);
    let missing = tmp
        .path()
        .join("missing.yaml")
        .to_string_lossy()
        .into_owned();
    let out = charter(&repo(), &["diff", &old, &missing]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read"));

    let out = charter(
        &repo(),
        &["diff", &old, "testdata/mesh/domains/orders/broken.yaml"],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("is not a readable contract"), "{stderr}");
}
