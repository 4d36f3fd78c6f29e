//! `charter export` as a user runs it: files written, no drift right after, drift per table
//! (exit 1) once a deployed file is changed or removed.
#![expect(
    clippy::expect_used,
    reason = "a test fails loudly on a broken fixture"
)]

use std::process::Command;

fn charter(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("charter runs")
}

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
