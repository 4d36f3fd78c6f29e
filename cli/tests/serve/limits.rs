//! Every limit: batch size, columns, message size, concurrency, deadlines, and an
//! unwritable decision log. (Floods, vanishing clients and expired deadlines: hostile.rs.)

use std::time::{Duration, Instant};

use charter_proto::v1 as pb;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::harness::{Options, analyst_request, spawn};

/// `RESOURCE_EXHAUSTED`, naming the limit and the flag that sets it.
fn assert_too_big(status: &tonic::Status, limit: usize) {
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    assert!(
        status
            .message()
            .contains(&format!("limit of {limit} bytes"))
            && status.message().contains("--max-message-bytes"),
        "{}",
        status.message()
    );
}

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn batch_columns_and_message_size() {
    let server = spawn(Options {
        args: args(&[
            "--max-batch",
            "2",
            "--max-columns",
            "3",
            "--max-message-bytes",
            "2048",
        ]),
        ..Options::default()
    });
    let mut client = server.client().await;
    let batch = pb::AccessBatchRequest {
        requests: vec![analyst_request(); 3],
    };
    let status = client.check_access_batch(batch).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("requests:"),
        "{}",
        status.message()
    );
    let ok = pb::AccessBatchRequest {
        requests: vec![analyst_request(); 2],
    };
    assert_eq!(
        client
            .check_access_batch(ok)
            .await
            .unwrap()
            .into_inner()
            .decisions
            .len(),
        2
    );

    let mut wide = analyst_request();
    wide.columns = vec!["order_id".into(); 4];
    let status = client.check_access(wide).await.unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(
        status.message().starts_with("columns:"),
        "{}",
        status.message()
    );

    // An oversized message is refused before it is decoded: RESOURCE_EXHAUSTED, as
    // grpc-go and grpc-java say it (tonic alone says OUT_OF_RANGE), on every RPC.
    let mut big = analyst_request();
    big.purpose = "x".repeat(4096);
    let status = client.check_access(big.clone()).await.unwrap_err();
    assert_too_big(&status, 2048);
    assert!(status.message().contains("of 4"), "{}", status.message());
    let status = client
        .check_access_batch(pb::AccessBatchRequest {
            requests: vec![big; 1],
        })
        .await
        .unwrap_err();
    assert_too_big(&status, 2048);
    let status = client
        .evaluate_contract(pb::EvaluateContractRequest {
            contract: vec![b'#'; 3000],
            file_name: String::new(),
        })
        .await
        .unwrap_err();
    assert_too_big(&status, 2048);
    // A message just under the limit is fine, and the connection is still good.
    client.check_access(analyst_request()).await.unwrap();
    assert_eq!(
        server.log_lines().len(),
        2 + 1,
        "only the answered decisions"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_message_is_refused_promptly_and_the_server_carries_on() {
    let server = spawn(Options::default());
    let mut client = server.client().await;
    // 64 MiB against the default limit of 4 MiB: refused from the length prefix, without
    // waiting for (or buffering) the rest.
    let asked = Instant::now();
    let status = client
        .evaluate_contract(pb::EvaluateContractRequest {
            contract: vec![b'#'; 64 * 1024 * 1024],
            file_name: String::new(),
        })
        .await
        .unwrap_err();
    assert_too_big(&status, 4 * 1024 * 1024);
    assert!(
        asked.elapsed() < Duration::from_secs(20),
        "{:?}",
        asked.elapsed()
    );
    let mut wide = analyst_request();
    wide.columns = vec!["order_id".into(); 500_000];
    let status = client.check_access(wide).await.unwrap_err();
    assert_too_big(&status, 4 * 1024 * 1024);
    client.check_access(analyst_request()).await.unwrap();
    let mut fresh = server.client().await;
    fresh.check_access(analyst_request()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn beyond_max_concurrency_is_resource_exhausted() {
    let server = spawn(Options {
        args: args(&["--max-concurrency", "1", "--max-batch", "1000"]),
        ..Options::default()
    });
    let client = server.client().await;
    let mut calls = Vec::new();
    for _ in 0..24 {
        let mut client = client.clone();
        calls.push(tokio::spawn(async move {
            let batch = pb::AccessBatchRequest {
                requests: vec![analyst_request(); 500],
            };
            client
                .check_access_batch(batch)
                .await
                .map(|_| ())
                .map_err(|s| s.code())
        }));
    }
    let mut exhausted = 0;
    let mut ok = 0;
    for call in calls {
        match call.await.unwrap() {
            Ok(()) => ok += 1,
            Err(Code::ResourceExhausted) => exhausted += 1,
            Err(other) => panic!("unexpected {other:?}"),
        }
    }
    assert!(ok >= 1, "some calls are served");
    assert!(
        exhausted >= 1,
        "some calls are refused at once ({ok} served)"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_callers_deadline_is_respected() {
    let server = spawn(Options {
        args: args(&["--max-batch", "5000"]),
        ..Options::default()
    });
    let mut client = server.client().await;
    let mut call = tonic::Request::new(pb::AccessBatchRequest {
        requests: vec![analyst_request(); 5000],
    });
    call.set_timeout(Duration::from_millis(1));
    let status = client.check_access_batch(call).await.unwrap_err();
    assert!(
        matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
        "{status:?}"
    );
    // The server is still fine.
    client.check_access(analyst_request()).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_under_the_decision_log_is_unavailable() {
    // /dev/full: opening works, every write fails with ENOSPC, as on a full disk.
    let server = spawn(Options {
        decision_log: Some("/dev/full".into()),
        ..Options::default()
    });
    let mut client = server.client().await;
    let mut health = HealthClient::new(server.channel().await);
    let health_of = |service: &str| HealthCheckRequest {
        service: service.into(),
    };
    let serving = health
        .check(health_of("charter.v1.DecisionService"))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(serving.status, ServingStatus::Serving as i32);
    // No decision goes out unlogged: the first call's write fails, and from then on the
    // log is broken for good (every decision call refused before deciding).
    for _ in 0..3 {
        let status = client.check_access(analyst_request()).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(status.message().contains("decision log"), "{status:?}");
        let status = client
            .check_access_batch(pb::AccessBatchRequest {
                requests: vec![analyst_request(); 20],
            })
            .await
            .unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
    }
    // Health answers promptly: the server is up ("" SERVING), the decision service is
    // not (NOT_SERVING), so a balancer routes decisions elsewhere.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let asked = Instant::now();
        let service = health
            .check(health_of("charter.v1.DecisionService"))
            .await
            .unwrap()
            .into_inner();
        assert!(asked.elapsed() < Duration::from_secs(3));
        if service.status == ServingStatus::NotServing as i32 {
            break;
        }
        assert!(Instant::now() < deadline, "still {service:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let overall = health.check(health_of("")).await.unwrap().into_inner();
    assert_eq!(overall.status, ServingStatus::Serving as i32);
    // Status and contract checks do not hand out decisions: still served.
    client.get_status(pb::GetStatusRequest {}).await.unwrap();
    let contract = std::fs::read(server.mesh().join("domains/orders/order_events.yaml")).unwrap();
    client
        .evaluate_contract(pb::EvaluateContractRequest {
            contract,
            file_name: "order_events.yaml".into(),
        })
        .await
        .unwrap();
    assert!(
        server
            .stderr()
            .contains("the decision log cannot be written")
    );
}

/// The contract limits of `check` and `report` hold for `EvaluateContract` too: a
/// contract over one is a `contract/parse` finding naming the flag, not an error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn contract_limits_apply_to_evaluate_contract() {
    let server = spawn(Options {
        args: args(&["--max-file-size", "2000", "--max-depth", "3"]),
        ..Options::default()
    });
    let mut client = server.client().await;
    let contract = std::fs::read(
        super::harness::repo().join("testdata/mesh/domains/orders/order_events.yaml"),
    )
    .unwrap();
    assert!(contract.len() > 2000);
    let evaluate = |bytes: Vec<u8>| pb::EvaluateContractRequest {
        contract: bytes,
        file_name: "order_events.yaml".into(),
    };
    let big = client
        .evaluate_contract(evaluate(contract.clone()))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(big.findings.len(), 1, "{big:?}");
    assert_eq!(big.findings[0].rule, "contract/parse");
    assert!(
        big.findings[0].message.contains("--max-file-size"),
        "{}",
        big.findings[0].message
    );
    let deep = b"apiVersion: datamesh.io/v1\nkind: DataProduct\nmetadata: {a: {b: {c: 1}}}\n";
    let deep = client
        .evaluate_contract(evaluate(deep.to_vec()))
        .await
        .unwrap()
        .into_inner();
    assert!(
        deep.findings.iter().any(|f| f.rule == "contract/parse"
            && f.message.contains("--max-depth")
            && f.line == 3),
        "{deep:?}"
    );
}
