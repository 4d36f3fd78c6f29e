//! Every limit: batch size, columns, message size, concurrency, deadlines, and an
//! unwritable decision log.

use std::time::Duration;

use charter_proto::v1 as pb;
use tonic::Code;

use super::harness::{Options, analyst_request, spawn};

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

    // tonic refuses an oversized message before decoding it, with OUT_OF_RANGE.
    let mut big = analyst_request();
    big.purpose = "x".repeat(4096);
    let status = client.check_access(big).await.unwrap_err();
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
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
async fn an_unwritable_decision_log_is_unavailable() {
    let server = spawn(Options {
        decision_log: Some("/dev/full".into()),
        ..Options::default()
    });
    let mut client = server.client().await;
    for _ in 0..2 {
        let status = client.check_access(analyst_request()).await.unwrap_err();
        assert_eq!(status.code(), Code::Unavailable, "{status:?}");
        assert!(status.message().contains("decision log"));
    }
    // Status and contract checks do not hand out decisions: still served.
    client.get_status(pb::GetStatusRequest {}).await.unwrap();
}
