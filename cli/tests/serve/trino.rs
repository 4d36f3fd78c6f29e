//! Trino's OPA access-control contract on `charter serve --http-listen`: the real server
//! on loopback, called over HTTP/1.1 the way the `trino-opa` plugin calls it.

use std::io::{Read, Write};
use std::path::PathBuf;

use serde_json::{Value, json};

use super::harness::{Options, Server, free_port, repo, spawn};

/// One HTTP/1.1 call (`Connection: close`): status and JSON body (`Null` when not JSON).
pub fn call(
    port: u16,
    method: &str,
    path: &str,
    body: &str,
    headers: &[(&str, &str)],
) -> (u16, Value) {
    let mut stream = std::net::TcpStream::connect(("127.0.0.1", port)).unwrap();
    let mut request = format!(
        "{method} {path} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\ncontent-type: application/json\r\ncontent-length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        request.push_str(&format!("{name}: {value}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes()).unwrap();
    stream.write_all(body.as_bytes()).unwrap();
    let mut text = String::new();
    stream.read_to_string(&mut text).unwrap();
    let status: u16 = text
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {text}"));
    let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    (status, serde_json::from_str(body).unwrap_or(Value::Null))
}

pub fn post(port: u16, endpoint: &str, input: &Value) -> (u16, Value) {
    call(
        port,
        "POST",
        &format!("/v1/data/charter/trino/{endpoint}"),
        &json!({ "input": input }).to_string(),
        &[],
    )
}

/// The input of one Trino call by `user` in `groups`.
pub fn input(user: &str, groups: &[&str], action: Value) -> Value {
    json!({
        "context": {"identity": {"user": user, "groups": groups}, "softwareStack": {"trinoVersion": "476"}, "queryId": "q1"},
        "action": action,
    })
}

pub fn table(name: &str, columns: Option<&[&str]>) -> Value {
    let parts: Vec<&str> = name.split('.').collect();
    let mut t = json!({"catalogName": parts[0], "schemaName": parts[1], "tableName": parts[2]});
    if let Some(columns) = columns {
        t["columns"] = json!(columns);
    }
    json!({ "table": t })
}

pub fn column(name: &str, column: &str) -> Value {
    let parts: Vec<&str> = name.split('.').collect();
    json!({"column": {"catalogName": parts[0], "schemaName": parts[1], "tableName": parts[2], "columnName": column, "columnType": "varchar"}})
}

const DIRECTORY: &str = "users:\n  ana: {roles: [analyst], attributes: {region: eu}}\n  gus: {attributes: {region: us}, groups: [global-readers]}\ngroups:\n  global-readers: {roles: [analyst, global-reader]}\n";

fn start(policies: Option<PathBuf>) -> (Server, u16, tempfile::TempDir) {
    start_with(policies, &[])
}

fn start_with(policies: Option<PathBuf>, extra: &[String]) -> (Server, u16, tempfile::TempDir) {
    let http = free_port();
    let dir = tempfile::tempdir().unwrap();
    let principals = dir.path().join("principals.yaml");
    std::fs::write(&principals, DIRECTORY).unwrap();
    let mut args = vec![
        "--http-listen".to_owned(),
        format!("127.0.0.1:{http}"),
        "--principals".to_owned(),
        principals.display().to_string(),
    ];
    if let Some(p) = policies {
        args.extend(["--policies".to_owned(), p.display().to_string()]);
    }
    args.extend_from_slice(extra);
    let server = spawn(Options {
        args,
        ..Options::default()
    });
    (server, http, dir)
}

const EVENTS: &str = "lake.orders.order_events";

