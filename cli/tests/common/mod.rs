//! What every CLI test binary shares: the repository, running `charter`, reading its output.
#![allow(dead_code, reason = "each test binary uses a subset")]

#[cfg(unix)]
pub mod hostile;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root.
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Runs `charter` in `dir`, without colour or backtraces.
pub fn charter_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .output()
        .expect("charter runs")
}

/// Runs `charter` at the repository root.
pub fn charter(args: &[&str]) -> Output {
    charter_in(&repo(), args)
}

pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The Python of the venv that environment variable `var` names (`.ci/run` creates it with
/// `what` installed), or `None`: the test skips, and fails under `CI=true`.
pub fn venv_python(var: &str, what: &str) -> Option<PathBuf> {
    let python = std::env::var_os(var)
        .map(|v| PathBuf::from(v).join("bin/python"))
        .filter(|p| p.exists());
    if python.is_none() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{var} names no venv with {what} and CI=true (.ci/run creates it)"
        );
        eprintln!("skipped: set {var} to a venv with {what} (see .ci/run)");
    }
    python
}

/// Copies a folder tree.
pub fn copy_dir(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.unwrap();
        let target = to.join(entry.path().strip_prefix(from).unwrap());
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&target).unwrap();
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}
