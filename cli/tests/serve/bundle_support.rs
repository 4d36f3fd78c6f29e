//! What the bundle tests share: bundles built with the real binary (and tampered with),
//! replicas of `charter serve --bundle-url`, and waiting for them to converge.
#![allow(dead_code, reason = "each test binary uses a subset")]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use charter_proto::v1 as pb;

use super::harness::{Server, analyst_request, free_port, repo, wait_serving};

pub const POLL: Duration = Duration::from_millis(700);

pub fn charter(args: &[&str]) {
    let out = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args(args)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Builds a signed bundle of `mesh`; `revision` None: the default (the snapshot's).
pub fn bundle(dir: &Path, mesh: &Path, revision: Option<&str>) -> Vec<u8> {
    bundle_with(dir, mesh, revision, &[])
}

/// [`bundle`], with more `charter bundle build` flags (e.g. `--principals FILE`).
pub fn bundle_with(dir: &Path, mesh: &Path, revision: Option<&str>, extra: &[String]) -> Vec<u8> {
    let out = dir.join(format!("b-{}.tar.gz", revision.unwrap_or("default")));
    let key = repo().join("testdata/bundle/rsa-test-key.pem");
    let mut args = vec![
        "bundle".to_owned(),
        "build".into(),
        "--mesh".into(),
        mesh.display().to_string(),
        "--output".into(),
        out.display().to_string(),
        "--signing-key".into(),
        key.display().to_string(),
        "--signing-alg".into(),
        "RS256".into(),
    ];
    if let Some(rev) = revision {
        args.extend(["--revision".into(), rev.into()]);
    }
    args.extend(extra.iter().cloned());
    charter(&args.iter().map(String::as_str).collect::<Vec<_>>());
    std::fs::read(out).unwrap()
}

/// The bundle with one contract changed and its signature kept.
pub fn tampered(bundle: &[u8]) -> Vec<u8> {
    use std::io::Read;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bundle));
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut out = tar::Builder::new(gz);
    for entry in archive.entries().unwrap() {
        let mut entry = entry.unwrap();
        let mut data = Vec::new();
        entry.read_to_end(&mut data).unwrap();
        let mut header = entry.header().clone();
        if entry.path().unwrap().ends_with("invoices.yaml") {
            data.extend_from_slice(b"\n# tampered\n");
            header.set_size(data.len() as u64);
            header.set_cksum();
        }
        out.append(&header, data.as_slice()).unwrap();
    }
    out.into_inner().unwrap().finish().unwrap()
}

/// A bundle signed with the test key whose Rego does not compile (`charter bundle build`
/// refuses to build one, so it is put together with the engine's bundle writer).
pub fn broken_pack_bundle(mesh: &Path) -> Vec<u8> {
    use charter_engine::bundle::{CharterMetadata, Contents, SigningKey};
    let mut contents = Contents {
        revision: "broken".into(),
        metadata: Some(CharterMetadata {
            version: "test".into(),
            policies_revision: "broken".into(),
            mesh_revision: "test".into(),
            principals: None,
        }),
        ..Contents::default()
    };
    contents.policies.insert(
        "rego/rules/bad.rego".into(),
        b"package charter.rules.bad\n\ndeny contains x if {\n".to_vec(),
    );
    let invoices = "domains/billing/invoices.yaml";
    contents
        .contracts
        .insert(invoices.into(), std::fs::read(mesh.join(invoices)).unwrap());
    let key = std::fs::read(repo().join("testdata/bundle/rsa-test-key.pem")).unwrap();
    let key = SigningKey::new("RS256", &key, None).unwrap();
    contents.build(Some(&key)).unwrap()
}

pub struct Replica {
    pub server: Server,
    pub cache: PathBuf,
}

pub fn spawn_replica(
    url: &str,
    cache: &Path,
    token: Option<&Path>,
    wait: bool,
    extra: &[String],
) -> Replica {
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let mut command = Command::new(env!("CARGO_BIN_EXE_charter"));
    command
        .args(["serve", "--bundle-url", url, "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .arg("--decision-log")
        .arg(dir.path().join("decisions.jsonl"))
        .arg("--bundle-poll-interval")
        .arg(format!("{}ms", POLL.as_millis()))
        .arg("--bundle-cache")
        .arg(cache)
        .arg("--bundle-verification-key")
        .arg(repo().join("testdata/bundle/rsa-test-key.pub.pem"))
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(dir.path().join("stderr.log")).unwrap());
    if let Some(token) = token {
        command.arg("--bundle-token-file").arg(token);
    }
    command.args(extra);
    let mut server = Server {
        child: command.spawn().unwrap(),
        port,
        dir,
        scheme: "http",
    };
    if wait {
        wait_serving(&mut server);
    }
    Replica {
        server,
        cache: cache.to_path_buf(),
    }
}

pub async fn status(replica: &Replica) -> pb::Status {
    let mut client = replica.server.client().await;
    client
        .get_status(pb::GetStatusRequest {})
        .await
        .unwrap()
        .into_inner()
}

pub fn bundle_of(status: &pb::Status) -> pb::BundleStatus {
    status.bundle.clone().unwrap_or_default()
}

/// Waits (at most `within`) until every replica's status satisfies `done`; returns how long it took.
pub async fn converge(
    replicas: &[Replica],
    within: Duration,
    done: impl Fn(&pb::Status) -> bool,
) -> Duration {
    let start = Instant::now();
    loop {
        let mut all = true;
        let mut last = Vec::new();
        for r in replicas {
            let s = status(r).await;
            all &= done(&s);
            last.push(s);
        }
        if all {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < within,
            "replicas did not converge within {within:?}: {last:#?}\n{}",
            replicas[0].server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Every replica still answers decisions, from `revision`'s snapshot.
pub async fn all_decide(replicas: &[Replica], snapshot_revision: &str) {
    for r in replicas {
        let decision = r
            .server
            .client()
            .await
            .check_access(analyst_request())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(decision.revision, snapshot_revision);
    }
}

/// `GET /health` on the metrics listener: the status code and the JSON detail.
pub fn health_detail(port: u16) -> (u16, serde_json::Value) {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream
        .write_all(b"GET /health HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n")
        .unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let code = text[9..12].parse().unwrap();
    let body = text.split("\r\n\r\n").nth(1).unwrap();
    (code, serde_json::from_str(body).unwrap())
}
