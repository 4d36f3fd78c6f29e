//! Load generator for Trino's per-query sequence on `charter serve --http-listen`: for a
//! 20-column table, `allow` (SelectFromColumns), `batchColumnMasks` and `rowFilters`,
//! over keep-alive HTTP/1.1 connections at a fixed rate of queries (open loop). Prints
//! queries/s and the latency percentiles of each call (from its actual send) and of each
//! whole query (from its scheduled start, so queueing is not hidden).
//!
//! ```text
//! cargo bench -p charter-cli --bench trino_load -- [--rate 2000] [--duration 30] [--workers 32]
//! ```
//!
//! It starts the bench build of `charter serve` on free loopback ports with
//! `testdata/mesh`, the default pack, a principal directory (an analyst with a region:
//! masks and a row filter apply) and a decision log in a temp folder.
#![expect(clippy::print_stdout, reason = "a load generator prints its figures")]
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a bench fails loudly"
)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::json;

const TABLE: [&str; 3] = ["lake", "orders", "order_events"];
const COLUMNS: [&str; 11] = [
    "order_id",
    "event_id",
    "event_type",
    "event_ts",
    "customer_id",
    "order_status",
    "channel",
    "currency",
    "amount",
    "region",
    "ingested_at",
];

struct Spawned {
    child: Child,
    _dir: tempfile::TempDir,
}

