//! `charter export` as a user runs it: files written, no drift right after, drift per table
//! (exit 1) once a deployed file is changed or removed.
#![cfg(test)]

use crate::common::charter;

#[test]
fn export_then_check_reports_drift_per_table() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = dir.path().to_str().expect("utf-8 path");
    for target in ["snowflake", "unity"] {
        let written = charter(&[
            "export",
            "--target",
            target,
            "--mesh",
            "testdata/mesh",
            "--output",
            out,
        ]);
        assert_eq!(
            written.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&written.stderr)
        );
        let clean = charter(&[
            "export",
            "--target",
            target,
            "--mesh",
            "testdata/mesh",
            "--check",
            out,
        ]);
        assert_eq!(
            clean.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&clean.stdout)
        );
        let file = dir.path().join(target).join("lake.billing.payments.sql");
        let text = std::fs::read_to_string(&file).expect("the payments table is exported");
        assert!(
            text.contains("\"region\"") || text.contains("`region`"),
            "{text}"
        );
        std::fs::write(&file, text.replace("pii-reader", "everyone")).expect("edit");
        let drift = charter(&[
            "export",
            "--target",
            target,
            "--mesh",
            "testdata/mesh",
            "--check",
            out,
        ]);
        let stdout = String::from_utf8_lossy(&drift.stdout);
        assert_eq!(drift.status.code(), Some(1), "{stdout}");
        assert!(
            stdout.contains("drift: lake.billing.payments: differs"),
            "{stdout}"
        );
    }
}

#[test]
fn principals_directory_groups_are_exported_where_their_roles_are() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let principals = dir.path().join("principals.yaml");
    std::fs::write(
        &principals,
        "groups:\n  hr-restricted: {roles: [restricted-reader]}\n  unrelated: {roles: [no-policy-names-this]}\nusers:\n  alice: {roles: [analyst]}\n",
    )
    .expect("write");
    let export = |out: &str, extra: &[&str]| {
        let mut args = vec![
            "export",
            "--target",
            "snowflake",
            "--mesh",
            "testdata/mesh",
            "--output",
            out,
        ];
        args.extend_from_slice(extra);
        let run = charter(&args);
        assert_eq!(
            run.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&run.stderr)
        );
    };
    let plain = dir.path().join("plain");
    let with = dir.path().join("with");
    export(plain.to_str().expect("utf-8"), &[]);
    export(
        with.to_str().expect("utf-8"),
        &["--principals", principals.to_str().expect("utf-8")],
    );
    let read = |root: &std::path::Path, table: &str| {
        std::fs::read_to_string(root.join("snowflake").join(format!("{table}.sql")))
            .expect("exported")
    };
    // The directory gives members of `hr-restricted` the role `restricted-reader`: wherever
    // the role lets someone read, the group does too; a group with no role that matters
    // is not searched, and tables no such role touches are unchanged.
    let before = read(&plain, "lake.billing.payment_methods");
    let after = read(&with, "lake.billing.payment_methods");
    assert!(before.contains("'restricted-reader'") && !before.contains("hr-restricted"));
    assert!(
        after.contains("IS_ROLE_IN_SESSION('hr-restricted')"),
        "{after}"
    );
    for entry in std::fs::read_dir(with.join("snowflake")).expect("exported") {
        let name = entry.expect("entry").file_name();
        let text = std::fs::read_to_string(with.join("snowflake").join(&name)).expect("read");
        assert!(!text.contains("unrelated"), "{name:?}");
        let table = name.to_string_lossy().trim_end_matches(".sql").to_owned();
        if !read(&plain, &table).contains("restricted-reader") {
            assert_eq!(text, read(&plain, &table), "{table}");
        }
    }
    // A file that is not a directory: exit 2, named with its line.
    std::fs::write(&principals, "users:\n  bob: {colour: blue}\n").expect("write");
    let run = charter(&[
        "export",
        "--target",
        "snowflake",
        "--mesh",
        "testdata/mesh",
        "--principals",
        principals.to_str().expect("utf-8"),
        "--output",
        plain.to_str().expect("utf-8"),
    ]);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert_eq!(run.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("principals.yaml:2: not a principal directory"),
        "{stderr}"
    );
}

/// The Trino bundle: one data file per table, checked like any target; a table removed
/// from the mesh is drift, and so is an edited policy.
#[test]
fn the_trino_bundle_drifts_per_table_and_policy() {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = dir.path().to_str().expect("utf-8 path");
    let run = |mode: &str| {
        charter(&[
            "export",
            "--target",
            "trino-rego",
            "--mesh",
            "testdata/mesh",
            mode,
            out,
        ])
    };
    let written = run("--output");
    assert_eq!(
        written.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&written.stderr)
    );
    let root = dir.path().join("trino-rego/charter/trino");
    let policy = std::fs::read_to_string(root.join("policy.rego")).expect("the policy");
    assert!(
        policy.starts_with("# Generated by charter export --target trino-rego from policies "),
        "{policy}"
    );
    assert!(policy.contains("package charter.trino"));
    let clean = run("--check");
    assert_eq!(
        clean.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&clean.stdout)
    );
    let payments = root.join("tables/lake.billing.payments/data.json");
    let text = std::fs::read_to_string(&payments).expect("the payments table is exported");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("JSON");
    assert_eq!(doc["row_filters"][0]["sql_column"], "\"region\"", "{text}");
    std::fs::write(&payments, text.replace("pii-reader", "everyone")).expect("edit");
    std::fs::write(
        root.join("policy.rego"),
        policy.replace("default allow := false", "default allow := true"),
    )
    .expect("edit");
    let stale = root.join("tables/lake.old.gone");
    std::fs::create_dir_all(&stale).expect("a stale table");
    std::fs::write(stale.join("data.json"), r#"{"table": "lake.old.gone"}"#)
        .expect("a stale table");
    let drift = run("--check");
    let stdout = String::from_utf8_lossy(&drift.stdout);
    assert_eq!(drift.status.code(), Some(1), "{stdout}");
    for line in [
        "drift: lake.billing.payments: differs from what the mesh implies",
        "drift: trino-rego/charter/trino/policy.rego: differs from what the mesh implies",
        "drift: lake.old.gone: exported but no longer governed by the mesh",
    ] {
        assert!(stdout.contains(line), "{line} in {stdout}");
    }
    assert!(stdout.contains("3 drifted"), "{stdout}");
}
