//! Soak: mixed calls (CheckAccess, CheckAccessBatch, EvaluateContract, health, GetStatus)
//! from several clients at a steady, modest rate while the policy pack is swapped between
//! two valid versions by SIGHUP every few seconds. No call may fail, every decision must
//! be logged, and the server's resident memory must not keep growing.
//!
//! Ignored by default: it runs ten minutes, or `CHARTER_SOAK_SECS` seconds:
//! `CHARTER_SOAK_SECS=20 cargo test -p charter-cli --test serve soak -- --ignored --nocapture`

use std::collections::HashSet;
use std::sync::Arc;
use std::time::{Duration, Instant};

use charter_proto::v1 as pb;
use charter_proto::v1::decision_service_client::DecisionServiceClient;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::harness::{Options, analyst_request, principal, request, spawn};

/// Concurrent clients, each on its own connection.
const CLIENTS: u64 = 4;
/// Calls a second per client: 100 in all, far below the default limit of 256 at once.
const PER_CLIENT_PER_SEC: u64 = 25;
/// Requests in each CheckAccessBatch call.
const BATCH: usize = 5;
/// A reload this often, alternating between the two packs.
const RELOAD_EVERY: Duration = Duration::from_secs(3);
/// The longest any call may take before it counts as failed.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

const KINDS: [&str; 5] = [
    "CheckAccess",
    "CheckAccessBatch",
    "EvaluateContract",
    "health",
    "GetStatus",
];

#[derive(Default)]
struct Tally {
    calls: [u64; 5],
    failed: u64,
    first_failures: Vec<String>,
    decisions: usize,
    revisions: HashSet<String>,
    latencies_us: Vec<u64>,
}

impl Tally {
    fn merge(&mut self, other: Self) {
        for (mine, theirs) in self.calls.iter_mut().zip(other.calls) {
            *mine += theirs;
        }
        self.failed += other.failed;
        self.first_failures.extend(other.first_failures);
        self.decisions += other.decisions;
        self.revisions.extend(other.revisions);
        self.latencies_us.extend(other.latencies_us);
    }
}

/// The server's resident set, in KiB, from `/proc/<pid>/status`.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or_else(|| panic!("no VmRSS in /proc/{pid}/status"))
}

/// A varied but always well-formed access request.
fn access_request(i: u64) -> pb::AccessRequest {
    match i % 4 {
        0 => analyst_request(),
        1 => request(
            principal("pat", &["analyst", "pii-reader"]),
            "orders.order_events",
            &["order_id", "customer_id"],
        ),
        2 => request(principal("eve", &["analyst"]), "nope.nothing", &[]),
        _ => {
            let mut explained = analyst_request();
            explained.explain = true;
            explained
        }
    }
}

