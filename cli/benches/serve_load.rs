//! Load generator for `charter serve`: drives CheckAccess over real gRPC and prints
//! throughput and latency percentiles. The headline latency is measured from each request's
//! **scheduled** send time (no coordinated omission: a server that falls behind pays for the
//! queue it causes); the latency from the actual send and the pacer's own lateness are
//! printed beside it.
//!
//! ```text
//! cargo bench -p charter-cli --bench serve_load -- [--rate 5000] [--duration 30]
//!     [--concurrency 64] [--connections 4] [--columns 24] [--addr 127.0.0.1:50051]
//!     [--sweep] [--max] [--per-domain 250]
//! ```
//!
//! The request is a realistic one: 24 distinct columns of a wide product (6 of them PII the
//! principal gets masked, and `region`, which brings a row filter for its `region=eu`
//! attribute), by a principal with role `analyst`. Without `--addr` the bench starts
//! `charter serve` (the bench build) on a free loopback port over the generated mesh of
//! `support/meshgen.rs` (40 domains × 250 products, plus the wide product: 10,001;
//! `--per-domain 2500` makes it 100,001), the
//! default pack and a decision log on disk in a temp folder, and prints its memory.
//!
//! Open loop (the default): a dedicated pacing thread releases each request at its
//! scheduled time (a sleep, then a short spin for the last tens of microseconds) onto the
//! client runtime; requests in flight do not hold back the next. `--sweep` raises the rate
//! until p99 passes 2 ms or requests fail; `--max` runs closed loop (`--concurrency`
//! streams, each sending as soon as its previous answer arrives): the ceiling.
#![expect(clippy::print_stdout, reason = "a load generator prints its figures")]
#![expect(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    reason = "a bench fails loudly"
)]

#[path = "support/meshgen.rs"]
mod meshgen;

use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
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
    /// Products per domain of the generated mesh.
    per_domain: usize,
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
        columns: 24,
        per_domain: meshgen::Shape::LARGE.per_domain,
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
            "--per-domain" => s.per_domain = value.parse().expect("--per-domain N"),
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

fn start_server(per_domain: usize) -> (String, Spawned) {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let dir = tempfile::tempdir().unwrap();
    let target = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target");
    let shape = meshgen::Shape {
        per_domain,
        ..meshgen::Shape::LARGE
    };
    let mesh = target.join(format!("{}-wide", shape.folder()));
    meshgen::generate(&mesh, shape, true).expect("the bench mesh is generated");
    let child = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args([
            "serve",
            "--listen",
            &format!("127.0.0.1:{port}"),
            "--watch-interval",
            "0s",
        ])
        .arg("--mesh")
        .arg(&mesh)
        .arg("--decision-log")
        .arg(dir.path().join("decisions.jsonl"))
        .env("RUST_LOG", "warn")
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    println!(
        "server: charter serve over {} products ({})",
        shape.products() + 1,
        mesh.display()
    );
    (format!("127.0.0.1:{port}"), Spawned { child, _dir: dir })
}

