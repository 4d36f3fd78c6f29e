//! Reloads by SIGHUP and by file watching; a broken pack keeps the last good snapshot.

use std::time::{Duration, Instant};

use charter_proto::v1 as pb;
use charter_proto::v1::decision_service_client::DecisionServiceClient;
use tonic::transport::Channel;

use super::harness::{Options, analyst_request, spawn};

async fn status(client: &mut DecisionServiceClient<Channel>) -> pb::Status {
    client
        .get_status(pb::GetStatusRequest {})
        .await
        .unwrap()
        .into_inner()
}

/// Polls GetStatus (bounded: 20 s) until `done` holds.
async fn wait_status(
    client: &mut DecisionServiceClient<Channel>,
    done: impl Fn(&pb::Status) -> bool,
) -> pb::Status {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let now = status(client).await;
        if done(&now) {
            return now;
        }
        assert!(Instant::now() < deadline, "status never changed: {now:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_reloads_and_a_broken_pack_keeps_the_last_good_snapshot() {
    let server = spawn(Options {
        policies: true,
        args: vec!["--watch-interval".into(), "0s".into()],
        ..Options::default()
    });
    let mut client = server.client().await;
    let before = status(&mut client).await;

    // Good: one contract fewer.
    std::fs::remove_file(server.mesh().join("domains/billing/refunds.yaml")).unwrap();
    server.signal("HUP");
    let after = wait_status(&mut client, |s| s.last_reload.is_some()).await;
    let reload = after.last_reload.clone().unwrap();
    assert!(reload.ok, "{reload:?}");
    assert_eq!(reload.trigger, "sighup");
    assert_eq!(after.product_count, before.product_count - 1);
    assert_ne!(after.revision, before.revision);
    let decision = client
        .check_access(analyst_request())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision.revision, after.revision);

    // Broken: a Cedar file that does not parse.
    let cedar = std::fs::read_dir(server.policies().join("cedar"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| p.extension().is_some_and(|e| e == "cedar"))
        .unwrap();
    std::fs::write(
        &cedar,
        "permit(principal, action, resource) when { this is not cedar",
    )
    .unwrap();
    server.signal("HUP");
    let broken = wait_status(&mut client, |s| {
        s.last_reload.as_ref().is_some_and(|r| !r.ok)
    })
    .await;
    assert!(!broken.last_reload.unwrap().error.is_empty());
    assert_eq!(
        broken.revision, after.revision,
        "the last good snapshot is still served"
    );
    let decision = client
        .check_access(analyst_request())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision.decision, pb::Outcome::Allow as i32);
    assert_eq!(decision.revision, after.revision);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn file_changes_reload_after_the_debounce() {
    let server = spawn(Options {
        policies: true,
        args: vec!["--watch-interval".into(), "100ms".into()],
        ..Options::default()
    });
    let mut client = server.client().await;
    let before = status(&mut client).await;
    std::fs::remove_file(server.mesh().join("domains/billing/refunds.yaml")).unwrap();
    let after = wait_status(&mut client, |s| s.product_count == before.product_count - 1).await;
    assert_eq!(after.last_reload.unwrap().trigger, "watch");
}
