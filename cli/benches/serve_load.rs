//! Load generator for `charter serve`: drives CheckAccess over real gRPC with many
//! concurrent streams at a fixed rate (open loop) and prints throughput and latency
//! percentiles, measured from each request's scheduled send time (so a slow server
//! cannot hide queueing: no coordinated omission), and from its actual send time (the
//! first includes up to ~1 ms of the generator's own timer lateness).
//!
//! ```text
//! cargo bench -p charter-cli --bench serve_load -- [--rate 5000] [--duration 30]
//!     [--concurrency 64] [--connections 4] [--columns 20] [--addr 127.0.0.1:50051]
//!     [--sweep] [--max]
//! ```
//!
//! Without `--addr` it starts `charter serve` (the bench build) on a free loopback
//! port with `testdata/mesh`, the default pack and a decision log in a temp folder.
//! `--sweep` raises the rate until p99 passes 2 ms or requests fail; `--max` runs
//! closed loop (each stream sends as soon as its previous answer arrives).
#![expect(clippy::print_stdout, reason = "a load generator prints its figures")]
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a bench fails loudly"
)]

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use charter_proto::v1 as pb;
use charter_proto::v1::decision_service_client::DecisionServiceClient;
use tonic::transport::Channel;

struct Settings {
    rate: u64,
    duration: Duration,
    concurrency: usize,
    connections: usize,
    columns: usize,
    addr: Option<String>,
    sweep: bool,
    max: bool,
}

fn settings() -> Settings {
    let mut s = Settings {
        rate: 5000,
        duration: Duration::from_secs(30),
        concurrency: 64,
        connections: 4,
        columns: 20,
        addr: None,
        sweep: false,
        max: false,
    };
    let args: Vec<String> = std::env::args().collect();
    let mut i = 1;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--rate" => s.rate = value.parse().expect("--rate N"),
            "--duration" => {
                s.duration = Duration::from_secs_f64(value.parse().expect("--duration SECONDS"))
            }
            "--concurrency" => s.concurrency = value.parse().expect("--concurrency N"),
            "--connections" => s.connections = value.parse().expect("--connections N"),
            "--columns" => s.columns = value.parse().expect("--columns N"),
            "--addr" => s.addr = Some(value),
            "--sweep" => (s.sweep, i) = (true, i - 1),
            "--max" => (s.max, i) = (true, i - 1),
            _ => i -= 1, // `--bench` and other cargo arguments
        }
        i += 2;
    }
    s
}

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

fn start_server() -> (String, Spawned) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let mesh = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/mesh");
    let child = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--watch-interval",
            "0s",
        ])
        .arg("--mesh")
        .arg(mesh)
        .arg("--decision-log")
        .arg(dir.path().join("decisions.jsonl"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    (format!("127.0.0.1:{port}"), Spawned { child, _dir: dir })
}

async fn connect(addr: &str) -> DecisionServiceClient<Channel> {
    for _ in 0..300 {
        if let Ok(channel) = Channel::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
        {
            return DecisionServiceClient::new(channel);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("cannot connect to {addr}");
}

/// The widest product of the sample mesh, its columns cycled to `n`.
async fn request(client: &mut DecisionServiceClient<Channel>, n: usize) -> pb::AccessRequest {
    let mut best: (String, Vec<String>) = (String::new(), Vec::new());
    for product in [
        "customer-engagement.customer_profiles",
        "orders.shipments",
        "billing.payments",
        "orders.order_events",
    ] {
        let whole = pb::AccessRequest {
            principal: Some(pb::Principal {
                id: "bench".into(),
                roles: vec!["analyst".into()],
                ..Default::default()
            }),
            product: Some(pb::access_request::Product::ProductId(product.into())),
            ..Default::default()
        };
        let Ok(answer) = client.check_access(whole).await else {
            continue;
        };
        let columns: Vec<String> = answer
            .into_inner()
            .columns
            .into_iter()
            .map(|c| c.name)
            .collect();
        if columns.len() > best.1.len() {
            best = (product.to_owned(), columns);
        }
    }
    assert!(!best.1.is_empty(), "no product of the sample mesh answered");
    let columns: Vec<String> = best.1.iter().cycle().take(n).cloned().collect();
    println!(
        "request: {} columns of `{}` ({} distinct), role analyst, attribute region=eu",
        columns.len(),
        best.0,
        best.1.len().min(n)
    );
    let mut attributes = std::collections::HashMap::new();
    attributes.insert("region".to_owned(), "eu".to_owned());
    pb::AccessRequest {
        principal: Some(pb::Principal {
            id: "bench".into(),
            roles: vec!["analyst".into()],
            attributes,
            ..Default::default()
        }),
        product: Some(pb::access_request::Product::ProductId(best.0)),
        columns,
        ..Default::default()
    }
}

struct Outcome {
    sent: u64,
    errors: u64,
    elapsed: Duration,
    /// From each request's scheduled send time (includes the generator's own lateness:
    /// tokio's timer fires with millisecond granularity).
    latencies_us: Vec<u32>,
    /// From the moment each request was actually sent to its answer.
    service_us: Vec<u32>,
}

async fn run(
    clients: &[DecisionServiceClient<Channel>],
    request: &pb::AccessRequest,
    rate: Option<u64>,
    duration: Duration,
    concurrency: usize,
) -> Outcome {
    let start = Instant::now() + Duration::from_millis(50);
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let mut client = clients[w % clients.len()].clone();
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut service = Vec::new();
            let (mut sent, mut errors) = (0u64, 0u64);
            // Worker w sends at start + (w + k * concurrency) / rate.
            let interval = rate.map(|r| Duration::from_secs_f64(concurrency as f64 / r as f64));
            let offset = rate.map_or(Duration::ZERO, |r| {
                Duration::from_secs_f64(w as f64 / r as f64)
            });
            let mut k: u32 = 0;
            loop {
                let scheduled = match interval {
                    Some(interval) => start + offset + interval * k,
                    None => Instant::now().max(start),
                };
                if scheduled >= start + duration {
                    break;
                }
                tokio::time::sleep_until(scheduled.into()).await;
                sent += 1;
                let sent_at = Instant::now();
                if client.check_access(request.clone()).await.is_err() {
                    errors += 1;
                }
                latencies.push(u32::try_from(scheduled.elapsed().as_micros()).unwrap_or(u32::MAX));
                service.push(u32::try_from(sent_at.elapsed().as_micros()).unwrap_or(u32::MAX));
                k += 1;
            }
            (sent, errors, latencies, service)
        }));
    }
    let mut outcome = Outcome {
        sent: 0,
        errors: 0,
        elapsed: Duration::ZERO,
        latencies_us: Vec::new(),
        service_us: Vec::new(),
    };
    for task in tasks {
        let (sent, errors, latencies, service) = task.await.unwrap();
        outcome.sent += sent;
        outcome.errors += errors;
        outcome.latencies_us.extend(latencies);
        outcome.service_us.extend(service);
    }
    outcome.elapsed = start.elapsed();
    outcome.latencies_us.sort_unstable();
    outcome.service_us.sort_unstable();
    outcome
}