async fn connect(addr: &str) -> DecisionServiceClient<Channel> {
    for _ in 0..1200 {
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

/// The realistic request: `n` distinct columns of the wide product (its id, `region`, six
/// PII columns, then measures), role `analyst`, attribute `region=eu`. Checked against the
/// server's answer: the PII columns come back masked and a row filter applies.
async fn request(client: &mut DecisionServiceClient<Channel>, n: usize) -> pb::AccessRequest {
    let all = meshgen::wide_columns();
    let (pii, other): (Vec<_>, Vec<_>) = all.iter().partition(|(_, mask)| mask.is_some());
    let mut columns: Vec<String> = other.iter().take(2).map(|(c, _)| c.clone()).collect();
    columns.extend(pii.iter().take(6).map(|(c, _)| c.clone()));
    columns.extend(other.iter().skip(2).map(|(c, _)| c.clone()));
    columns.truncate(n.min(all.len()));
    let mut attributes = std::collections::HashMap::new();
    attributes.insert("region".to_owned(), "eu".to_owned());
    let request = pb::AccessRequest {
        principal: Some(pb::Principal {
            id: "bench-user".into(),
            roles: vec!["analyst".into()],
            attributes,
            ..Default::default()
        }),
        product: Some(pb::access_request::Product::ProductId(
            meshgen::WIDE_PRODUCT.into(),
        )),
        columns,
        ..Default::default()
    };
    let answer = client
        .check_access(request.clone())
        .await
        .expect("the wide product is decided")
        .into_inner();
    let masked = answer
        .columns
        .iter()
        .filter(|c| c.effect == pb::ColumnEffect::Mask as i32)
        .count();
    println!(
        "request: {} distinct columns of `{}`, {masked} masked, {} row filter(s), role analyst, attribute region=eu",
        request.columns.len(),
        meshgen::WIDE_PRODUCT,
        answer.row_filters.len(),
    );
    assert_eq!(
        answer.decision,
        pb::Outcome::Allow as i32,
        "the product is allowed"
    );
    request
}

struct Outcome {
    sent: u64,
    errors: u64,
    elapsed: Duration,
    /// From each request's scheduled send time to its answer: the headline.
    latencies_us: Vec<u32>,
    /// From the moment each request was actually sent to its answer.
    service_us: Vec<u32>,
    /// How late the pacer released each request (open loop only).
    lateness_us: Vec<u32>,
}

impl Outcome {
    fn new(elapsed: Duration, mut samples: Vec<Sample>) -> Self {
        let mut o = Outcome {
            sent: samples.len() as u64,
            errors: samples.iter().filter(|s| !s.ok).count() as u64,
            elapsed,
            latencies_us: samples.iter().map(|s| s.total_us).collect(),
            service_us: samples.iter().map(|s| s.service_us).collect(),
            lateness_us: samples.drain(..).map(|s| s.late_us).collect(),
        };
        o.latencies_us.sort_unstable();
        o.service_us.sort_unstable();
        o.lateness_us.sort_unstable();
        o
    }
}

/// One answered (or failed) request.
struct Sample {
    ok: bool,
    total_us: u32,
    service_us: u32,
    late_us: u32,
}

fn micros(d: Duration) -> u32 {
    u32::try_from(d.as_micros()).unwrap_or(u32::MAX)
}

/// Waits until `at`: a sleep (Linux wakes a sleeper within ~50-60 µs), then a spin for
/// whatever is left, so the pacer's lateness stays in the tens of microseconds.
fn wait_until(at: Instant) {
    const SLACK: Duration = Duration::from_micros(60);
    loop {
        let now = Instant::now();
        if now >= at {
            return;
        }
        let left = at - now;
        if left > SLACK {
            std::thread::sleep(left - SLACK);
        } else {
            std::hint::spin_loop();
        }
    }
}

/// Open loop at `rate` for `duration`: a pacing thread releases request k at
/// `start + k / rate` onto the runtime, whatever is still in flight.
fn open_loop(
    runtime: &tokio::runtime::Runtime,
    clients: &[DecisionServiceClient<Channel>],
    request: &pb::AccessRequest,
    rate: u64,
    duration: Duration,
) -> Outcome {
    let (tx, rx) = mpsc::channel::<Sample>();
    let total = (duration.as_secs_f64() * rate as f64) as u64;
    let start = Instant::now() + Duration::from_millis(20);
    for k in 0..total {
        let scheduled = start + Duration::from_secs_f64(k as f64 / rate as f64);
        wait_until(scheduled);
        let released = Instant::now();
        let mut client = clients[k as usize % clients.len()].clone();
        let request = request.clone();
        let tx = tx.clone();
        runtime.spawn(async move {
            let ok = client.check_access(request).await.is_ok();
            let done = Instant::now();
            let _ = tx.send(Sample {
                ok,
                total_us: micros(done - scheduled),
                service_us: micros(done - released),
                late_us: micros(released - scheduled),
            });
        });
    }
    drop(tx);
    let samples: Vec<Sample> = rx.iter().collect();
    Outcome::new(start.elapsed(), samples)
}

/// Closed loop for `duration`: `concurrency` streams, each sending as soon as its previous
/// answer arrives.
async fn closed_loop(
    clients: &[DecisionServiceClient<Channel>],
    request: &pb::AccessRequest,
    duration: Duration,
    concurrency: usize,
) -> Outcome {
    let start = Instant::now();
    let mut tasks = Vec::new();
    for w in 0..concurrency {
        let mut client = clients[w % clients.len()].clone();
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let mut samples = Vec::new();
            while start.elapsed() < duration {
                let sent = Instant::now();
                let ok = client.check_access(request.clone()).await.is_ok();
                let took = micros(sent.elapsed());
                samples.push(Sample {
                    ok,
                    total_us: took,
                    service_us: took,
                    late_us: 0,
                });
            }
            samples
        }));
    }
    let mut samples = Vec::new();
    for task in tasks {
        samples.extend(task.await.unwrap());
    }
    Outcome::new(start.elapsed(), samples)
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
        "{label}: {} requests in {:.1} s = {:.0} req/s, errors {}",
        o.sent,
        o.elapsed.as_secs_f64(),
        throughput,
        o.errors,
    );
    let line = |what: &str, sorted: &[u32]| {
        println!(
            "  {what:<26} p50 {:.3} ms, p99 {:.3} ms, p99.9 {:.3} ms, max {:.3} ms",
            percentile(sorted, 50.0),
            percentile(sorted, 99.0),
            percentile(sorted, 99.9),
            percentile(sorted, 100.0),
        );
    };
    line("from the scheduled send:", &o.latencies_us);
    line("from the actual send:", &o.service_us);
    if o.lateness_us.iter().any(|&l| l > 0) {
        line("pacer lateness:", &o.lateness_us);
    }
    (throughput, p99)
}

fn print_memory(server: Option<&Spawned>) {
    if let Some((rss, peak)) = server.and_then(|s| meshgen::rss_kib(s.child.id())) {
        println!(
            "server memory: RSS {} MB, peak {} MB",
            rss / 1024,
            peak / 1024
        );
    }
}

fn main() {
    let s = settings();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    let started = Instant::now();
    let (addr, server) = match s.addr.clone() {
        Some(addr) => (addr, None),
        None => {
            let (addr, spawned) = start_server(s.per_domain);
            (addr, Some(spawned))
        }
    };
    let (clients, request) = runtime.block_on(async {
        let mut clients = Vec::new();
        for _ in 0..s.connections.max(1) {
            clients.push(connect(&addr).await);
        }
        let request = request(&mut clients[0], s.columns).await;
        (clients, request)
    });
    if server.is_some() {
        println!("server ready in {:.1} s", started.elapsed().as_secs_f64());
        print_memory(server.as_ref());
    }
    // Warm up.
    let _ = open_loop(&runtime, &clients, &request, 1000, Duration::from_secs(2));
    println!("target {addr}, {} connections", clients.len());
    if s.max {
        println!("closed loop: {} streams", s.concurrency);
        let o = runtime.block_on(closed_loop(&clients, &request, s.duration, s.concurrency));
        report("closed loop", &o);
    } else if s.sweep {
        let mut best = None;
        let mut rate = s.rate;
        loop {
            let o = open_loop(&runtime, &clients, &request, rate, s.duration);
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
        let o = open_loop(&runtime, &clients, &request, s.rate, s.duration);
        report(&format!("rate {}", s.rate), &o);
    }
    print_memory(server.as_ref());
}