/// One call of the mix: 12 in 20 CheckAccess, 3 batches, 2 contract evaluations,
/// 2 health checks, 1 GetStatus.
async fn one_call(
    i: u64,
    decisions: &mut DecisionServiceClient<Channel>,
    health: &mut HealthClient<Channel>,
    contract: &[u8],
    tally: &mut Tally,
) -> (usize, Result<(), String>) {
    let kind = match i % 20 {
        0..=11 => 0,
        12..=14 => 1,
        15..=16 => 2,
        17..=18 => 3,
        _ => 4,
    };
    let result = match kind {
        0 => match decisions.check_access(access_request(i)).await {
            Ok(answer) => {
                let decision = answer.into_inner();
                tally.decisions += 1;
                tally.revisions.insert(decision.revision);
                if decision.decision == pb::Outcome::Unspecified as i32 {
                    Err("an unspecified outcome".to_owned())
                } else {
                    Ok(())
                }
            }
            Err(status) => Err(format!("{status:?}")),
        },
        1 => {
            let batch = pb::AccessBatchRequest {
                requests: (0..BATCH as u64).map(|k| access_request(i + k)).collect(),
            };
            match decisions.check_access_batch(batch).await {
                Ok(answer) => {
                    let answers = answer.into_inner().decisions;
                    tally.decisions += answers.len();
                    if answers.len() == BATCH
                        && answers
                            .iter()
                            .all(|d| d.decision != pb::Outcome::Unspecified as i32)
                    {
                        Ok(())
                    } else {
                        Err(format!("a bad batch answer: {answers:?}"))
                    }
                }
                Err(status) => Err(format!("{status:?}")),
            }
        }
        2 => match decisions
            .evaluate_contract(pb::EvaluateContractRequest {
                contract: contract.to_vec(),
                file_name: "domains/orders/order_events.yaml".into(),
            })
            .await
        {
            Ok(answer) if answer.get_ref().product_id == "orders.order_events" => Ok(()),
            Ok(answer) => Err(format!("a bad evaluation: {:?}", answer.into_inner())),
            Err(status) => Err(format!("{status:?}")),
        },
        3 => match health
            .check(HealthCheckRequest {
                service: "charter.v1.DecisionService".into(),
            })
            .await
        {
            Ok(answer) if answer.get_ref().status == ServingStatus::Serving as i32 => Ok(()),
            Ok(answer) => Err(format!("health: {:?}", answer.into_inner())),
            Err(status) => Err(format!("{status:?}")),
        },
        _ => decisions
            .get_status(pb::GetStatusRequest {})
            .await
            .map(|_| ())
            .map_err(|status| format!("{status:?}")),
    };
    (kind, result)
}

/// One client: a call every 1/PER_CLIENT_PER_SEC s until `until`.
async fn client(id: u64, channel: Channel, until: Instant, contract: Arc<Vec<u8>>) -> Tally {
    let mut decisions = DecisionServiceClient::new(channel.clone());
    let mut health = HealthClient::new(channel);
    let mut tick = tokio::time::interval(Duration::from_micros(1_000_000 / PER_CLIENT_PER_SEC));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut tally = Tally::default();
    let mut i = id * 7;
    while Instant::now() < until {
        tick.tick().await;
        i += 1;
        let asked = Instant::now();
        let call = one_call(i, &mut decisions, &mut health, &contract, &mut tally);
        let (kind, result) = match tokio::time::timeout(CALL_TIMEOUT, call).await {
            Ok(done) => done,
            Err(_) => (
                usize::MAX,
                Err(format!("no answer within {CALL_TIMEOUT:?}")),
            ),
        };
        tally
            .latencies_us
            .push(u64::try_from(asked.elapsed().as_micros()).unwrap_or(u64::MAX));
        if let Some(count) = tally.calls.get_mut(kind) {
            *count += 1;
        }
        if let Err(error) = result {
            tally.failed += 1;
            if tally.first_failures.len() < 5 {
                let what = KINDS.get(kind).copied().unwrap_or("a call");
                tally.first_failures.push(format!("{what}: {error}"));
            }
        }
    }
    tally
}

fn percentile(sorted: &[u64], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    #[allow(
        clippy::cast_precision_loss,
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        reason = "an index into a list far shorter than 2^52"
    )]
    let at = ((sorted.len() - 1) as f64 * p).round() as usize;
    Duration::from_micros(sorted[at])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a ten-minute soak; run with --ignored (CHARTER_SOAK_SECS=20 shortens it)"]
