//! Each RPC, health and reflection against the sample mesh and the default pack.

use charter_proto::v1 as pb;
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::harness::{Options, analyst_request, principal, request, spawn};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_rpc_health_and_reflection() {
    let server = spawn(Options::default());
    let mut client = server.client().await;

    // CheckAccess: PII masked for an analyst, clear for a pii-reader.
    let decision = client
        .check_access(analyst_request())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(decision.decision, pb::Outcome::Allow as i32);
    assert_eq!(decision.product_id, "orders.order_events");
    assert!(!decision.decision_id.is_empty());
    let effects: Vec<_> = decision
        .columns
        .iter()
        .map(|c| (c.name.as_str(), c.effect))
        .collect();
    assert_eq!(
        effects,
        [
            ("order_id", pb::ColumnEffect::Allow as i32),
            ("customer_id", pb::ColumnEffect::Mask as i32)
        ]
    );
    assert_eq!(decision.columns[1].mask_method, "hash");
    assert!(!decision.columns[1].mask_expression.is_empty());
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(server.log_path())
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "the decision log is the service's own");
    }
    let reader = request(
        principal("pat", &["analyst", "pii-reader"]),
        "orders.order_events",
        &["customer_id"],
    );
    let decision = client.check_access(reader).await.unwrap().into_inner();
    assert_eq!(decision.columns[0].effect, pb::ColumnEffect::Allow as i32);

    // Row filter from the `region` attribute; table addressing; whole product.
    let mut with_region = principal("eu-ana", &["analyst"]);
    with_region.attributes.insert("region".into(), "eu".into());
    let by_table = pb::AccessRequest {
        principal: Some(with_region),
        product: Some(pb::access_request::Product::Table(
            "LAKE.ORDERS.ORDER_EVENTS".into(),
        )),
        ..pb::AccessRequest::default()
    };
    let decision = client.check_access(by_table).await.unwrap().into_inner();
    assert_eq!(
        decision.product_id, "orders.order_events",
        "found by its table"
    );
    assert_eq!(decision.row_filters.len(), 1);
    assert_eq!(decision.row_filters[0].column, "region");
    assert_eq!(decision.row_filters[0].sql, "\"region\" = 'eu'");
    assert!(decision.columns.len() > 5, "every column of the product");

    // Unknown product: a deny with a reason, not an error.
    let unknown = request(principal("ana", &["analyst"]), "nope.nothing", &[]);
    let decision = client.check_access(unknown).await.unwrap().into_inner();
    assert_eq!(decision.decision, pb::Outcome::Deny as i32);
    assert!(!decision.reasons.is_empty());

    // Explain records the policies evaluated.
    let mut explained = analyst_request();
    explained.explain = true;
    let decision = client.check_access(explained).await.unwrap().into_inner();
    assert!(!decision.explanation.is_empty());
    assert!(!decision.explanation[0].policies.is_empty());

    // Batch: in order; a malformed item is a deny with its reason, the others answered.
    let mut bad = analyst_request();
    bad.principal = None;
    let batch = pb::AccessBatchRequest {
        requests: vec![
            analyst_request(),
            bad,
            request(principal("x", &[]), "orders.order_events", &["order_id"]),
        ],
    };
    let answers = client
        .check_access_batch(batch)
        .await
        .unwrap()
        .into_inner()
        .decisions;
    assert_eq!(answers.len(), 3);
    assert_eq!(answers[0].decision, pb::Outcome::Allow as i32);
    assert_eq!(answers[1].decision, pb::Outcome::Deny as i32);
    assert!(
        answers[1].reasons[0]
            .message
            .contains("requests[1].principal"),
        "{:?}",
        answers[1].reasons
    );
    assert_ne!(answers[2].decision, pb::Outcome::Unspecified as i32);

    // EvaluateContract: a real contract, then bytes that are not one.
    let file = "domains/orders/order_events.yaml";
    let bytes = std::fs::read(server.mesh().join(file)).unwrap();
    let evaluation = client
        .evaluate_contract(pb::EvaluateContractRequest {
            contract: bytes,
            file_name: file.into(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(evaluation.product_id, "orders.order_events");
    assert!(evaluation.findings.iter().all(|f| f.line >= 1));
    let broken = client
        .evaluate_contract(pb::EvaluateContractRequest {
            contract: b"kind: [unclosed".to_vec(),
            file_name: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert!(!broken.passed);
    assert_eq!(broken.findings[0].rule, "contract/parse");
    assert_eq!(broken.findings[0].severity, pb::Severity::Error as i32);

    // GetStatus.
    let status = client
        .get_status(pb::GetStatusRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(status.revision.len(), 16);
    assert!(status.product_count >= 10);
    assert!(status.policy_count >= 1);
    assert!(status.rule_count >= 1);
    assert!(status.unreadable_contracts >= 1);
    assert!(status.last_reload.is_none());
    assert!(status.loaded_at.ends_with('Z'));

    // Health: overall and per service.
    let mut health = HealthClient::new(server.channel().await);
    for service in ["", "charter.v1.DecisionService"] {
        let answer = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(answer.status, ServingStatus::Serving as i32, "{service}");
    }

    // Reflection, v1 and v1alpha, list the decision service.
    {
        use tonic_reflection::pb::v1::ServerReflectionRequest;
        use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;
        let mut reflection = ServerReflectionClient::new(server.channel().await);
        let ask = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::ListServices(String::new())),
        };
        let mut answers = reflection
            .server_reflection_info(tokio_stream::iter([ask]))
            .await
            .unwrap()
            .into_inner();
        let Some(Ok(answer)) = answers.next().await else {
            panic!("no reflection answer")
        };
        let Some(MessageResponse::ListServicesResponse(list)) = answer.message_response else {
            panic!("not a list")
        };
        let names: Vec<_> = list.service.into_iter().map(|s| s.name).collect();
        assert!(
            names.contains(&"charter.v1.DecisionService".to_owned()),
            "{names:?}"
        );
        assert!(
            names.contains(&"grpc.health.v1.Health".to_owned()),
            "{names:?}"
        );
    }
    {
        use tonic_reflection::pb::v1alpha::ServerReflectionRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_client::ServerReflectionClient;
        use tonic_reflection::pb::v1alpha::server_reflection_request::MessageRequest;
        use tonic_reflection::pb::v1alpha::server_reflection_response::MessageResponse;
        let mut reflection = ServerReflectionClient::new(server.channel().await);
        let ask = ServerReflectionRequest {
            host: String::new(),
            message_request: Some(MessageRequest::FileContainingSymbol(
                "charter.v1.DecisionService".into(),
            )),
        };
        let mut answers = reflection
            .server_reflection_info(tokio_stream::iter([ask]))
            .await
            .unwrap()
            .into_inner();
        let Some(Ok(answer)) = answers.next().await else {
            panic!("no reflection answer")
        };
        assert!(matches!(
            answer.message_response,
            Some(MessageResponse::FileDescriptorResponse(_))
        ));
    }

    // Every decision was logged.
    drop(client);
    let (status, server) = server.stop();
    assert!(status.success(), "{}", server.stderr());
    let lines = server.log_lines();
    assert_eq!(lines.len(), 5 + 3, "5 CheckAccess + 3 batch items");
    assert_eq!(lines[0]["principal"]["id"], "ana");
    assert_eq!(lines[0]["columns"][1]["effect"], "mask");
    assert!(
        lines
            .iter()
            .all(|l| l["decision_id"].is_string() && l["revision"].is_string())
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_requests_are_invalid_argument_naming_the_field() {
    let server = spawn(Options::default());
    let mut client = server.client().await;
    type Mutation = Box<dyn Fn(&mut pb::AccessRequest)>;
    let cases: Vec<(&str, Mutation)> = vec![
        ("principal", Box::new(|r| r.principal = None)),
        (
            "principal.id",
            Box::new(|r| r.principal.as_mut().unwrap().id = " ".into()),
        ),
        (
            "principal.roles[0]",
            Box::new(|r| r.principal.as_mut().unwrap().roles = vec![String::new()]),
        ),
        (
            "principal.attributes",
            Box::new(|r| {
                r.principal
                    .as_mut()
                    .unwrap()
                    .attributes
                    .insert(String::new(), "x".into());
            }),
        ),
        ("product", Box::new(|r| r.product = None)),
        (
            "product_id",
            Box::new(|r| r.product = Some(pb::access_request::Product::ProductId(String::new()))),
        ),
        (
            "table",
            Box::new(|r| r.product = Some(pb::access_request::Product::Table(" ".into()))),
        ),
        ("columns[1]", Box::new(|r| r.columns[1] = String::new())),
        ("action", Box::new(|r| r.action = "delete".into())),
        ("dialect", Box::new(|r| r.dialect = "cobol".into())),
    ];
    for (field, mutate) in cases {
        let mut bad = analyst_request();
        mutate(&mut bad);
        let status = client.check_access(bad).await.unwrap_err();
        assert_eq!(status.code(), Code::InvalidArgument, "{field}: {status:?}");
        assert!(
            status.message().starts_with(&format!("{field}:")),
            "{field}: {}",
            status.message()
        );
    }
    let empty = client
        .evaluate_contract(pb::EvaluateContractRequest::default())
        .await
        .unwrap_err();
    assert_eq!(empty.code(), Code::InvalidArgument);
    assert!(empty.message().starts_with("contract:"));
    assert!(
        server.log_lines().is_empty(),
        "no decision for a malformed request"
    );
}
