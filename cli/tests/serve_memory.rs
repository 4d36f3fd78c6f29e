//! `charter serve --bundle-url`: a replica's memory across 100 bundle reloads. Its own test
//! binary, so that its hundred snapshot builds do not compete with the timing-sensitive tests
//! of `tests/serve.rs` (test binaries run one after the other).
#![cfg(test)]

#[allow(dead_code, reason = "this binary uses a subset")]
#[path = "serve/bundle_server.rs"]
mod bundle_server;
#[path = "serve/bundle_support.rs"]
mod bundle_support;
mod common;
#[allow(dead_code, reason = "this binary uses a subset")]
#[path = "serve/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use bundle_server::BundleServer;
use bundle_support::*;
use harness::{Server, free_port, repo, wait_serving};

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn memory_stays_flat_across_a_hundred_reloads() {
    if !Path::new("/proc/self/status").exists() {
        eprintln!("skipped: no /proc to read a process's RSS from");
        return;
    }
    let work = tempfile::tempdir().unwrap();
    let mesh = work.path().join("mesh");
    for file in [
        "domains/billing/invoices.yaml",
        "domains/billing/refunds.yaml",
    ] {
        let to = mesh.join(file);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(repo().join("testdata/mesh").join(file), to).unwrap();
    }
    let a = bundle(work.path(), &mesh, Some("a"));
    let b = bundle(work.path(), &mesh, Some("b"));
    let server = BundleServer::start(a.clone(), None);
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut replica = Server {
        child: Command::new(env!("CARGO_BIN_EXE_charter"))
            .args(["serve", "--bundle-url", &server.url(), "--listen"])
            .arg(format!("127.0.0.1:{port}"))
            .arg("--decision-log")
            .arg(dir.path().join("decisions.jsonl"))
            .args([
                "--bundle-poll-interval",
                "20ms",
                "--bundle-verification-key",
            ])
            .arg(repo().join("testdata/bundle/rsa-test-key.pub.pem"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
            .spawn()
            .unwrap(),
        port,
        dir,
        scheme: "http",
    };
    wait_serving(&mut replica);
    let replica = Replica {
        server: replica,
        cache: PathBuf::new(),
    };
    let mut warm = 0;
    for i in 1..=100 {
        let (bytes, want) = if i % 2 == 1 { (&b, "b") } else { (&a, "a") };
        server.publish(bytes.clone());
        converge(
            std::slice::from_ref(&replica),
            Duration::from_secs(20),
            |s| bundle_of(s).revision == want,
        )
        .await;
        if i == 20 {
            warm = rss_kib(replica.server.child.id());
        }
    }
    let after = rss_kib(replica.server.child.id());
    eprintln!("RSS after 20 reloads: {warm} KiB; after 100: {after} KiB");
    assert!(warm > 0);
    assert!(
        after <= warm + warm / 5,
        "RSS grew from {warm} KiB (20 reloads) to {after} KiB (100 reloads)"
    );
    let s = status(&replica).await;
    all_decide(&[replica], &s.revision).await;
}
