//! AuthZEN 1.0 on `charter serve --http-listen`: data-product semantics over the sample
//! mesh, batch semantics, discovery, and the interop suite's Todo decisions against
//! `examples/authzen-todo`, scored as the interop runner scores.

use serde_json::{Value, json};

use super::harness::{Options, free_port, repo, spawn};
use super::trino::call;

fn evaluate(port: u16, path: &str, body: &Value) -> (u16, Value) {
    call(port, "POST", path, &body.to_string(), &[])
}

#[test]
fn data_products_batches_discovery_and_request_ids() {
    let http = free_port();
    let _server = spawn(Options {
        args: vec!["--http-listen".to_owned(), format!("127.0.0.1:{http}")],
        ..Options::default()
    });
    let one = |subject: Value, action: &str, resource: Value| json!({"subject": subject, "action": {"name": action}, "resource": resource});
    let analyst = json!({"type": "user", "id": "ana", "properties": {"roles": ["analyst"]}});
    let nobody = json!({"type": "user", "id": "nobody"});
    let product = json!({"type": "data_product", "id": "orders.order_events"});
    let (status, body) = evaluate(
        http,
        "/access/v1/evaluation",
        &one(analyst.clone(), "query", product.clone()),
    );
    assert_eq!((status, body), (200, json!({"decision": true})));
    let (_, body) = evaluate(
        http,
        "/access/v1/evaluation",
        &one(nobody.clone(), "query", product.clone()),
    );
    assert_eq!(body, json!({"decision": false}));
    // Columns: a PII column without masking method denies the query.
    let sessions = json!({"type": "table", "id": "lake.customer_engagement.web_sessions",
        "properties": {"columns": ["session_id", "ip_address"]}});
    let team = json!({"type": "user", "id": "tea", "properties": {"groups": ["team-customer-engagement@acme.example"]}});
    let (_, body) = evaluate(
        http,
        "/access/v1/evaluation",
        &one(team.clone(), "query", sessions),
    );
    assert_eq!(body, json!({"decision": false}));
    let column =
        json!({"type": "column", "id": "lake.customer_engagement.web_sessions.customer_id"});
    let mut asked = one(team.clone(), "query", column);
    asked["context"] = json!({"include_details": true});
    let (_, body) = evaluate(http, "/access/v1/evaluation", &asked);
    assert_eq!(body["decision"], true, "{body}");
    assert_eq!(body["context"]["columns"][0]["effect"], "mask", "{body}");
    // Writes: the owning team only.
    let (_, body) = evaluate(
        http,
        "/access/v1/evaluation",
        &one(analyst.clone(), "manage", product.clone()),
    );
    assert_eq!(body, json!({"decision": false}));
    let owners = json!({"type": "user", "id": "olga", "properties": {"groups": ["team-orders@acme.example"]}});
    let (_, body) = evaluate(
        http,
        "/access/v1/evaluation",
        &one(owners, "write", product.clone()),
    );
    assert_eq!(body, json!({"decision": true}));
    // Missing parts: 400; unknown fields ignored; X-Request-ID echoed.
    let (status, _) = evaluate(
        http,
        "/access/v1/evaluation",
        &json!({"action": {"name": "query"}, "resource": product}),
    );
    assert_eq!(status, 400);
    let text = {
        use std::io::{Read, Write};
        let body = one(analyst.clone(), "query", product.clone()).to_string();
        let mut s = std::net::TcpStream::connect(("127.0.0.1", http)).unwrap();
        write!(s, "POST /access/v1/evaluation HTTP/1.1\r\nhost: x\r\nconnection: close\r\nx-request-id: req-42\r\ncontent-length: {}\r\n\r\n{body}", body.len()).unwrap();
        let mut t = String::new();
        s.read_to_string(&mut t).unwrap();
        t
    };
    assert!(
        text.to_ascii_lowercase().contains("x-request-id: req-42"),
        "{text}"
    );
    // Batches: defaults at the top, answers in order, short-circuits truncate.
    let items = json!([
        {"resource": product},
        {"resource": {"type": "data_product", "id": "billing.payment_methods"}},
        {"resource": product},
    ]);
    let batch = |semantic: &str| {
        json!({"subject": analyst, "action": {"name": "query"}, "evaluations": items,
               "options": {"evaluations_semantic": semantic}, "unknown": 1})
    };
    let decisions = |semantic: &str| evaluate(http, "/access/v1/evaluations", &batch(semantic)).1;
    let d = |b: bool| json!({"decision": b});
    assert_eq!(
        decisions("execute_all"),
        json!({"evaluations": [d(true), d(false), d(true)]})
    );
    assert_eq!(
        decisions("deny_on_first_deny"),
        json!({"evaluations": [d(true), d(false)]})
    );
    assert_eq!(
        decisions("permit_on_first_permit"),
        json!({"evaluations": [d(true)]})
    );
    // A failed item is a deny with its error.
    let (_, body) = evaluate(
        http,
        "/access/v1/evaluations",
        &json!({"evaluations": [{"resource": product}]}),
    );
    assert_eq!(body["evaluations"][0]["decision"], false, "{body}");
    assert!(
        body["evaluations"][0]["context"]["error"].is_string(),
        "{body}"
    );
    // Discovery.
    let (status, body) = call(http, "GET", "/.well-known/authzen-configuration", "", &[]);
    assert_eq!(status, 200);
    assert_eq!(
        body["access_evaluation_endpoint"],
        format!("http://127.0.0.1/access/v1/evaluation")
    );
    assert!(
        body["policy_decision_point"].is_string()
            && body["access_evaluations_endpoint"].is_string()
    );
}