async fn soak_mixed_calls_while_the_pack_is_reloaded() {
    let secs: u64 = std::env::var("CHARTER_SOAK_SECS").ok().map_or(600, |s| {
        s.parse().expect("CHARTER_SOAK_SECS: whole seconds")
    });
    let length = Duration::from_secs(secs);
    let warm_up = (length / 10).clamp(Duration::from_secs(5), Duration::from_secs(30));
    let server = spawn(Options {
        policies: true,
        args: vec!["--watch-interval".into(), "0s".into()],
        ..Options::default()
    });
    let pid = server.child.id();

    // Two valid packs: as copied, and the same with one Cedar file changed.
    let cedar = server.policies().join("cedar/products.cedar");
    let pack_a = std::fs::read_to_string(&cedar).unwrap();
    let pack_b = format!("{pack_a}\n// The second pack of the soak test.\n");
    let contract =
        Arc::new(std::fs::read(server.mesh().join("domains/orders/order_events.yaml")).unwrap());

    let started = Instant::now();
    let until = started + length;
    let mut clients = Vec::new();
    for id in 0..CLIENTS {
        let channel = server.channel().await;
        clients.push(tokio::spawn(client(
            id,
            channel,
            until,
            Arc::clone(&contract),
        )));
    }

    // Reload every few seconds; each must succeed. Sample memory after the warm-up.
    let mut status_client = server.client().await;
    let mut last_reload_at = String::new();
    let (mut reloads, mut rss_start, mut rss_max) = (0_u32, None, 0);
    while Instant::now() + RELOAD_EVERY < until {
        tokio::time::sleep(RELOAD_EVERY).await;
        reloads += 1;
        let pack = if reloads % 2 == 1 { &pack_b } else { &pack_a };
        std::fs::write(&cedar, pack).unwrap();
        server.signal("HUP");
        let asked = Instant::now();
        loop {
            let status = status_client
                .get_status(pb::GetStatusRequest {})
                .await
                .unwrap()
                .into_inner();
            if let Some(reload) = status.last_reload
                && reload.at != last_reload_at
            {
                assert!(reload.ok, "reload {reloads} failed: {}", reload.error);
                last_reload_at = reload.at;
                break;
            }
            assert!(
                asked.elapsed() < Duration::from_secs(60),
                "reload {reloads} never finished"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let rss = rss_kib(pid);
        rss_max = rss_max.max(rss);
        if rss_start.is_none() && started.elapsed() >= warm_up {
            rss_start = Some(rss);
        }
    }

    let mut tally = Tally::default();
    for client in clients {
        tally.merge(client.await.unwrap());
    }
    let elapsed = started.elapsed();
    let rss_end = rss_kib(pid);
    rss_max = rss_max.max(rss_end);
    let rss_start = rss_start.unwrap_or(rss_end);
    tally.latencies_us.sort_unstable();
    let total: u64 = tally.calls.iter().sum::<u64>() + tally.failed;
    let mix: Vec<String> = KINDS
        .iter()
        .zip(tally.calls)
        .map(|(kind, n)| format!("{kind} {n}"))
        .collect();
    #[allow(clippy::cast_precision_loss, reason = "a rate for people to read")]
    let rate = total as f64 / elapsed.as_secs_f64();
    eprintln!(
        "soak: {elapsed:.1?}, {total} calls ({}), {rate:.1} calls/s, {} failed; \
         {} decisions from {} revisions; {reloads} reloads; \
         latency p50 {:?} p99 {:?} max {:?}; \
         RSS {rss_start} KiB after the {warm_up:?} warm-up, {rss_end} KiB at the end, {rss_max} KiB at most",
        mix.join(", "),
        tally.failed,
        tally.decisions,
        tally.revisions.len(),
        percentile(&tally.latencies_us, 0.5),
        percentile(&tally.latencies_us, 0.99),
        percentile(&tally.latencies_us, 1.0),
    );

    assert_eq!(
        tally.failed, 0,
        "failed calls, the first: {:#?}",
        tally.first_failures
    );
    assert!(total > 0);
    assert!(reloads >= 2, "{reloads} reloads");
    assert!(
        tally.revisions.len() >= 2,
        "decisions came from both packs: {:?}",
        tally.revisions
    );
    assert!(
        rss_end * 2 <= rss_start * 3 + 2 * 20 * 1024,
        "the server grew from {rss_start} KiB to {rss_end} KiB"
    );

    // Every decision handed out is in the log, and the server stops cleanly.
    let (exit, server) = tokio::task::spawn_blocking(move || server.stop())
        .await
        .unwrap();
    assert!(exit.success(), "exit {exit}:\n{}", server.stderr());
    let logged = std::fs::read_to_string(server.log_path())
        .unwrap()
        .lines()
        .count();
    assert_eq!(logged, tally.decisions, "decisions answered vs logged");
    let stderr = server.stderr();
    assert!(!stderr.to_lowercase().contains("panic"), "{stderr}");
}
