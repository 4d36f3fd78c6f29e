//! Starts `charter serve` on a free loopback port with copies of the sample mesh and
//! the default pack, and stops it with SIGTERM.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use charter_proto::v1 as pb;
use charter_proto::v1::decision_service_client::DecisionServiceClient;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

pub use crate::common::{copy_dir, repo};

/// The Prometheus text of the metrics endpoint on `port`, with the HTTP status line.
pub fn scrape_metrics(port: u16) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    text
}

/// A loopback port that is free now, for a server to bind next.
///
/// It is taken below the kernel's ephemeral range (32768–60999 on Linux): a port the
/// kernel hands out for `bind(0)` may go to one of the many client connections the
/// tests open before the server binds it (seen as "Address already in use"); client
/// connections never take a port below that range. Each test process starts at its own
/// place in 20000–31999 and moves on from there.
pub fn free_port() -> u16 {
    use std::sync::atomic::{AtomicU32, Ordering};
    const FIRST: u32 = 20_000;
    const COUNT: u32 = 12_000;
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let start = std::process::id().wrapping_mul(7919);
    for _ in 0..COUNT {
        let offset = start.wrapping_add(NEXT.fetch_add(1, Ordering::Relaxed)) % COUNT;
        let port = u16::try_from(FIRST + offset).unwrap();
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
    panic!("no free loopback port in {FIRST}..{}", FIRST + COUNT)
}

/// A running server and its files.
pub struct Server {
    pub child: Child,
    pub port: u16,
    pub dir: tempfile::TempDir,
    pub scheme: &'static str,
}

impl Server {
    pub fn mesh(&self) -> PathBuf {
        self.dir.path().join("mesh")
    }
    pub fn policies(&self) -> PathBuf {
        self.dir.path().join("policies")
    }
    pub fn log_path(&self) -> PathBuf {
        self.dir.path().join("decisions.jsonl")
    }
    pub fn stderr(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default()
    }
    pub fn url(&self) -> String {
        format!("{}://127.0.0.1:{}", self.scheme, self.port)
    }
    pub fn log_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(self.log_path())
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(self.url())
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    pub async fn client(&self) -> DecisionServiceClient<Channel> {
        DecisionServiceClient::connect(self.url()).await.unwrap()
    }

    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// SIGTERM, then waits (bounded) for the exit.
    pub fn stop(mut self) -> (ExitStatus, Self) {
        self.signal("TERM");
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(status) = self.child.try_wait().unwrap() {
                return (status, self);
            }
            assert!(
                Instant::now() < deadline,
                "the server did not stop:\n{}",
                self.stderr()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Options of a test server.
#[derive(Default)]
pub struct Options {
    pub args: Vec<String>,
    /// Serve the copied policy folder (`--policies`) rather than the embedded pack.
    pub policies: bool,
    /// Wait for health with TLS (the caller waits itself).
    pub no_wait: bool,
    pub decision_log: Option<String>,
    /// Serve a copy of this mesh rather than `testdata/mesh`.
    pub mesh: Option<PathBuf>,
}

pub fn spawn(options: Options) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let mesh = options
        .mesh
        .clone()
        .unwrap_or_else(|| repo().join("testdata/mesh"));
    copy_dir(&mesh, &dir.path().join("mesh"));
    for sub in ["rego", "cedar", "data"] {
        copy_dir(
            &repo().join("policies").join(sub),
            &dir.path().join("policies").join(sub),
        );
    }
    let port = free_port();
    let log = options
        .decision_log
        .clone()
        .unwrap_or_else(|| dir.path().join("decisions.jsonl").display().to_string());
    let mut command = Command::new(env!("CARGO_BIN_EXE_charter"));
    command
        .arg("serve")
        .arg("--mesh")
        .arg(dir.path().join("mesh"))
        .arg("--listen")
        .arg(format!("127.0.0.1:{port}"))
        .arg("--decision-log")
        .arg(log)
        .args(&options.args)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap());
    if options.policies {
        command.arg("--policies").arg(dir.path().join("policies"));
    }
    let child = command.spawn().unwrap();
    let mut server = Server {
        child,
        port,
        dir,
        scheme: "http",
    };
    if !options.no_wait {
        wait_serving(&mut server);
    }
    server
}

/// Polls health (bounded: 60 s) until SERVING; panics with the server's stderr if it exits.
pub fn wait_serving(server: &mut Server) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            panic!("the server exited with {status}:\n{}", server.stderr());
        }
        let url = server.url();
        // Its own thread and runtime: callers may be inside a runtime already.
        let serving = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                let Ok(channel) = Channel::from_shared(url).unwrap().connect().await else {
                    return false;
                };
                let mut health = HealthClient::new(channel);
                health
                    .check(tonic_health::pb::HealthCheckRequest {
                        service: String::new(),
                    })
                    .await
                    .is_ok_and(|r| r.into_inner().status == ServingStatus::Serving as i32)
            })
        })
        .join()
        .unwrap();
        if serving {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "the server never became SERVING:\n{}",
            server.stderr()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

pub fn principal(id: &str, roles: &[&str]) -> pb::Principal {
    pb::Principal {
        id: id.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        ..pb::Principal::default()
    }
}

pub fn request(principal: pb::Principal, product: &str, columns: &[&str]) -> pb::AccessRequest {
    pb::AccessRequest {
        principal: Some(principal),
        product: Some(pb::access_request::Product::ProductId(product.into())),
        columns: columns.iter().map(|c| (*c).to_owned()).collect(),
        ..pb::AccessRequest::default()
    }
}

/// An analyst's request for two columns of `orders.order_events`, one of them PII.
pub fn analyst_request() -> pb::AccessRequest {
    request(
        principal("ana", &["analyst"]),
        "orders.order_events",
        &["order_id", "customer_id"],
    )
}