/// Every decision of the interop suite's Todo scenario (AuthZEN 1.0, draft 02 file):
/// each evaluation's `decision`, each batch's items exactly `{"decision": bool}`.
#[test]
fn the_authzen_todo_interop_decisions() {
    let Some(trino) = super::trino::conformance() else {
        return;
    };
    let todo = trino.join("../authzen/todo");
    let users: Value =
        serde_json::from_str(&std::fs::read_to_string(todo.join("users.json")).unwrap()).unwrap();
    let mut directory = serde_json::Map::new();
    for (sub, user) in users.as_object().unwrap() {
        directory.insert(
            sub.clone(),
            json!({
                "roles": user["roles"],
                "attributes": {"email": user["email"], "id": user["id"]},
            }),
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let principals = dir.path().join("todo-users.yaml");
    // JSON is YAML: the directory file as the scenario's users say.
    std::fs::write(&principals, json!({ "users": directory }).to_string()).unwrap();
    let http = free_port();
    let _server = spawn(Options {
        args: vec![
            "--http-listen".to_owned(),
            format!("127.0.0.1:{http}"),
            "--policies".to_owned(),
            repo().join("examples/authzen-todo").display().to_string(),
            "--principals".to_owned(),
            principals.display().to_string(),
        ],
        ..Options::default()
    });
    let suite: Value = serde_json::from_str(
        &std::fs::read_to_string(todo.join("decisions-authorization-api-1_0-02.json")).unwrap(),
    )
    .unwrap();
    let mut passed = 0;
    let single = suite["evaluation"].as_array().unwrap();
    for case in single {
        let (status, body) = evaluate(http, "/access/v1/evaluation", &case["request"]);
        assert_eq!(status, 200, "{case}: {body}");
        assert_eq!(body["decision"], case["expected"], "{case}: {body}");
        passed += 1;
    }
    let batches = suite["evaluations"].as_array().unwrap();
    for case in batches {
        let (status, body) = evaluate(http, "/access/v1/evaluations", &case["request"]);
        assert_eq!(status, 200, "{case}: {body}");
        assert_eq!(body["evaluations"], case["expected"], "{case}: {body}");
        passed += 1;
    }
    assert_eq!((single.len(), batches.len()), (40, 3));
    assert_eq!(passed, 43);
}
