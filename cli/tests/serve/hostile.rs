//! Hostile callers: a flood beyond the concurrency limit, clients that vanish mid-call,
//! raw HTTP/2 with deadlines already passed. The server must refuse cleanly, hand out no
//! decision it has not logged, keep answering health, and keep serving.

use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use charter_proto::v1 as pb;
use charter_proto::v1::decision_service_client::DecisionServiceClient;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::harness::{Options, Server, analyst_request, free_port, scrape_metrics, spawn};

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

/// The process is alive, health says SERVING, a decision is answered, and nothing panicked.
async fn still_serving(server: &mut Server) {
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "the server died:\n{}",
        server.stderr()
    );
    let mut health = HealthClient::new(server.channel().await);
    let answer = tokio::time::timeout(
        Duration::from_secs(5),
        health.check(HealthCheckRequest {
            service: "charter.v1.DecisionService".into(),
        }),
    )
    .await
    .expect("health answers")
    .unwrap()
    .into_inner();
    assert_eq!(answer.status, ServingStatus::Serving as i32);
    // An abandoned batch the server decoded late may still hold a slot (its work runs to
    // the end): RESOURCE_EXHAUSTED until it is done is fine, anything else is not.
    let mut client = server.client().await;
    let started = Instant::now();
    let decision = loop {
        match client.check_access(analyst_request()).await {
            Ok(answer) => break answer.into_inner(),
            Err(status)
                if status.code() == Code::ResourceExhausted
                    && started.elapsed() < Duration::from_secs(60) =>
            {
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            Err(status) => panic!("{status:?}"),
        }
    };
    assert_eq!(decision.decision, pb::Outcome::Allow as i32);
    let stderr = server.stderr();
    assert!(
        !stderr.to_lowercase().contains("panic"),
        "the server logged a panic:\n{stderr}"
    );
}

