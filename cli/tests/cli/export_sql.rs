//! The SQL of `charter export --target snowflake|unity` parses in the target dialect
//! (sqlglot, from PyPI: `.ci/run` installs it in a venv named by `CHARTER_SQLGLOT_VENV`),
//! hostile names included: every statement tokenizes, those sqlglot models parse, and each
//! hostile column or attribute name comes back exactly as an identifier or literal.
#![cfg(test)]

use crate::common::{charter, repo};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn python() -> Option<PathBuf> {
    crate::common::venv_python("CHARTER_SQLGLOT_VENV", "sqlglot")
}

fn parse(python: &Path, dialect: &str, dir: &Path, names: &[&str]) -> Output {
    Command::new(python)
        .arg(repo().join("cli/tests/python/sql_parse.py"))
        .arg(dialect)
        .arg(dir)
        .args(names)
        .output()
        .expect("python runs")
}

fn export(target: &str, mesh: &str, extra: &[&str], out: &Path) {
    let mut args = vec![
        "export",
        "--target",
        target,
        "--mesh",
        mesh,
        "--output",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    let run = charter(&args);
    assert_eq!(
        run.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
}

const TARGETS: [(&str, &str); 2] = [("snowflake", "snowflake"), ("unity", "databricks")];

#[test]
fn exported_sql_parses_in_the_target_dialect() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (target, dialect) in TARGETS {
        export(target, "testdata/mesh", &[], dir.path());
        let folder = dir.path().join(target);
        let run = parse(&python, dialect, &folder, &["customer_id", "region"]);
        let stdout = String::from_utf8_lossy(&run.stdout);
        assert!(
            run.status.success(),
            "{target}: {stdout}{}",
            String::from_utf8_lossy(&run.stderr)
        );
        let counts: serde_json::Value =
            serde_json::from_str(stdout.lines().next().unwrap()).unwrap();
        assert!(
            counts["modelled"].as_u64().unwrap() > 20,
            "{target}: {counts}"
        );
        // The check can fail: a literal that does not close.
        let broken = folder.join("broken.sql");
        std::fs::write(&broken, "GRANT SELECT ON TABLE \"a\" TO ROLE 'x;\n").unwrap();
        assert!(!parse(&python, dialect, &folder, &[]).status.success());
        std::fs::remove_file(broken).unwrap();
    }
}

#[test]
fn hostile_names_come_back_exactly() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let (column, customer, attribute) = ("re\"gi`on", "cust'o\"mer id", "reg'i\\on");
    let quoted = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let mesh = dir.path().join("mesh");
    std::fs::create_dir_all(&mesh).unwrap();
    let contract =
        std::fs::read_to_string(repo().join("testdata/mesh/domains/billing/payments.yaml"))
            .unwrap()
            .replace("- name: region", &format!("- name: {}", quoted(column)))
            .replace(
                "- name: customer_id",
                &format!("- name: {}", quoted(customer)),
            );
    std::fs::write(mesh.join("payments.yaml"), contract).unwrap();
    let pack = dir.path().join("policies");
    for entry in walkdir::WalkDir::new(repo().join("policies")) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(repo().join("policies")).unwrap();
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(pack.join(rel)).unwrap();
        } else {
            std::fs::copy(entry.path(), pack.join(rel)).unwrap();
        }
    }
    let access = pack.join("data/access.yaml");
    let text = std::fs::read_to_string(&access)
        .unwrap()
        .replace("- column: region", &format!("- column: {}", quoted(column)))
        .replace(
            "attribute: region",
            &format!("attribute: {}", quoted(attribute)),
        )
        .replace(
            "row_filter_columns: [region]",
            &format!("row_filter_columns: [{}]", quoted(column)),
        );
    std::fs::write(&access, text).unwrap();
    for (target, dialect) in TARGETS {
        let out = dir.path().join(format!("out-{target}"));
        export(
            target,
            mesh.to_str().unwrap(),
            &["--policies", pack.to_str().unwrap()],
            &out,
        );
        let run = parse(
            &python,
            dialect,
            &out.join(target),
            &[column, customer, attribute],
        );
        assert!(
            run.status.success(),
            "{target}: {}{}",
            String::from_utf8_lossy(&run.stdout),
            String::from_utf8_lossy(&run.stderr)
        );
    }
}
