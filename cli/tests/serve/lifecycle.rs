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
            "5000".into(),
            "--max-concurrency".into(),
            "4".into(),
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

    // Four big batches in flight, holding every slot, when SIGTERM arrives: each must be
    // answered in full. A batch refused because a probe held a slot is sent again.
    let send_batch = || {
        let mut client = client.clone();
        tokio::spawn(async move {
            client
                .check_access_batch(pb::AccessBatchRequest {
                    requests: vec![analyst_request(); 5000],
                })
                .await
        })
    };
    let mut calls: Vec<_> = (0..4).map(|_| send_batch()).collect();
    let mut probe = client.clone();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the batches never held every slot"
        );
        for call in &mut calls {
            if call.is_finished() {
                let refused = std::mem::replace(call, send_batch())
                    .await
                    .unwrap()
                    .unwrap_err();
                assert_eq!(
                    refused.code(),
                    tonic::Code::ResourceExhausted,
                    "{refused:?}"
                );
            }
        }
        match probe.check_access(analyst_request()).await {
            Ok(answer) => {
                ids.insert(answer.into_inner().decision_id);
            }
            Err(status) if status.code() == tonic::Code::ResourceExhausted => break,
            Err(status) => panic!("{status:?}"),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(
        calls.iter().all(|c| !c.is_finished()),
        "every batch is in flight"
    );
    let (status, server) = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert!(status.success(), "exit {status}:\n{}", server.stderr());
    for call in calls {
        let answer = call.await.unwrap().unwrap_or_else(|e| {
            panic!(
                "accepted before SIGTERM, so drained and answered: {e:?}\n{}",
                server.stderr()
            )
        });
        let decisions = answer.into_inner().decisions;
        assert_eq!(decisions.len(), 5000);
        ids.extend(decisions.into_iter().map(|d| d.decision_id));
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
            let deadline = Instant::now() + Duration::from_secs(600);
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
    let mut serving = status_client
        .get_status(pb::GetStatusRequest {})
        .await
        .unwrap()
        .into_inner()
        .revision;
    for round in 0..8 {
        if round % 2 == 0 {
            std::fs::rename(&moved, &aside).unwrap();
        } else {
            std::fs::rename(&aside, &moved).unwrap();
        }
        server.signal("HUP");
        // Each reload is awaited (a loaded machine may take seconds), then served a while.
        let waited = Instant::now();
        loop {
            let now = status_client
                .get_status(pb::GetStatusRequest {})
                .await
                .unwrap()
                .into_inner()
                .revision;
            if now != serving {
                serving = now;
                break;
            }
            assert!(
                waited.elapsed() < Duration::from_secs(60),
                "reload {round} was not served within 60 s"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
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
