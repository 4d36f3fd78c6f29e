//! `--decision-log-url`: a flaky collector (fails the first posts, drops connections)
//! receives every decision id; a full spool refuses decisions until it drains; what is not
//! delivered at shutdown is kept and shipped by the next start.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use charter_proto::v1 as pb;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::harness::{Options, analyst_request, free_port, spawn};

/// A decision-log collector: fails the first `fail` posts with 500, drops the connection
/// (without answering) on the posts listed in `drop`, accepts the rest.
struct Collector {
    port: u16,
    posts: Arc<AtomicUsize>,
    events: Arc<Mutex<Vec<serde_json::Value>>>,
    stop: Arc<AtomicBool>,
}

impl Collector {
    fn start(port: u16, fail: usize, drop: &'static [usize]) -> Self {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        listener.set_nonblocking(true).unwrap();
        let collector = Self {
            port,
            posts: Arc::new(AtomicUsize::new(0)),
            events: Arc::new(Mutex::new(Vec::new())),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (posts, events, stop) = (
            Arc::clone(&collector.posts),
            Arc::clone(&collector.events),
            Arc::clone(&collector.stop),
        );
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                let Ok((stream, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                let n = posts.fetch_add(1, Ordering::SeqCst) + 1;
                handle(stream, n, fail, drop, &events);
            }
        });
        collector
    }

    fn url(&self) -> String {
        format!("http://127.0.0.1:{}/logs", self.port)
    }

    fn ids(&self) -> BTreeSet<String> {
        self.events
            .lock()
            .unwrap()
            .iter()
            .map(|e| e["decision_id"].as_str().unwrap().to_owned())
            .collect()
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

fn handle(
    mut stream: TcpStream,
    n: usize,
    fail: usize,
    drop: &[usize],
    events: &Mutex<Vec<serde_json::Value>>,
) {
    stream.set_nonblocking(false).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut data = Vec::new();
    let mut buf = [0u8; 16384];
    let head_end = loop {
        if let Some(i) = data.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(k) => data.extend_from_slice(&buf[..k]),
        }
    };
    let head = String::from_utf8_lossy(&data[..head_end]).to_lowercase();
    assert!(head.starts_with("post /logs "), "{head}");
    assert!(head.contains("content-encoding: gzip"), "{head}");
    let length: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map(|v| v.trim().parse().unwrap())
        .unwrap();
    while data.len() < head_end + length {
        match stream.read(&mut buf) {
            Ok(0) | Err(_) => return,
            Ok(k) => data.extend_from_slice(&buf[..k]),
        }
    }
    if n <= fail {
        let _ = stream.write_all(
            b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 0\r\nconnection: close\r\n\r\n",
        );
        return;
    }
    if drop.contains(&n) {
        return; // the connection closes without an answer
    }
    let mut json = String::new();
    flate2::read::GzDecoder::new(&data[head_end..head_end + length])
        .read_to_string(&mut json)
        .unwrap();
    let batch: Vec<serde_json::Value> = serde_json::from_str(&json).unwrap();
    events.lock().unwrap().extend(batch);
    let _ = stream.write_all(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n");
}

fn ship_args(url: &str, spool: &std::path::Path, extra: &[&str]) -> Vec<String> {
    let mut args: Vec<String> = [
        "--decision-log-url",
        url,
        "--decision-log-spool",
        &spool.display().to_string(),
        "--decision-log-batch-interval",
        "100ms",
        "--decision-log-batch-bytes",
        "4096",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .collect();
    args.extend(extra.iter().map(|s| (*s).to_owned()));
    args
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flaky_collector_receives_every_decision() {
    let collector = Collector::start(free_port(), 3, &[4, 6]);
    let spool = tempfile::tempdir().unwrap();
    let server = spawn(Options {
        args: ship_args(&collector.url(), spool.path(), &[]),
        ..Options::default()
    });
    let mut client = server.client().await;
    let mut answered = BTreeSet::new();
    for _ in 0..150 {
        let d = client
            .check_access(analyst_request())
            .await
            .unwrap()
            .into_inner();
        answered.insert(d.decision_id);
    }
    for _ in 0..10 {
        let batch = pb::AccessBatchRequest {
            requests: vec![analyst_request(); 5],
        };
        let r = client.check_access_batch(batch).await.unwrap().into_inner();
        answered.extend(r.decisions.into_iter().map(|d| d.decision_id));
    }
    assert_eq!(answered.len(), 200);
    let (exit, server) = server.stop();
    assert!(exit.success(), "{}", server.stderr());
    let received = collector.ids();
    let missing: Vec<_> = answered.difference(&received).collect();
    assert!(
        missing.is_empty(),
        "{} decisions never reached the collector: {missing:?}\n{}",
        missing.len(),
        server.stderr()
    );
    assert!(
        collector.posts.load(Ordering::SeqCst) > 6,
        "the failures were exercised"
    );
    // OPA's event shape.
    let events = collector.events.lock().unwrap();
    let event = events
        .iter()
        .find(|e| e["decision_id"] == *answered.first().unwrap())
        .unwrap();
    for key in ["timestamp", "path", "input", "result", "labels", "bundles"] {
        assert!(!event[key].is_null(), "{key} missing in {event}");
    }
    assert_eq!(event["input"]["principal"]["id"], "ana");
    // Nothing is left in the spool.
    assert_eq!(std::fs::read_dir(spool.path()).unwrap().count(), 0);
}

async fn serving(url: String) -> i32 {
    let channel = tonic::transport::Channel::from_shared(url)
        .unwrap()
        .connect()
        .await
        .unwrap();
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: "charter.v1.DecisionService".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .status
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_spool_refuses_decisions_and_what_is_left_ships_at_the_next_start() {
    let port = free_port(); // nothing listens there yet: the collector is down
    let url = format!("http://127.0.0.1:{port}/logs");
    let spool = tempfile::tempdir().unwrap();
    let server = spawn(Options {
        args: ship_args(
            &url,
            spool.path(),
            &[
                "--decision-log-spool-max-bytes",
                "6000",
                "--drain-timeout",
                "1s",
            ],
        ),
        ..Options::default()
    });
    let mut client = server.client().await;
    let mut answered = BTreeSet::new();
    let refused = loop {
        match client.check_access(analyst_request()).await {
            Ok(d) => {
                answered.insert(d.into_inner().decision_id);
            }
            Err(status) => break status,
        }
        assert!(answered.len() < 100, "the spool never filled");
    };
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    assert!(refused.message().contains("spool"), "{refused:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while serving(server.url()).await != ServingStatus::NotServing as i32 {
        assert!(Instant::now() < deadline, "health never turned NOT_SERVING");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // SIGTERM with the collector down: the spool is kept.
    let (exit, server) = server.stop();
    assert!(exit.success(), "{}", server.stderr());
    assert!(std::fs::read_dir(spool.path()).unwrap().count() > 0);
    // The next start ships it once the collector is up, and answers again.
    let collector = Collector::start(port, 0, &[]);
    let server = spawn(Options {
        args: ship_args(&url, spool.path(), &[]),
        ..Options::default()
    });
    let deadline = Instant::now() + Duration::from_secs(20);
    while !answered.is_subset(&collector.ids()) {
        assert!(
            Instant::now() < deadline,
            "the spooled decisions were not shipped:\n{}",
            server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let mut client = server.client().await;
    assert!(client.check_access(analyst_request()).await.is_ok());
}