#[test]
fn health_select_writes_listings_filters_and_masks_over_the_sample_mesh() {
    let metrics = free_port();
    let (server, port, _dir) = start_with(
        None,
        &[
            "--metrics-listen".to_owned(),
            format!("127.0.0.1:{metrics}"),
        ],
    );
    assert_eq!(
        call(port, "GET", "/health", "", &[]),
        (200, json!({"status": "SERVING"}))
    );
    let allow = |user: &str, groups: &[&str], action: Value| {
        let (status, body) = post(port, "allow", &input(user, groups, action));
        assert_eq!(status, 200, "{body}");
        body["result"]
            .as_bool()
            .unwrap_or_else(|| panic!("not a boolean: {body}"))
    };
    let select = |cols: &[&str]| json!({"operation": "SelectFromColumns", "resource": table(EVENTS, Some(cols))});
    // ana is an analyst through the directory: PII masked, so selectable.
    assert!(allow("ana", &[], select(&["order_id", "customer_id"])));
    // Unknown to the directory and without a role: not selectable.
    assert!(!allow("mallory", &[], select(&["order_id"])));
    // The owning team, from the request's groups, although unknown to the directory.
    let owners = ["team-orders@acme.example"];
    assert!(allow("olga", &owners, select(&["order_id"])));
    // A PII column without a masking method is denied: selecting it is denied.
    let sessions = "lake.customer_engagement.web_sessions";
    let team = ["team-customer-engagement@acme.example"];
    let pick = |cols: &[&str]| json!({"operation": "SelectFromColumns", "resource": table(sessions, Some(cols))});
    assert!(allow("tea", &team, pick(&["session_id"])));
    assert!(!allow("tea", &team, pick(&["session_id", "ip_address"])));
    // No columns (`SELECT count(*)`): the product alone decides, a denied column aside.
    assert!(allow("tea", &team, pick(&[])));
    assert!(!allow("mallory", &[], pick(&[])));
    // Writes and DDL: the owning team only.
    for op in [
        "InsertIntoTable",
        "DeleteFromTable",
        "TruncateTable",
        "DropTable",
        "AddColumn",
        "SetTableComment",
    ] {
        let action = json!({"operation": op, "resource": table(EVENTS, None)});
        assert!(allow("olga", &owners, action.clone()), "{op}");
        assert!(!allow("ana", &[], action), "{op}: an analyst may not");
    }
    // Open operations, ungoverned tables, unknown operations.
    assert!(allow("mallory", &[], json!({"operation": "ExecuteQuery"})));
    assert!(allow(
        "mallory",
        &[],
        json!({"operation": "AccessCatalog", "resource": {"catalog": {"name": "lake"}}})
    ));
    assert!(!allow("ana", &[], select_table("lake.scratch.tmp")));
    assert!(!allow(
        "ana",
        &[],
        json!({"operation": "GrantTablePrivilege", "resource": table(EVENTS, None)})
    ));
    assert!(!allow("ana", &[], json!({"operation": "SomethingNew"})));

    // Batched listings: tables the caller may query, columns not denied.
    let (status, body) = post(
        port,
        "batch",
        &input(
            "ana",
            &[],
            json!({
                "operation": "FilterTables",
                "filterResources": [table("lake.scratch.tmp", None), table(EVENTS, None), table("lake.billing.payment_methods", None)],
            }),
        ),
    );
    assert_eq!((status, body), (200, json!({"result": [1]})));
    let (status, body) = post(
        port,
        "batch",
        &input(
            "tea",
            &team,
            json!({
                "operation": "FilterColumns",
                "filterResources": [table(sessions, Some(&["session_id", "ip_address", "customer_id"]))],
            }),
        ),
    );
    assert_eq!((status, body), (200, json!({"result": [0, 2]})));

    // Row filters from the directory's region attribute; none for a global reader.
    let rows = |user: &str| {
        post(
            port,
            "rowFilters",
            &input(
                user,
                &[],
                json!({"operation": "GetRowFilters", "resource": table(EVENTS, None)}),
            ),
        )
    };
    let (status, body) = rows("ana");
    assert_eq!(status, 200, "{body}");
    let filters = body["result"].as_array().unwrap();
    assert_eq!(filters.len(), 1, "{body}");
    let sql = filters[0]["expression"].as_str().unwrap();
    assert!(sql.contains("region") && sql.contains("'eu'"), "{sql}");
    assert_eq!(rows("gus"), (200, json!({"result": []})));
    // A caller who may not read the table gets an error, never "no filter".
    let (status, body) = rows("mallory");
    assert_eq!(status, 500, "{body}");

    // Masks: only masked columns, by index.
    let (status, body) = post(
        port,
        "batchColumnMasks",
        &input(
            "ana",
            &[],
            json!({
                "operation": "GetColumnMask",
                "filterResources": [column(EVENTS, "order_id"), column(EVENTS, "customer_id")],
            }),
        ),
    );
    assert_eq!(status, 200, "{body}");
    let masks = body["result"].as_array().unwrap();
    assert_eq!(masks.len(), 1, "{body}");
    assert_eq!(masks[0]["index"], 1);
    assert!(
        masks[0]["viewExpression"]["expression"]
            .as_str()
            .unwrap()
            .contains("customer_id")
    );
    let (status, body) = post(
        port,
        "columnMask",
        &input(
            "ana",
            &[],
            json!({"operation": "GetColumnMask", "resource": column(EVENTS, "order_id")}),
        ),
    );
    assert_eq!((status, body), (200, json!({"result": null})));

    // Malformed: no identity, not JSON.
    let (status, _) = post(
        port,
        "allow",
        &json!({"context": {}, "action": {"operation": "ExecuteQuery"}}),
    );
    assert_eq!(status, 400);
    let (status, _) = call(
        port,
        "POST",
        "/v1/data/charter/trino/allow",
        "{not json",
        &[],
    );
    assert_eq!(status, 400);

    // The HTTP endpoints in the metrics.
    let text = super::harness::scrape_metrics(metrics);
    for line in [
        r#"charter_grpc_requests_total{rpc="trino/rowFilters",code="ok"} 2"#,
        r#"charter_grpc_requests_total{rpc="trino/rowFilters",code="internal"} 1"#,
        r#"charter_grpc_requests_total{rpc="trino/allow",code="invalid_argument"} 2"#,
    ] {
        assert!(text.contains(line), "{line} in {text}");
    }

    // Every decision is in the log, naming its endpoint.
    let (exit, server) = server.stop();
    assert!(exit.success());
    let lines = server.log_lines();
    for rpc in [
        "trino/allow",
        "trino/batch",
        "trino/rowFilters",
        "trino/batchColumnMasks",
        "trino/columnMask",
    ] {
        assert!(
            lines.iter().any(|l| l["rpc"] == rpc),
            "no `{rpc}` line in the log"
        );
    }
    assert!(
        lines
            .iter()
            .any(|l| l["rpc"] == "trino/allow" && l["principal"]["roles"] == json!(["analyst"]))
    );
}