fn percentile(sorted: &[u32], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    f64::from(sorted[rank.clamp(1, sorted.len()) - 1]) / 1000.0
}

fn report(label: &str, o: &Outcome) -> (f64, f64) {
    let throughput = o.sent as f64 / o.elapsed.as_secs_f64();
    let p99 = percentile(&o.latencies_us, 99.0);
    println!(
        "{label}: {} requests in {:.1} s = {:.0} req/s, errors {}, p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
        o.sent,
        o.elapsed.as_secs_f64(),
        throughput,
        o.errors,
        percentile(&o.latencies_us, 50.0),
        p99,
        percentile(&o.latencies_us, 99.9),
        percentile(&o.latencies_us, 100.0),
    );
    println!(
        "  from actual send: p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
        percentile(&o.service_us, 50.0),
        percentile(&o.service_us, 99.0),
        percentile(&o.service_us, 99.9),
        percentile(&o.service_us, 100.0),
    );
    (throughput, p99)
}

fn main() {
    let s = settings();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let (addr, _server) = match s.addr.clone() {
        Some(addr) => (addr, None),
        None => {
            let (addr, spawned) = start_server();
            (addr, Some(spawned))
        }
    };
    runtime.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..s.connections.max(1) {
            clients.push(connect(&addr).await);
        }
        let request = request(&mut clients[0], s.columns).await;
        // Warm up.
        let _ = run(
            &clients,
            &request,
            Some(1000),
            Duration::from_secs(2),
            s.concurrency,
        )
        .await;
        println!(
            "target {addr}, {} connections, {} streams",
            clients.len(),
            s.concurrency
        );
        if s.max {
            report(
                "closed loop",
                &run(&clients, &request, None, s.duration, s.concurrency).await,
            );
        } else if s.sweep {
            let mut best = None;
            let mut rate = s.rate;
            loop {
                let o = run(&clients, &request, Some(rate), s.duration, s.concurrency).await;
                let (throughput, p99) = report(&format!("rate {rate}"), &o);
                if o.errors > 0 || p99 >= 2.0 || throughput < rate as f64 * 0.95 {
                    break;
                }
                best = Some(rate);
                rate += rate / 4;
            }
            match best {
                Some(rate) => println!("highest rate with p99 < 2 ms and no errors: {rate} req/s"),
                None => println!("even {} req/s missed p99 < 2 ms", s.rate),
            }
        } else {
            report(
                &format!("rate {}", s.rate),
                &run(&clients, &request, Some(s.rate), s.duration, s.concurrency).await,
            );
        }
    });
}