/// Polls (bounded: 60 s) until `slots` calls at once, each on its own connection, are all
/// served; meanwhile only RESOURCE_EXHAUSTED is acceptable (abandoned work still holding
/// its slots).
async fn all_served_at_once(server: &Server, slots: usize) -> Duration {
    let mut clients = Vec::new();
    for _ in 0..slots {
        clients.push(server.client().await);
    }
    let started = Instant::now();
    loop {
        let calls: Vec<_> = clients
            .iter()
            .map(|client| {
                let mut client = client.clone();
                tokio::spawn(async move { client.check_access(analyst_request()).await })
            })
            .collect();
        let mut all = true;
        for call in calls {
            match call.await.unwrap() {
                Ok(_) => {}
                Err(status) if status.code() == Code::ResourceExhausted => all = false,
                Err(status) => panic!("{status:?}"),
            }
        }
        if all {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "the slots never came back"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_beyond_max_concurrency_is_refused_while_health_stays_prompt() {
    let mut server = spawn(Options {
        args: args(&["--max-concurrency", "2", "--max-batch", "1000"]),
        ..Options::default()
    });
    let stop = Arc::new(AtomicBool::new(false));
    let mut flooders = Vec::new();
    // 3 connections × 4 streams: 12 batch calls in flight against room for 2.
    for _ in 0..3 {
        let channel = server.channel().await;
        for _ in 0..4 {
            let mut client = DecisionServiceClient::new(channel.clone());
            let stop = Arc::clone(&stop);
            flooders.push(tokio::spawn(async move {
                let (mut served, mut refused, mut decisions) = (0_u64, 0_u64, 0_usize);
                while !stop.load(Ordering::Relaxed) {
                    let batch = pb::AccessBatchRequest {
                        requests: vec![analyst_request(); 100],
                    };
                    match client.check_access_batch(batch).await {
                        Ok(answer) => {
                            served += 1;
                            decisions += answer.into_inner().decisions.len();
                        }
                        Err(status) if status.code() == Code::ResourceExhausted => {
                            assert!(status.message().contains("calls at once"), "{status:?}");
                            refused += 1;
                        }
                        Err(status) => panic!("a flooded call failed otherwise: {status:?}"),
                    }
                }
                (served, refused, decisions)
            }));
        }
    }

    // Health, on its own connection, while the flood runs: SERVING, and promptly.
    let mut health = HealthClient::new(server.channel().await);
    let flood = Instant::now();
    let (mut slowest, mut checks) = (Duration::ZERO, 0);
    while flood.elapsed() < Duration::from_secs(4) {
        let asked = Instant::now();
        let answer = tokio::time::timeout(
            Duration::from_secs(10),
            health.check(HealthCheckRequest {
                service: "charter.v1.DecisionService".into(),
            }),
        )
        .await
        .expect("health answers during the flood")
        .unwrap()
        .into_inner();
        slowest = slowest.max(asked.elapsed());
        checks += 1;
        assert_eq!(answer.status, ServingStatus::Serving as i32);
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    stop.store(true, Ordering::Relaxed);
    let (mut served, mut refused, mut decisions) = (0, 0, 0);
    for flooder in flooders {
        let (s, r, d) = flooder.await.unwrap();
        served += s;
        refused += r;
        decisions += d;
    }
    eprintln!(
        "flood: {served} batches served, {refused} refused; {checks} health checks, slowest {slowest:?}"
    );
    assert!(served >= 1, "some calls are served");
    assert!(refused >= 1, "some calls are refused ({served} served)");
    assert!(
        slowest < Duration::from_secs(3),
        "a health check took {slowest:?} during the flood"
    );

    // After the flood every slot is free again: two calls at once are both served.
    let (mut a, mut b) = (server.client().await, server.client().await);
    let (first, second) = tokio::join!(
        a.check_access(analyst_request()),
        b.check_access(analyst_request())
    );
    first.unwrap();
    second.unwrap();
    still_serving(&mut server).await;
    // A refused call logs nothing; every decision handed out is logged.
    assert_eq!(server.log_lines().len(), decisions + 3);
}

/// Raw HTTP/2 (RFC 9113), just enough to send one gRPC call and see what comes back,
/// without a client library's own deadline handling in the way.
mod raw {
    use std::io::{Read, Write};
    use std::net::TcpStream;
    use std::time::{Duration, Instant};

    pub const PREFACE: &[u8] = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
    pub const DATA: u8 = 0;
    pub const HEADERS: u8 = 1;
    const RST_STREAM: u8 = 3;
    pub const SETTINGS: u8 = 4;
    const GOAWAY: u8 = 7;
    pub const END_STREAM: u8 = 0x1;
    pub const END_HEADERS: u8 = 0x4;

    pub fn frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
        let len = u32::try_from(payload.len()).unwrap();
        assert!(len < 1 << 24);
        let mut out = len.to_be_bytes()[1..].to_vec();
        out.extend([kind, flags]);
        out.extend(stream.to_be_bytes());
        out.extend(payload);
        out
    }

    /// An HPACK integer with an `n`-bit prefix.
    fn integer(out: &mut Vec<u8>, mut value: usize, n: u32, flags: u8) {
        let max = (1_usize << n) - 1;
        if value < max {
            out.push(flags | u8::try_from(value).unwrap());
            return;
        }
        out.push(flags | u8::try_from(max).unwrap());
        value -= max;
        while value >= 128 {
            out.push(u8::try_from(value % 128).unwrap() | 0x80);
            value /= 128;
        }
        out.push(u8::try_from(value).unwrap());
    }

    /// Header block of a gRPC call: literal fields without indexing, no Huffman.
    pub fn headers(port: u16, path: &str, timeout: Option<&str>) -> Vec<u8> {
        let authority = format!("127.0.0.1:{port}");
        let mut fields = vec![
            (":method", "POST"),
            (":scheme", "http"),
            (":path", path),
            (":authority", authority.as_str()),
            ("content-type", "application/grpc"),
            ("te", "trailers"),
        ];
        if let Some(timeout) = timeout {
            fields.push(("grpc-timeout", timeout));
        }
        let mut block = Vec::new();
        for (name, value) in fields {
            block.push(0);
            for text in [name, value] {
                integer(&mut block, text.len(), 7, 0);
                block.extend(text.as_bytes());
            }
        }
        block
    }

    /// A gRPC message: the 5-byte prefix (not compressed, length) and the bytes.
    pub fn message(bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![0];
        out.extend(u32::try_from(bytes.len()).unwrap().to_be_bytes());
        out.extend(bytes);
        out
    }

    /// A protobuf length-delimited field (tags and lengths below 128).
    pub fn field(tag: u8, bytes: &[u8]) -> Vec<u8> {
        let mut out = vec![tag << 3 | 2, u8::try_from(bytes.len()).unwrap()];
        out.extend(bytes);
        out
    }

    /// `analyst_request()`, encoded by hand: principal {id, roles}, product_id, columns.
    pub fn analyst_request() -> Vec<u8> {
        let principal = [field(1, b"ana"), field(2, b"analyst")].concat();
        [
            field(1, &principal),
            field(2, b"orders.order_events"),
            field(4, b"order_id"),
            field(4, b"customer_id"),
        ]
        .concat()
    }

    /// What the server sent back on stream 1.
    #[derive(Debug, Default)]
    pub struct Answer {
        /// Bytes of DATA (a response message) on the stream.
        pub data: usize,
        /// The stream ended (END_STREAM or RST_STREAM) rather than the connection.
        pub ended: bool,
    }

    /// Sends one unary call on a fresh connection and reads until stream 1 ends.
    pub fn call(port: u16, path: &str, timeout: Option<&str>, body: &[u8]) -> Answer {
        let mut tcp = TcpStream::connect(("127.0.0.1", port)).unwrap();
        tcp.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        let mut out = PREFACE.to_vec();
        out.extend(frame(SETTINGS, 0, 0, &[]));
        out.extend(frame(
            HEADERS,
            END_HEADERS,
            1,
            &headers(port, path, timeout),
        ));
        out.extend(frame(DATA, END_STREAM, 1, &message(body)));
        tcp.write_all(&out).unwrap();
        let mut answer = Answer::default();
        let mut buf = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            let mut chunk = [0; 16 * 1024];
            match tcp.read(&mut chunk) {
                Ok(0) => return answer,
                Ok(n) => buf.extend(&chunk[..n]),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => continue,
                Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
                Err(e) => panic!("{e}"),
            }
            while buf.len() >= 9 {
                let len =
                    usize::from(buf[0]) << 16 | usize::from(buf[1]) << 8 | usize::from(buf[2]);
                if buf.len() < 9 + len {
                    break;
                }
                let (kind, flags) = (buf[3], buf[4]);
                let stream = u32::from_be_bytes([buf[5], buf[6], buf[7], buf[8]]) & 0x7fff_ffff;
                if kind == SETTINGS && flags & 1 == 0 {
                    tcp.write_all(&frame(SETTINGS, 1, 0, &[])).unwrap();
                }
                if stream == 1 {
                    if kind == DATA {
                        answer.data += len;
                    }
                    if kind == RST_STREAM
                        || (matches!(kind, DATA | HEADERS) && flags & END_STREAM != 0)
                    {
                        answer.ended = true;
                        return answer;
                    }
                }
                if kind == GOAWAY {
                    return answer;
                }
                buf.drain(..9 + len);
            }
        }
        panic!("stream 1 never ended: {answer:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_vanish_mid_call_leave_the_server_serving() {
    let mut server = spawn(Options {
        args: args(&["--max-batch", "5000", "--max-concurrency", "4"]),
        ..Options::default()
    });

    // Calls abandoned in flight: each client (and its connection) dropped while its batch
    // is uploaded, decoded or decided.
    for round in 0..8_u64 {
        let mut client = server.client().await;
        let call = tokio::spawn(async move {
            client
                .check_access_batch(pb::AccessBatchRequest {
                    requests: vec![analyst_request(); 2000],
                })
                .await
        });
        tokio::time::sleep(Duration::from_millis(1 + round * 15)).await;
        call.abort();
        let _ = call.await;
    }
    // Their work holds its slots until it is done (see the next test), then they are free.
    let waited = all_served_at_once(&server, 4).await;
    eprintln!("every slot free {waited:?} after the last abandoned call");

    // Raw connections that stop half-way through something and close.
    let port = server.port;
    let preface = [raw::PREFACE, &raw::frame(raw::SETTINGS, 0, 0, &[])].concat();
    let call_headers = raw::frame(
        raw::HEADERS,
        raw::END_HEADERS,
        1,
        &raw::headers(port, "/charter.v1.DecisionService/CheckAccess", None),
    );
    let whole_message = raw::message(&raw::analyst_request());
    let mut truncated_data = raw::frame(raw::DATA, 0, 1, &whole_message);
    truncated_data.truncate(9 + 7);
    let mut huge_prefix = vec![0, 0xff, 0xff, 0xff, 0xf0];
    huge_prefix.extend([0; 64]);
    let halves: Vec<Vec<u8>> = vec![
        Vec::new(),
        b"\x16\x03\x01\x02\x00garbage that is not HTTP/2 at all".to_vec(),
        b"GET / HTTP/1.1\r\nhost: x\r\n\r\n".to_vec(),
        raw::PREFACE[..10].to_vec(),
        [preface.as_slice(), &[0, 0, 40, raw::HEADERS]].concat(),
        [preface.as_slice(), &call_headers[..call_headers.len() - 7]].concat(),
        [preface.as_slice(), &call_headers].concat(),
        [preface.as_slice(), &call_headers, &truncated_data].concat(),
        [
            preface.as_slice(),
            &call_headers,
            &raw::frame(raw::DATA, 0, 1, &huge_prefix),
        ]
        .concat(),
        // A frame far larger than the peer's max frame size.
        [
            preface.as_slice(),
            &[0xff, 0xff, 0xff, raw::DATA, 0, 0, 0, 0, 1],
        ]
        .concat(),
    ];
    for half in &halves {
        let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
        // The server may already have closed on garbage: a failed write is fine.
        let _ = tcp.write_all(half);
        std::thread::sleep(Duration::from_millis(20));
        drop(tcp);
    }
    // The same, all at once and left open while real calls are served.
    let open: Vec<_> = halves
        .iter()
        .map(|half| {
            let mut tcp = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
            let _ = tcp.write_all(half);
            tcp
        })
        .collect();
    still_serving(&mut server).await;
    drop(open);
    tokio::time::sleep(Duration::from_millis(100)).await;
    still_serving(&mut server).await;
    // Every slot came back: as many calls at once as the limit allows are all served.
    all_served_at_once(&server, 4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_call_dropped_mid_batch_keeps_its_slot_until_its_work_is_done() {
    let server = spawn(Options {
        args: args(&[
            "--max-concurrency",
            "1",
            "--max-batch",
            "100000",
            "--max-message-bytes",
            "67108864",
        ]),
        ..Options::default()
    });
    let mut probe = server.client().await;
    let big = server.client().await;
    let send_batch = || {
        let mut big = big.clone();
        tokio::spawn(async move {
            big.check_access_batch(pb::AccessBatchRequest {
                requests: vec![analyst_request(); 30_000],
            })
            .await
        })
    };
    let mut batch = send_batch();
    // Wait until the batch holds the only slot. A probe may hold it at the moment the
    // batch arrives: then the batch is refused, and sent again.
    let mut probes_served = 0;
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        assert!(Instant::now() < deadline, "the batch never took the slot");
        if batch.is_finished() {
            let refused = batch.await.unwrap().unwrap_err();
            assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
            batch = send_batch();
        }
        match probe.check_access(analyst_request()).await {
            Ok(_) => probes_served += 1,
            Err(status) if status.code() == Code::ResourceExhausted => break,
            Err(status) => panic!("{status:?}"),
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let taken = Instant::now();
    // The caller goes away; its batch is still being decided on a blocking thread.
    batch.abort();
    let _ = batch.await;
    tokio::time::sleep(Duration::from_millis(100)).await;
    let status = probe.check_access(analyst_request()).await.unwrap_err();
    assert_eq!(
        status.code(),
        Code::ResourceExhausted,
        "the dropped call gave its slot back while its batch was still being decided: {status:?}"
    );
    // Once that work is done, the slot comes back.
    loop {
        assert!(
            taken.elapsed() < Duration::from_secs(120),
            "the slot never came back"
        );
        match probe.check_access(analyst_request()).await {
            Ok(_) => break,
            Err(status) if status.code() == Code::ResourceExhausted => {}
            Err(status) => panic!("{status:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    eprintln!("the abandoned batch held its slot {:?}", taken.elapsed());
    // The abandoned batch handed nothing out, and logged nothing.
    assert_eq!(server.log_lines().len(), probes_served + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn deadlines_already_past_get_no_decision_and_no_log_entry() {
    let metrics_port = free_port();
    let server = spawn(Options {
        args: vec![
            "--metrics-listen".into(),
            format!("127.0.0.1:{metrics_port}"),
        ],
        ..Options::default()
    });
    let port = server.port;
    let check = "/charter.v1.DecisionService/CheckAccess";
    let batch_path = "/charter.v1.DecisionService/CheckAccessBatch";
    let batch = raw::field(1, &raw::analyst_request());

    // The control: the same hand-made call without a deadline is decided and logged.
    let answer =
        tokio::task::spawn_blocking(move || raw::call(port, check, None, &raw::analyst_request()))
            .await
            .unwrap();
    assert!(answer.ended && answer.data > 5, "{answer:?}");
    assert_eq!(server.log_lines().len(), 1);

    let timeouts = ["0n", "1n", "1u", "0S"];
    for timeout in timeouts {
        for (path, body) in [(check, raw::analyst_request()), (batch_path, batch.clone())] {
            let answer =
                tokio::task::spawn_blocking(move || raw::call(port, path, Some(timeout), &body))
                    .await
                    .unwrap();
            assert!(
                answer.ended,
                "{path} {timeout}: the server answered: {answer:?}"
            );
            assert_eq!(
                answer.data, 0,
                "{path} with grpc-timeout {timeout}: no decision once the deadline has passed"
            );
        }
    }
    assert_eq!(
        server.log_lines().len(),
        1,
        "no log entry for a call whose deadline had passed"
    );

    // The server's own count: each expired call ended as DEADLINE_EXCEEDED (the handler
    // saw the deadline) or CANCELLED (tonic's timer fired first); none as a decision.
    let text = scrape_metrics(metrics_port);
    assert!(
        text.contains(r#"charter_grpc_requests_total{rpc="CheckAccess",code="ok"} 1"#),
        "{text}"
    );
    assert!(
        !text.contains(r#"rpc="CheckAccessBatch",code="ok""#),
        "{text}"
    );

    // A tonic client's own 1 ns deadline: an error, never a decision, never logged.
    let mut client = server.client().await;
    for _ in 0..10 {
        let mut call = tonic::Request::new(analyst_request());
        call.set_timeout(Duration::from_nanos(1));
        let status = client.check_access(call).await.unwrap_err();
        assert!(
            matches!(status.code(), Code::DeadlineExceeded | Code::Cancelled),
            "{status:?}"
        );
    }
    client.check_access(analyst_request()).await.unwrap();
    assert_eq!(server.log_lines().len(), 2);
}