fn select_table(name: &str) -> Value {
    json!({"operation": "SelectFromColumns", "resource": table(name, Some(&["a"]))})
}

/// A pack whose row-filter rule errors: the filter and mask endpoints answer 500, never
/// `{}` or `[]`, and the select is denied.
#[test]
fn a_row_filter_rule_that_errors_is_a_500_never_no_filter() {
    let (_server, port, _dir) = start(Some(repo().join("testdata/policies/erroring_row_filters")));
    let ask = input(
        "ana",
        &[],
        json!({"operation": "GetRowFilters", "resource": table(EVENTS, None)}),
    );
    let (status, body) = post(port, "rowFilters", &ask);
    assert_eq!(status, 500, "{body}");
    assert!(body.get("result").is_none(), "{body}");
    assert!(
        body["error"].as_str().unwrap().contains("row filters"),
        "{body}"
    );
    let (status, body) = post(
        port,
        "batchColumnMasks",
        &input(
            "ana",
            &[],
            json!({
                "operation": "GetColumnMask", "filterResources": [column(EVENTS, "customer_id")],
            }),
        ),
    );
    assert_eq!(status, 500, "{body}");
    let (status, body) = post(
        port,
        "allow",
        &input(
            "ana",
            &[],
            json!({"operation": "SelectFromColumns", "resource": table(EVENTS, Some(&["order_id"]))}),
        ),
    );
    assert_eq!((status, body), (200, json!({"result": false})));
}

/// The conformance folder beside the checkout, or `None` (skip; a failure under CI).
pub fn conformance() -> Option<PathBuf> {
    let dir = repo().join("../shared/conformance/trino");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "../shared/conformance/trino is missing (CI=true)"
    );
    eprintln!("skipped: ../shared/conformance/trino is absent");
    None
}

/// Every `input.action` shape in the plugin's own test vectors.
fn actions(value: &Value, out: &mut Vec<Value>) {
    match value {
        Value::Object(map) => {
            if map.get("operation").is_some_and(Value::is_string) {
                out.push(value.clone());
            }
            for v in map.values() {
                actions(v, out);
            }
        }
        Value::Array(items) => items.iter().for_each(|v| actions(v, out)),
        _ => {}
    }
}

