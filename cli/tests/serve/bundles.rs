//! `charter serve --bundle-url`: three replicas fed by a bundle server started by the test
//! converge on each new bundle, keep the last good one through a tampered bundle, a bundle
//! whose pack does not compile, a 500 and an outage, and a replica restarted during the
//! outage serves from its cache; without cache or server nothing is served; an https bundle
//! server is checked against the given CA. (Memory across reloads: `tests/serve_memory.rs`.)

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use charter_proto::v1 as pb;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::bundle_server::{BundleServer, Mode};
use super::bundle_support::*;
use super::harness::{
    analyst_request, copy_dir, free_port, principal, repo, request, wait_serving,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replicas_converge_keep_the_last_good_and_restart_from_their_cache() {
    let work = tempfile::tempdir().unwrap();
    let mesh1 = work.path().join("mesh1");
    copy_dir(&repo().join("testdata/mesh"), &mesh1);
    let mesh2 = work.path().join("mesh2");
    copy_dir(&mesh1, &mesh2);
    std::fs::remove_file(mesh2.join("domains/billing/refunds.yaml")).unwrap();
    let r1 = bundle(work.path(), &mesh1, Some("r1"));
    let r2 = bundle(work.path(), &mesh2, None);
    let r3_tampered = tampered(&bundle(work.path(), &mesh1, Some("r3")));
    let token = work.path().join("token");
    std::fs::write(&token, "s3cret\n").unwrap();

    let mut server = BundleServer::start(r1, Some("s3cret"));
    let replicas: Vec<Replica> = (0..3)
        .map(|i| {
            let cache = work.path().join(format!("cache{i}"));
            spawn_replica(&server.url(), &cache, Some(&token), true, &[])
        })
        .collect();

    // Revision 1 everywhere, signed, and decisions from it.
    converge(&replicas, Duration::from_secs(10), |s| {
        bundle_of(s).revision == "r1"
    })
    .await;
    let s1 = status(&replicas[0]).await;
    assert!(bundle_of(&s1).signed && !bundle_of(&s1).from_cache);
    all_decide(&replicas, &s1.revision).await;
    // Unchanged bundle: 304s, no new download.
    tokio::time::sleep(POLL * 3).await;
    assert!(
        server.counts(|c| c.not_modified) >= 3,
        "no 304 was answered"
    );
    assert_eq!(server.counts(|c| c.ok), 3, "one download per replica");
    assert_eq!(server.counts(|c| c.unauthorized), 0);

    // Revision 2 (its default revision is the snapshot's content revision).
    server.publish(r2);
    let took = converge(&replicas, Duration::from_secs(30), |s| {
        let b = bundle_of(s);
        !b.revision.is_empty() && b.revision != "r1"
    })
    .await;
    let s2 = status(&replicas[0]).await;
    assert_eq!(
        bundle_of(&s2).revision,
        s2.revision,
        "the manifest revision is the snapshot's"
    );
    assert_eq!(s2.product_count, s1.product_count - 1);
    eprintln!("revision 2 served by all three replicas after {took:?} (poll interval {POLL:?})");
    assert!(
        took <= POLL * 2 + Duration::from_secs(2),
        "converged only after {took:?}"
    );
    all_decide(&replicas, &s2.revision).await;

    // A tampered bundle: refused everywhere, revision 2 kept, the error shown.
    server.publish(r3_tampered);
    converge(&replicas, Duration::from_secs(15), |s| {
        bundle_of(s).last_error.contains("digest mismatch")
    })
    .await;
    for r in &replicas {
        let s = status(r).await;
        let b = bundle_of(&s);
        assert_eq!(s.revision, s2.revision);
        assert!(b.last_error.contains("invoices.yaml"), "{}", b.last_error);
        assert!(!b.last_error_at.is_empty());
    }
    all_decide(&replicas, &s2.revision).await;

    // A correctly signed bundle whose pack does not compile: refused, revision 2 kept.
    server.publish(broken_pack_bundle(&mesh1));
    converge(&replicas, Duration::from_secs(15), |s| {
        bundle_of(s).last_error.contains("do not build")
    })
    .await;
    all_decide(&replicas, &s2.revision).await;

    // The server fails, then goes down: still revision 2.
    server.set_mode(Mode::Fail);
    converge(&replicas, Duration::from_secs(15), |s| {
        bundle_of(s).last_error.contains("500")
    })
    .await;
    all_decide(&replicas, &s2.revision).await;
    server.down();
    converge(&replicas, Duration::from_secs(15), |s| {
        bundle_of(s).last_error.contains("cannot download")
    })
    .await;
    all_decide(&replicas, &s2.revision).await;

    // A replica restarted while the server is down serves revision 2 from its cache.
    let mut replicas = replicas;
    let first = replicas.remove(0);
    let cache = first.cache.clone();
    let (exit, _) = first.server.stop();
    assert!(exit.success());
    let restarted = spawn_replica(&server.url(), &cache, Some(&token), true, &[]);
    let s = status(&restarted).await;
    assert_eq!(s.revision, s2.revision);
    assert!(bundle_of(&s).from_cache);
    all_decide(&[restarted], &s2.revision).await;
    server.up();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_cache_or_server_nothing_is_served_until_a_bundle_activates() {
    let work = tempfile::tempdir().unwrap();
    let good = bundle(work.path(), &repo().join("testdata/mesh"), Some("g1"));
    let mut server = BundleServer::start(good, None);
    server.down();
    let metrics_port = free_port();
    let replica = spawn_replica(
        &server.url(),
        &work.path().join("cache"),
        None,
        false,
        &[
            "--metrics-listen".into(),
            format!("127.0.0.1:{metrics_port}"),
        ],
    );
    let url = replica.server.url();
    // Up, answering, but NOT_SERVING and refusing decisions.
    let deadline = Instant::now() + Duration::from_secs(30);
    let health = loop {
        if let Ok(channel) = tonic::transport::Channel::from_shared(url.clone())
            .unwrap()
            .connect()
            .await
        {
            let mut health = HealthClient::new(channel);
            if let Ok(r) = health
                .check(HealthCheckRequest {
                    service: String::new(),
                })
                .await
            {
                break r.into_inner().status;
            }
        }
        assert!(Instant::now() < deadline, "{}", replica.server.stderr());
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(health, ServingStatus::NotServing as i32);
    tokio::time::sleep(POLL * 2).await;
    let refused = replica
        .server
        .client()
        .await
        .check_access(analyst_request())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unavailable, "{refused:?}");
    let s = status(&replica).await;
    assert!(bundle_of(&s).revision.is_empty());
    assert!(bundle_of(&s).last_error.contains("cannot download"));
    let (code, detail) = health_detail(metrics_port);
    assert_eq!(code, 503, "{detail}");
    assert_eq!(detail["status"], "NOT_SERVING");
    assert!(
        detail["bundle"]["last_error"]
            .as_str()
            .unwrap()
            .contains("cannot download")
    );
    // The server comes up: the bundle activates and the replica serves.
    server.up();
    let mut server_handle = replica.server;
    wait_serving(&mut server_handle);
    let replica = Replica {
        server: server_handle,
        cache: PathBuf::new(),
    };
    let s = status(&replica).await;
    assert_eq!(bundle_of(&s).revision, "g1");
    assert!(bundle_of(&s).last_error.is_empty());
    let (code, detail) = health_detail(metrics_port);
    assert_eq!(code, 200, "{detail}");
    assert_eq!(detail["bundle"]["revision"], "g1");
    assert_eq!(detail["revision"], s.revision.as_str());
    let metrics = super::harness::scrape_metrics(metrics_port);
    assert!(
        metrics.contains("charter_bundle_revision{revision=\"g1\"} 1"),
        "{metrics}"
    );
    assert!(
        metrics.contains("charter_bundle_polls_total{outcome=\"unreachable\"}"),
        "{metrics}"
    );
    all_decide(&[replica], &s.revision).await;
}

/// A CA and a `localhost` server certificate signed by it: (CA PEM, server TLS config).
fn tls_pki() -> (String, Arc<rustls::ServerConfig>) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let server_key = KeyPair::generate().unwrap();
    let server = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .signed_by(&server_key, &issuer)
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![CertificateDer::from(server.der().to_vec())],
        PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(server_key.serialize_der())),
    )
    .unwrap();
    (ca_cert.pem(), Arc::new(config))
}

