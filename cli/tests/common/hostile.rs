//! A hostile repository: devices, a FIFO, a socket, symlinks out of the tree and loops
//! beside good contracts; and running `charter` as a child under a memory limit
//! (`ulimit -v`) and a wall-clock limit, so a read of `/dev/zero` or an open of a FIFO
//! fails a test instead of taking the machine down or hanging it.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::repo;

/// Address space a run may use: far more than a small repository needs (~150 MiB), far
/// less than an unbounded read of `/dev/zero` grows to.
const MEMORY_KIB: u64 = 1024 * 1024;
/// Wall-clock limit of one run; a blocked FIFO open would never end.
const WALL_CLOCK: Duration = Duration::from_secs(60);

/// The outcome of a bounded run.
pub struct Run {
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}\n{}", self.stdout, self.stderr))
    }
}

/// Runs `charter args` in `dir` under the memory and time limits; panics (killing it) when
/// it runs out of time, and when it was killed by a signal (out of memory aborts).
pub fn bounded(dir: &Path, args: &[&str]) -> Run {
    let out = tempfile::tempdir().unwrap();
    let (stdout, stderr) = (out.path().join("stdout"), out.path().join("stderr"));
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_charter"))
        .args(args)
        .current_dir(dir)
        .env("NO_COLOR", "1")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout).unwrap())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let deadline = Instant::now() + WALL_CLOCK;
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`charter {}` did not finish within {WALL_CLOCK:?} (a blocking read?):\n{}",
                args.join(" "),
                std::fs::read_to_string(&stderr).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let run = Run {
        code: status.code(),
        stdout: std::fs::read_to_string(&stdout).unwrap(),
        stderr: std::fs::read_to_string(&stderr).unwrap(),
    };
    assert!(
        run.code.is_some(),
        "`charter {}` was killed ({status}; out of memory?):\n{}",
        args.join(" "),
        run.stderr
    );
    run
}

/// A repository with two good contracts (one reached through a symlink inside the
/// repository) and every hostile kind of entry, and a contract outside it.
pub struct Hostile {
    pub dir: tempfile::TempDir,
}

/// The hostile entries and what their finding must say.
pub const HOSTILE: &[(&str, &str)] = &[
    (
        "domains/hostile/fifo.yaml",
        "not a regular file: a FIFO (named pipe)",
    ),
    ("domains/hostile/loop.yaml", "a symlink loop; not followed"),
    ("domains/hostile/outside.yaml", "outside the repository"),
    ("domains/hostile/outside_dir/", "outside the repository"),
    (
        "domains/hostile/socket.yaml",
        "not a regular file: a socket",
    ),
    ("domains/hostile/up/", "a symlink loop"),
    (
        "domains/hostile/urandom.yaml",
        "a character device (through a symlink to `/dev/urandom`)",
    ),
    (
        "domains/hostile/zero.yaml",
        "a character device (through a symlink to `/dev/zero`)",
    ),
];

impl Hostile {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let sample = repo().join("testdata/mesh/domains");
        let repo_dir = dir.path().join("repo");
        let hostile = repo_dir.join("domains/hostile");
        std::fs::create_dir_all(repo_dir.join("domains/orders")).unwrap();
        std::fs::create_dir_all(repo_dir.join("domains/billing")).unwrap();
        std::fs::create_dir_all(repo_dir.join("store")).unwrap();
        std::fs::create_dir_all(&hostile).unwrap();
        std::fs::create_dir_all(dir.path().join("outside")).unwrap();
        // A git work tree, as in CI: its top is the repository root (the checked folder may
        // be below it, as `check domains` is).
        let init = Command::new("git")
            .args(["init", "-q"])
            .arg(&repo_dir)
            .status()
            .unwrap();
        assert!(init.success(), "git init");
        std::fs::copy(
            sample.join("orders/order_events.yaml"),
            repo_dir.join("domains/orders/order_events.yaml"),
        )
        .unwrap();
        // Inside the repository, not a contract by its name; a symlink makes it one.
        std::fs::copy(
            sample.join("billing/refunds.yaml"),
            repo_dir.join("store/refunds.contract"),
        )
        .unwrap();
        symlink(
            "../../store/refunds.contract",
            repo_dir.join("domains/billing/refunds.yaml"),
        )
        .unwrap();
        std::fs::copy(
            sample.join("customer-engagement/web_sessions.yaml"),
            dir.path().join("outside/web_sessions.yaml"),
        )
        .unwrap();
        symlink("/dev/zero", hostile.join("zero.yaml")).unwrap();
        symlink("/dev/urandom", hostile.join("urandom.yaml")).unwrap();
        mkfifo(&hostile.join("fifo.yaml"));
        drop(std::os::unix::net::UnixListener::bind(hostile.join("socket.yaml")).unwrap());
        symlink(
            dir.path().join("outside/web_sessions.yaml"),
            hostile.join("outside.yaml"),
        )
        .unwrap();
        symlink(dir.path().join("outside"), hostile.join("outside_dir")).unwrap();
        symlink("loop.yaml", hostile.join("loop.yaml")).unwrap();
        symlink("..", hostile.join("up")).unwrap();
        Self { dir }
    }

    /// The repository.
    pub fn repo(&self) -> PathBuf {
        self.dir.path().join("repo")
    }

    pub fn path(&self, rel: &str) -> String {
        self.repo().join(rel).display().to_string()
    }

    pub fn run(&self, args: &[&str]) -> Run {
        bounded(&self.repo(), args)
    }
}

pub fn mkfifo(path: &Path) {
    let status = Command::new("mkfifo").arg(path).status().unwrap();
    assert!(status.success(), "mkfifo {}", path.display());
}