/// Replays every request shape of Trino's vectors to the endpoint the plugin would post
/// it to: each parses (200), and each answer decodes as the plugin decodes it.
#[test]
fn every_trino_request_shape_parses_and_every_answer_decodes() {
    let Some(dir) = conformance() else { return };
    let (_server, port, _dir) = start(None);
    let mut shapes = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") && !path.ends_with("operations.json") {
            let doc: Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            actions(&doc, &mut shapes);
        }
    }
    assert!(shapes.len() > 60, "only {} shapes found", shapes.len());
    for action in shapes {
        let operation = action["operation"].as_str().unwrap();
        let batched = action.get("filterResources").is_some();
        let endpoint = match (operation, batched) {
            ("GetRowFilters", _) => "rowFilters",
            ("GetColumnMask", true) => "batchColumnMasks",
            ("GetColumnMask", false) => "columnMask",
            (_, true) => "batch",
            (_, false) => "allow",
        };
        let (status, body) = post(
            port,
            endpoint,
            &input("source-user", &["some-group"], action.clone()),
        );
        assert_eq!(status, 200, "{endpoint} {action}: {body}");
        let result = &body["result"];
        let count = action["filterResources"].as_array().map_or(0, Vec::len);
        let decodes = match endpoint {
            "allow" => result.is_boolean(),
            "batch" => result.as_array().is_some_and(|items| {
                let bound = if operation == "FilterColumns" {
                    action["filterResources"][0]["table"]["columns"]
                        .as_array()
                        .map_or(0, Vec::len)
                } else {
                    count
                };
                items
                    .iter()
                    .all(|i| i.as_u64().is_some_and(|i| (i as usize) < bound))
            }),
            "rowFilters" => result
                .as_array()
                .is_some_and(|items| items.iter().all(|f| f["expression"].is_string())),
            "columnMask" => result.is_null() || result["expression"].is_string(),
            _ => result.as_array().is_some_and(|items| {
                items.iter().all(|m| {
                    m["index"].as_u64().is_some_and(|i| (i as usize) < count)
                        && m["viewExpression"]["expression"].is_string()
                })
            }),
        };
        assert!(decodes, "{endpoint} {action}: {body}");
    }
}

/// A principal directory that is not one stops the start, naming `file:line`.
#[test]
fn a_bad_principal_directory_stops_the_start_with_its_line() {
    let dir = tempfile::tempdir().unwrap();
    let principals = dir.path().join("principals.yaml");
    std::fs::write(&principals, "users:\n  ana: {roles: analyst}\n").unwrap();
    let mut server = spawn(Options {
        args: vec!["--principals".to_owned(), principals.display().to_string()],
        no_wait: true,
        ..Options::default()
    });
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        if let Some(status) = server.child.try_wait().unwrap() {
            break status;
        }
        assert!(std::time::Instant::now() < deadline, "the server started");
        std::thread::sleep(std::time::Duration::from_millis(50));
    };
    assert_eq!(status.code(), Some(2), "{}", server.stderr());
    assert!(
        server.stderr().contains("principals.yaml:2"),
        "{}",
        server.stderr()
    );
}

/// The limits hold on HTTP, each refusal naming its flag: 413 for a body, a column list or
/// a batch too large.
#[test]
fn http_limits_name_their_flags() {
    let http = free_port();
    let _server = spawn(Options {
        args: vec![
            "--http-listen".to_owned(),
            format!("127.0.0.1:{http}"),
            "--max-columns".to_owned(),
            "3".to_owned(),
            "--max-batch".to_owned(),
            "2".to_owned(),
            "--max-message-bytes".to_owned(),
            "2000".to_owned(),
        ],
        ..Options::default()
    });
    let cols = ["a", "b", "c", "d"];
    let (status, body) = post(
        http,
        "allow",
        &input(
            "ana",
            &[],
            json!({"operation": "SelectFromColumns", "resource": table(EVENTS, Some(&cols))}),
        ),
    );
    assert_eq!(status, 413);
    assert!(
        body["error"].as_str().unwrap().contains("--max-columns"),
        "{body}"
    );
    let tables: Vec<Value> = (0..3).map(|_| table(EVENTS, None)).collect();
    let (status, body) = post(
        http,
        "batch",
        &input(
            "ana",
            &[],
            json!({"operation": "FilterTables", "filterResources": tables}),
        ),
    );
    assert_eq!(status, 413);
    assert!(
        body["error"].as_str().unwrap().contains("--max-batch"),
        "{body}"
    );
    let big = "x".repeat(3000);
    let (status, body) = post(
        http,
        "allow",
        &input(&big, &[], json!({"operation": "ExecuteQuery"})),
    );
    assert_eq!(status, 413);
    assert!(
        body["error"]
            .as_str()
            .unwrap()
            .contains("--max-message-bytes"),
        "{body}"
    );
}