/// A bundle built with `--principals` carries the directory, and the replica completes its
/// callers from it: a bare user id gets the roles and attributes the directory gives it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_bundled_principal_directory_completes_callers() {
    let work = tempfile::tempdir().unwrap();
    let directory = work.path().join("principals.yaml");
    std::fs::write(
        &directory,
        "users:\n  ana: {roles: [analyst], attributes: {region: eu}}\n",
    )
    .unwrap();
    let with = bundle_with(
        work.path(),
        &repo().join("testdata/mesh"),
        Some("p1"),
        &["--principals".to_owned(), directory.display().to_string()],
    );
    let server = BundleServer::start(with, None);
    let replica = spawn_replica(&server.url(), &work.path().join("cache"), None, true, &[]);
    let mut client = replica.server.client().await;
    let bare = |id: &str| request(principal(id, &[]), "orders.order_events", &["order_id"]);
    let ana = client.check_access(bare("ana")).await.unwrap().into_inner();
    assert_eq!(ana.decision, pb::Outcome::Allow as i32, "{ana:?}");
    assert_eq!(ana.row_filters.len(), 1, "{ana:?}");
    assert!(ana.row_filters[0].sql.contains("'eu'"), "{ana:?}");
    let bob = client.check_access(bare("bob")).await.unwrap().into_inner();
    assert_eq!(bob.decision, pb::Outcome::Deny as i32, "{bob:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_https_bundle_server_is_checked_against_the_given_ca() {
    let work = tempfile::tempdir().unwrap();
    let good = bundle(work.path(), &repo().join("testdata/mesh"), Some("t1"));
    let (ca, config) = tls_pki();
    let (other_ca, _) = tls_pki();
    std::fs::write(work.path().join("ca.pem"), ca).unwrap();
    std::fs::write(work.path().join("other.pem"), other_ca).unwrap();
    let server = BundleServer::start_with(good, None, Some(config));
    let ca_flag = |file: &str| {
        vec![
            "--bundle-ca".to_owned(),
            work.path().join(file).display().to_string(),
        ]
    };
    let trusted = spawn_replica(
        &server.url(),
        &work.path().join("c1"),
        None,
        true,
        &ca_flag("ca.pem"),
    );
    assert_eq!(bundle_of(&status(&trusted).await).revision, "t1");
    let untrusted = spawn_replica(
        &server.url(),
        &work.path().join("c2"),
        None,
        false,
        &ca_flag("other.pem"),
    );
    let start = Instant::now();
    let error = loop {
        if let Ok(channel) = tonic::transport::Channel::from_shared(untrusted.server.url())
            .unwrap()
            .connect()
            .await
        {
            let mut client =
                charter_proto::v1::decision_service_client::DecisionServiceClient::new(channel);
            let s = client
                .get_status(pb::GetStatusRequest {})
                .await
                .unwrap()
                .into_inner();
            let error = bundle_of(&s).last_error;
            if !error.is_empty() {
                break error;
            }
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{}",
            untrusted.server.stderr()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert!(error.contains("TLS handshake"), "{error}");
    assert!(bundle_of(&status(&untrusted).await).revision.is_empty());
}
