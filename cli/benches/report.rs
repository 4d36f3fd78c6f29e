#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on its terminal"
)]

//! `charter report --format json` over a synthetic mesh of 40 domains × 250 products, cold
//! and warm, with the peak memory of each run; and the per-contract rules alone
//! (`charter check --no-cache`) on one thread, for the CPU a contract costs, then that
//! CPU stage by stage (`support/stages.rs`; `CHARTER_BENCH_STAGES_ONLY=1` runs only that).
//!
//! Run with `cargo bench -p charter-cli --bench report` (release build). The mesh
//! (`support/meshgen.rs`: 8–30 fields, PII with and without masking, lineage inside the mesh
//! and to outside sources, both formats, a share of violations) is generated once under
//! `target/bench-mesh-v3-40x250/` and reused. `CHARTER_BENCH_DOMAINS` and
//! `CHARTER_BENCH_PER_DOMAIN` change its shape. `CHARTER_BENCH_POLICIES=<folder>` times the
//! stages with that pack instead of the default one, to compare two versions of a rule.

#[path = "support/meshgen.rs"]
mod meshgen;
#[path = "support/stages.rs"]
mod stages;

/// The allocator of the `charter` binary, for the stages measured in this process.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use meshgen::Shape;

/// One run of `charter`: its wall time and peak resident memory.
struct Run {
    wall: Duration,
    peak_kib: u64,
}

/// Runs `charter args…`, polling its peak memory until it exits; exits the bench on failure.
fn measure(args: &[&str], root: &Path, threads: Option<usize>) -> Run {
    let mut command = Command::new(env!("CARGO_BIN_EXE_charter"));
    command
        .args(args)
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    if let Some(n) = threads {
        command.env("RAYON_NUM_THREADS", n.to_string());
    }
    let start = Instant::now();
    let mut child = match command.spawn() {
        Ok(child) => child,
        Err(e) => {
            eprintln!("cannot run charter: {e}");
            std::process::exit(1)
        }
    };
    let mut peak_kib = 0;
    let status = loop {
        if let Some((_, hwm)) = meshgen::rss_kib(child.id()) {
            peak_kib = peak_kib.max(hwm);
        }
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => std::thread::sleep(Duration::from_millis(2)),
            Err(e) => {
                eprintln!("cannot wait for charter: {e}");
                std::process::exit(1)
            }
        }
    };
    let wall = start.elapsed();
    // 0 and 1 are both a finished report; 2 is Charter failing.
    if !matches!(status.code(), Some(0 | 1)) {
        let mut err = String::new();
        if let Some(mut stderr) = child.stderr.take() {
            let _ = std::io::Read::read_to_string(&mut stderr, &mut err);
        }
        eprintln!("charter {args:?} failed ({status}): {err}");
        std::process::exit(1)
    }
    Run { wall, peak_kib }
}

fn median(runs: &mut [Run]) -> &Run {
    runs.sort_by_key(|r| r.wall);
    &runs[runs.len() / 2]
}

fn env_usize(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and we skip the work then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let shape = Shape {
        domains: env_usize("CHARTER_BENCH_DOMAINS", Shape::LARGE.domains).clamp(1, 40),
        per_domain: env_usize("CHARTER_BENCH_PER_DOMAIN", Shape::LARGE.per_domain).max(1),
    };
    let count = shape.products();
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let root = target.join(shape.folder());
    let cache = target.join(format!("{}-cache", shape.folder()));
    if let Err(e) = meshgen::generate(&root, shape, false) {
        eprintln!("cannot generate the mesh: {e}");
        std::process::exit(1);
    }
    if std::env::var_os("CHARTER_BENCH_STAGES_ONLY").is_some() {
        print_stages(&root);
        return;
    }
    let cache_arg = cache.to_string_lossy().into_owned();
    let report = [
        "report",
        "--format",
        "json",
        "--fail-on",
        "never",
        "--cache-dir",
        cache_arg.as_str(),
    ];
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..3 {
        let _ = std::fs::remove_dir_all(&cache);
        cold.push(measure(&report, &root, None));
        warm.push(measure(&report, &root, None));
    }
    let mut single: Vec<Run> = (0..3)
        .map(|_| measure(&["check", "--no-cache", "--format", "json"], &root, Some(1)))
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let rate = |d: Duration| count as f64 / d.as_secs_f64();
    let line = |label: &str, runs: &mut [Run]| {
        let walls: Vec<String> = runs
            .iter()
            .map(|r| format!("{:.3}", r.wall.as_secs_f64()))
            .collect();
        let m = median(runs);
        println!(
            "  {label:<22} median {:>7.3} s  ({:>7.0} contracts/s)  peak RSS {:>4} MB  runs [{}] s",
            m.wall.as_secs_f64(),
            rate(m.wall),
            m.peak_kib / 1024,
            walls.join(", ")
        );
    };
    println!(
        "{count} contracts ({} domains × {}), {cores} cores:",
        shape.domains, shape.per_domain
    );
    line("report, cold:", &mut cold);
    line("report, warm (cached):", &mut warm);
    line("check, 1 thread:", &mut single);
    let per = median(&mut single).wall.as_secs_f64() / count as f64 * 1e6;
    println!(
        "  per-contract rules on one thread: {per:.0} µs a contract (read, normalize, evaluate)"
    );
    print_stages(&root);
}

/// Where the time goes, in this process: a contract's stages, then the repository-wide stage.
fn print_stages(root: &Path) {
    let policies = std::env::var_os("CHARTER_BENCH_POLICIES").map(PathBuf::from);
    if let Some(dir) = &policies {
        println!("  (stages with the pack in {})", dir.display());
    }
    let s = match stages::measure(root, policies.as_deref()) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("cannot measure the stages: {e}");
            std::process::exit(1)
        }
    };
    println!(
        "  of which, in-process (no file I/O): read {:.0} µs, Rego input {:.0} µs, \
         rules {:.0} µs, lines {:.0} µs ({} findings in {} contracts)",
        s.per_contract(s.read),
        s.per_contract(s.input),
        s.per_contract(s.rules),
        s.per_contract(s.lines),
        s.findings,
        s.with_findings,
    );
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!(
        "  repository-wide stage, in-process: projection {:.0} µs a contract (one thread), \
         rules {:.0} ms on {cores} cores ({} findings)",
        s.per_contract(s.projection),
        s.mesh_rules.as_secs_f64() * 1e3,
        s.mesh_findings,
    );
}
