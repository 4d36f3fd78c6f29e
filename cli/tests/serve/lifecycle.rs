//! Graceful shutdown with the decision log intact, metrics, and reloads under load.

use std::collections::HashSet;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use charter_proto::v1 as pb;

use super::harness::{Options, analyst_request, free_port, scrape_metrics, spawn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_in_flight_calls_and_keeps_every_decision() {
    let metrics_port = free_port();
    let server = spawn(Options {
        args: vec![
            "--metrics-listen".into(),
            format!("127.0.0.1:{metrics_port}"),
            "--max-batch".into(),
            "1000".into(),
        ],
        ..Options::default()
    });
    let client = server.client().await;
    let mut ids = HashSet::new();
    for _ in 0..20 {
        let decision = client
            .clone()
            .check_access(analyst_request())
            .await
            .unwrap()
            .into_inner();
        ids.insert(decision.decision_id);
    }

    // Metrics, in Prometheus text.
    let text = scrape_metrics(metrics_port);
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains(r#"charter_grpc_requests_total{rpc="CheckAccess",code="ok"} 20"#),
        "{text}"
    );
    assert!(
        text.contains("charter_grpc_request_duration_seconds_bucket"),
        "{text}"
    );
    assert!(
        text.contains(r#"charter_decisions_total{effect="allow"} 20"#),
        "{text}"
    );
    assert!(
        text.contains(r#"charter_column_decisions_total{effect="mask"} 20"#),
        "{text}"
    );
    assert!(text.contains("charter_decision_log_backlog"), "{text}");

    // Big batches in flight when SIGTERM arrives.
    let mut calls = Vec::new();
    for _ in 0..4 {
        let mut client = client.clone();
        calls.push(tokio::spawn(async move {
            client
                .check_access_batch(pb::AccessBatchRequest {
                    requests: vec![analyst_request(); 1000],
                })
                .await
        }));
    }
    tokio::time::sleep(Duration::from_millis(30)).await;
    let (status, server) = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert!(status.success(), "exit {status}:\n{}", server.stderr());
    for call in calls {
        match call.await.unwrap() {
            Ok(answer) => ids.extend(
                answer
                    .into_inner()
                    .decisions
                    .into_iter()
                    .map(|d| d.decision_id),
            ),
            // A call the server had not accepted before it stopped listening.
            Err(status) => assert!(
                matches!(
                    status.code(),
                    tonic::Code::Unavailable | tonic::Code::Cancelled
                ),
                "{status:?}"
            ),
        }
    }
    let logged: HashSet<String> = server
        .log_lines()
        .iter()
        .map(|l| l["decision_id"].as_str().unwrap().to_owned())
        .collect();
    assert!(
        ids.is_subset(&logged),
        "{} answered decisions missing from the log",
        ids.difference(&logged).count()
    );
    assert!(server.stderr().contains("decision log flushed"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reloads_under_load_fail_no_request() {
    let server = spawn(Options {
        policies: true,
        args: vec!["--watch-interval".into(), "0s".into()],
        ..Options::default()
    });
    let client = server.client().await;
    let stop = Arc::new(AtomicBool::new(false));
    let served = Arc::new(AtomicU64::new(0));
    let revisions = Arc::new(std::sync::Mutex::new(HashSet::new()));
    let mut workers = Vec::new();
    for _ in 0..4 {
        let (mut client, stop, served, revisions) = (
            client.clone(),
            stop.clone(),
            served.clone(),
            revisions.clone(),
        );
        workers.push(tokio::spawn(async move {
            let deadline = Instant::now() + Duration::from_secs(30);
            while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
                let decision = client.check_access(analyst_request()).await?.into_inner();
                assert_eq!(decision.decision, pb::Outcome::Allow as i32);
                revisions.lock().unwrap().insert(decision.revision);
                served.fetch_add(1, Ordering::Relaxed);
            }
            Ok::<(), tonic::Status>(())
        }));
    }
    let moved = server.mesh().join("domains/billing/refunds.yaml");
    let aside = server.dir.path().join("refunds.yaml");
    let mut status_client = client.clone();
    for round in 0..8 {
        if round % 2 == 0 {
            std::fs::rename(&moved, &aside).unwrap();
        } else {
            std::fs::rename(&aside, &moved).unwrap();
        }
        server.signal("HUP");
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
    stop.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap().unwrap();
    }
    let status = status_client
        .get_status(pb::GetStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(status.last_reload.unwrap().ok);
    assert!(
        served.load(Ordering::Relaxed) > 100,
        "{} served",
        served.load(Ordering::Relaxed)
    );
    assert!(
        revisions.lock().unwrap().len() >= 2,
        "decisions came from several snapshots"
    );
}
