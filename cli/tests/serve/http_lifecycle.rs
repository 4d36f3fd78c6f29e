//! The HTTP listener under pressure and at shutdown: `--max-concurrency` refuses with 429
//! naming the flag, and SIGTERM drains HTTP calls in flight, every decision logged.

use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::harness::{Options, Server, free_port, spawn};
use super::trino::call;

/// A Trino `FilterTables` listing of `items` tables by a member of the owning team, as the
/// plugin posts it.
fn listing(items: usize) -> String {
    let table = json!({"table": {"catalogName": "lake", "schemaName": "orders", "tableName": "order_events"}});
    json!({"input": {
        "context": {"identity": {"user": "olga", "groups": ["team-orders@acme.example"]}, "softwareStack": {"trinoVersion": "476"}},
        "action": {"operation": "FilterTables", "filterResources": vec![table; items]},
    }})
    .to_string()
}

fn start(max_concurrency: &str) -> (Server, u16) {
    let http = free_port();
    let server = spawn(Options {
        args: vec![
            "--http-listen".to_owned(),
            format!("127.0.0.1:{http}"),
            "--max-concurrency".to_owned(),
            max_concurrency.to_owned(),
            "--max-batch".to_owned(),
            "20000".to_owned(),
            "--max-message-bytes".to_owned(),
            "16777216".to_owned(),
            // A loaded machine decides two debug-build listings slowly: the drain is what
            // is tested here, not its speed.
            "--drain-timeout".to_owned(),
            "120s".to_owned(),
        ],
        ..Options::default()
    });
    (server, http)
}

fn send_listing(http: u16, items: usize) -> JoinHandle<(u16, Value)> {
    let body = listing(items);
    std::thread::spawn(move || call(http, "POST", "/v1/data/charter/trino/batch", &body, &[]))
}

#[test]
fn beyond_max_concurrency_is_429_naming_the_flag() {
    let (_server, http) = start("1");
    let calls: Vec<_> = (0..16).map(|_| send_listing(http, 4000)).collect();
    let (mut served, mut refused) = (0, 0);
    for call in calls {
        let (status, body) = call.join().unwrap();
        match status {
            200 => {
                served += 1;
                assert_eq!(
                    body["result"].as_array().map(Vec::len),
                    Some(4000),
                    "{body}"
                );
            }
            429 => {
                refused += 1;
                assert!(
                    body["error"]
                        .as_str()
                        .unwrap()
                        .contains("--max-concurrency"),
                    "{body}"
                );
            }
            other => panic!("unexpected {other}: {body}"),
        }
    }
    assert!(served >= 1, "some calls are served");
    assert!(
        refused >= 1,
        "some calls are refused at once ({served} served)"
    );
}

#[test]
fn sigterm_drains_http_calls_in_flight_and_logs_every_decision() {
    const ITEMS: usize = 5000;
    let (server, http) = start("2");
    let answered = |status: u16, body: &Value| -> usize {
        match status {
            200 => body["result"].as_array().map_or(0, Vec::len),
            429 => 0,
            other => panic!("unexpected {other}: {body}"),
        }
    };
    // Two big listings hold both slots when SIGTERM arrives (a probe refused with 429 says
    // so); a listing refused because the probe held a slot is sent again.
    let mut served = 0;
    let mut calls: Vec<_> = (0..2).map(|_| send_listing(http, ITEMS)).collect();
    let probe = listing(1);
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(
            Instant::now() < deadline,
            "the listings never held every slot"
        );
        for slot in &mut calls {
            if slot.is_finished() {
                let (status, body) = std::mem::replace(slot, send_listing(http, ITEMS))
                    .join()
                    .unwrap();
                served += answered(status, &body);
            }
        }
        let (status, body) = call(http, "POST", "/v1/data/charter/trino/batch", &probe, &[]);
        if status == 429 {
            break;
        }
        served += answered(status, &body);
        std::thread::sleep(Duration::from_millis(2));
    }
    let (status, server) = server.stop();
    assert!(status.success(), "exit {status}:\n{}", server.stderr());
    // The probe's 429 proves both listings had been admitted: each is answered in full.
    for slot in calls {
        let Ok((status, body)) = slot.join() else {
            panic!(
                "a listing got no answer; the server said:\n{}",
                server.stderr()
            );
        };
        assert_eq!(status, 200, "admitted before SIGTERM, so drained: {body}");
        assert_eq!(body["result"].as_array().map(Vec::len), Some(ITEMS));
        served += ITEMS;
    }
    let logged = server
        .log_lines()
        .iter()
        .filter(|l| l["rpc"] == "trino/batch")
        .count();
    assert_eq!(logged, served, "every answered listing item is in the log");
    assert!(server.stderr().contains("decision log flushed"));
}
