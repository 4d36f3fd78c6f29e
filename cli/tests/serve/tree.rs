//! `serve --mesh` on a hostile repository (devices, a FIFO, a socket, links out of it,
//! loops; see `common/hostile.rs`), under a memory limit: it starts, serves the good
//! products, counts the rest unreadable, and reloads past a new FIFO.

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use charter_proto::v1 as pb;

use super::harness::{Server, free_port, principal, request, wait_serving};
use crate::common::hostile::{HOSTILE, Hostile, mkfifo};

/// Address space of the server: its runtime and a small mesh need far less; an
/// unbounded read of `/dev/zero` grows past it in a moment.
const MEMORY_KIB: u64 = 2 * 1024 * 1024;

fn spawn_on(tree: &Hostile) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let child = Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {MEMORY_KIB} && exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_charter"))
        .arg("serve")
        .arg("--mesh")
        .arg(tree.repo())
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--decision-log")
        .arg(dir.path().join("decisions.jsonl"))
        .args(["--watch-interval", "0s"])
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap())
        .spawn()
        .unwrap();
    let mut server = Server {
        child,
        port,
        dir,
        scheme: "http",
    };
    // Bounded (60 s): a blocked FIFO open never gets the server to SERVING.
    wait_serving(&mut server);
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_loads_a_hostile_mesh_and_reloads_past_a_new_fifo() {
    let tree = Hostile::new();
    let server = spawn_on(&tree);
    let mut client = server.client().await;
    let status = client
        .get_status(pb::GetStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.product_count, 2, "{status:?}");
    assert_eq!(status.unreadable_contracts, HOSTILE.len() as u64);
    let stderr = server.stderr();
    for (file, says) in HOSTILE {
        assert!(
            stderr.contains(file) && stderr.contains(says),
            "the load names `{file}`: {stderr}"
        );
    }
    let mut owner = principal("ana", &[]);
    owner.groups = vec!["team-orders@acme.example".into()];
    let decision = client
        .check_access(request(owner, "orders.order_events", &["order_id"]))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision.decision, pb::Outcome::Allow as i32, "{decision:?}");

    // A reload reads the tree again: a new FIFO is one more unreadable file, not a hang.
    mkfifo(&tree.repo().join("domains/orders/late.yaml"));
    server.signal("HUP");
    let deadline = Instant::now() + Duration::from_secs(60);
    let reloaded = loop {
        let now = client
            .get_status(pb::GetStatusRequest {})
            .await
            .unwrap()
            .into_inner();
        if now.last_reload.is_some() {
            break now;
        }
        assert!(
            Instant::now() < deadline,
            "the reload never finished:\n{}",
            server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let outcome = reloaded.last_reload.clone().unwrap();
    assert!(outcome.ok, "{outcome:?}");
    assert_eq!(reloaded.unreadable_contracts, HOSTILE.len() as u64 + 1);
    assert_eq!(reloaded.product_count, 2);
    let (status, server) = server.stop();
    assert!(status.success(), "{status}:\n{}", server.stderr());
}
