//! The grpcio client (`cli/tests/python/client_test.py`) against a real server.
//!
//! Runs when `CHARTER_GRPC_VENV` names a virtual environment with grpcio,
//! grpcio-tools, grpcio-health-checking and grpcio-reflection (`.ci/run` creates it);
//! otherwise the test says why it skips.

use std::path::PathBuf;
use std::process::Command;

use super::harness::{Options, repo, spawn};

#[test]
fn grpcio_client() {
    let Some(venv) = std::env::var_os("CHARTER_GRPC_VENV").map(PathBuf::from) else {
        eprintln!(
            "skipping the grpcio client test: set CHARTER_GRPC_VENV to a venv with grpcio (see .ci/run)"
        );
        return;
    };
    let python = venv.join("bin/python");
    assert!(
        python.exists(),
        "CHARTER_GRPC_VENV has no bin/python: {}",
        venv.display()
    );
    let server = spawn(Options::default());
    let output = Command::new(python)
        .arg(repo().join("cli/tests/python/client_test.py"))
        .arg("--target")
        .arg(format!("127.0.0.1:{}", server.port))
        .arg("--proto-root")
        .arg(repo().join("proto"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}\nserver:\n{}",
        String::from_utf8_lossy(&output.stderr),
        server.stderr()
    );
    assert!(stdout.contains("all python checks passed"), "{stdout}");
}