impl Drop for Spawned {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn start_server() -> (u16, Spawned) {
    let (grpc, http) = (free_port(), free_port());
    let dir = tempfile::tempdir().unwrap();
    let principals = dir.path().join("principals.yaml");
    std::fs::write(
        &principals,
        "users:\n  ana: {roles: [analyst], attributes: {region: eu}}\n",
    )
    .unwrap();
    let mesh = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/mesh");
    let child = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(["serve", "--watch-interval", "0s"])
        .args(["--listen", &format!("127.0.0.1:{grpc}")])
        .args(["--http-listen", &format!("127.0.0.1:{http}")])
        .arg("--mesh")
        .arg(mesh)
        .arg("--principals")
        .arg(&principals)
        .arg("--decision-log")
        .arg(dir.path().join("decisions.jsonl"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    (http, Spawned { child, _dir: dir })
}

/// The three bodies of one query: allow, batchColumnMasks, rowFilters.
fn bodies() -> [(&'static str, Bytes); 3] {
    let columns: Vec<&str> = COLUMNS.iter().cycle().take(20).copied().collect();
    let context = json!({"identity": {"user": "ana", "groups": []}, "softwareStack": {"trinoVersion": "476"}});
    let table = json!({"catalogName": TABLE[0], "schemaName": TABLE[1], "tableName": TABLE[2]});
    let mut select = table.clone();
    select["columns"] = json!(columns);
    let masks: Vec<_> = columns
        .iter()
        .map(|c| json!({"column": {"catalogName": TABLE[0], "schemaName": TABLE[1], "tableName": TABLE[2], "columnName": c, "columnType": "varchar"}}))
        .collect();
    let body =
        |action| Bytes::from(json!({"input": {"context": context, "action": action}}).to_string());
    [
        (
            "/v1/data/charter/trino/allow",
            body(json!({"operation": "SelectFromColumns", "resource": {"table": select}})),
        ),
        (
            "/v1/data/charter/trino/batchColumnMasks",
            body(json!({"operation": "GetColumnMask", "filterResources": masks})),
        ),
        (
            "/v1/data/charter/trino/rowFilters",
            body(json!({"operation": "GetRowFilters", "resource": {"table": table}})),
        ),
    ]
}

type Sender = hyper::client::conn::http1::SendRequest<Full<Bytes>>;

async fn connect(port: u16) -> Sender {
    for _ in 0..300 {
        if let Ok(stream) = tokio::net::TcpStream::connect(("127.0.0.1", port)).await {
            stream.set_nodelay(true).unwrap();
            let (sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(stream))
                .await
                .unwrap();
            tokio::spawn(conn);
            return sender;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot connect to port {port}");
}

async fn send(sender: &mut Sender, path: &str, body: &Bytes) -> bool {
    let request = hyper::Request::post(path)
        .header("host", "127.0.0.1")
        .header("content-type", "application/json")
        .body(Full::new(body.clone()))
        .unwrap();
    match sender.send_request(request).await {
        Ok(response) => {
            let ok = response.status() == 200;
            ok && response.into_body().collect().await.is_ok()
        }
        Err(_) => false,
    }
}

#[derive(Default)]
struct Outcome {
    queries: u64,
    errors: u64,
    per_call_us: [Vec<u32>; 3],
    per_query_us: Vec<u32>,
}

async fn run(port: u16, rate: u64, duration: Duration, workers: usize) -> (Outcome, Duration) {
    let bodies = std::sync::Arc::new(bodies());
    let start = Instant::now() + Duration::from_millis(100);
    let mut tasks = Vec::new();
    for w in 0..workers {
        let bodies = std::sync::Arc::clone(&bodies);
        tasks.push(tokio::spawn(async move {
            let mut sender = connect(port).await;
            let mut out = Outcome::default();
            let interval = Duration::from_secs_f64(workers as f64 / rate as f64);
            let offset = Duration::from_secs_f64(w as f64 / rate as f64);
            let mut k: u32 = 0;
            loop {
                let scheduled = start + offset + interval * k;
                if scheduled >= start + duration {
                    break;
                }
                tokio::time::sleep_until(scheduled.into()).await;
                for (i, (path, body)) in bodies.iter().enumerate() {
                    let sent = Instant::now();
                    if !send(&mut sender, path, body).await {
                        out.errors += 1;
                    }
                    out.per_call_us[i]
                        .push(u32::try_from(sent.elapsed().as_micros()).unwrap_or(u32::MAX));
                }
                out.per_query_us
                    .push(u32::try_from(scheduled.elapsed().as_micros()).unwrap_or(u32::MAX));
                out.queries += 1;
                k += 1;
            }
            out
        }));
    }
    let mut all = Outcome::default();
    for task in tasks {
        let o = task.await.unwrap();
        all.queries += o.queries;
        all.errors += o.errors;
        for (a, b) in all.per_call_us.iter_mut().zip(o.per_call_us) {
            a.extend(b);
        }
        all.per_query_us.extend(o.per_query_us);
    }
    let elapsed = start.elapsed();
    for v in all.per_call_us.iter_mut().chain([&mut all.per_query_us]) {
        v.sort_unstable();
    }
    (all, elapsed)
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

fn main() {
    let mut rate = 2000;
    let mut duration = Duration::from_secs(30);
    let mut workers = 32;
    let args: Vec<String> = std::env::args().collect();
    for pair in args.windows(2) {
        match pair[0].as_str() {
            "--rate" => rate = pair[1].parse().expect("--rate N"),
            "--duration" => {
                duration = Duration::from_secs_f64(pair[1].parse().expect("--duration SECONDS"))
            }
            "--workers" => workers = pair[1].parse().expect("--workers N"),
            _ => {}
        }
    }
    let (port, _server) = start_server();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let _ = run(port, 200, Duration::from_secs(2), workers).await;
        let (o, elapsed) = run(port, rate, duration, workers).await;
        println!(
            "{} queries ({} calls) in {:.1} s = {:.0} queries/s, errors {}",
            o.queries,
            o.queries * 3,
            elapsed.as_secs_f64(),
            o.queries as f64 / elapsed.as_secs_f64(),
            o.errors
        );
        for (name, v) in ["allow", "batchColumnMasks", "rowFilters"]
            .iter()
            .zip(&o.per_call_us)
        {
            println!(
                "  {name:<17} p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms  max {:.3} ms",
                percentile(v, 50.0),
                percentile(v, 99.0),
                percentile(v, 99.9),
                percentile(v, 100.0)
            );
        }
        let q = &o.per_query_us;
        println!(
            "  whole query (from its scheduled start) p50 {:.3} ms  p99 {:.3} ms  p99.9 {:.3} ms",
            percentile(q, 50.0),
            percentile(q, 99.0),
            percentile(q, 99.9)
        );
    });
}
