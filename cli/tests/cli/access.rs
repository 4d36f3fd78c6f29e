//! `charter authorize` and `charter entities` as a user runs them on the sample mesh.
#![cfg(test)]

use crate::common::charter;

fn authorize(extra: &[&str]) -> (Option<i32>, serde_json::Value) {
    let mut args = vec!["authorize", "--mesh", "testdata/mesh", "--format", "json"];
    args.extend_from_slice(extra);
    let out = charter(&args);
    let doc = serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null);
    (out.status.code(), doc)
}

fn column<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no column `{name}` in {doc}"))
}

#[test]
fn an_analyst_reads_with_pii_masked_and_the_region_filtered() {
    let (code, doc) = authorize(&[
        "--principal",
        "ana",
        "--role",
        "analyst",
        "--attr",
        "region=eu",
        "--product",
        "orders.order_events",
    ]);
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(doc["decision"], "allow");
    for key in [
        "decision",
        "decision_id",
        "revision",
        "product",
        "columns",
        "row_filters",
        "reasons",
    ] {
        assert!(doc.get(key).is_some(), "`{key}` in {doc}");
    }
    let masked: Vec<&serde_json::Value> = doc["columns"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|c| c["effect"] == "mask")
        .collect();
    assert!(
        !masked.is_empty(),
        "PII columns are masked for an analyst: {doc}"
    );
    assert!(
        masked
            .iter()
            .all(|c| c["mask_expression"].as_str().is_some_and(|e| !e.is_empty()))
    );
    let filters = doc["row_filters"].as_array().unwrap();
    assert!(
        filters
            .iter()
            .any(|f| f["sql"].as_str().is_some_and(|s| s.contains("'eu'"))),
        "{doc}"
    );
}

#[test]
fn a_pii_reader_reads_in_clear_and_a_stranger_is_denied() {
    let (_, analyst) = authorize(&[
        "--principal",
        "ana",
        "--role",
        "analyst",
        "--product",
        "orders.order_events",
    ]);
    let masked = analyst["columns"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["effect"] == "mask")
        .expect("a masked column");
    let name = masked["name"].as_str().unwrap();
    let (code, doc) = authorize(&[
        "--principal",
        "pia",
        "--role",
        "analyst",
        "--role",
        "pii-reader",
        "--column",
        name,
        "--product",
        "orders.order_events",
    ]);
    assert_eq!(code, Some(0));
    assert_eq!(column(&doc, name)["effect"], "allow");

    let (code, doc) = authorize(&[
        "--principal",
        "eve",
        "--role",
        "nobody",
        "--product",
        "orders.order_events",
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(doc["decision"], "deny");
}

#[test]
fn a_quoted_attribute_stays_one_literal() {
    let (_, doc) = authorize(&[
        "--principal",
        "ana",
        "--role",
        "analyst",
        "--attr",
        "region=eu' OR '1'='1",
        "--product",
        "orders.order_events",
    ]);
    let sql = doc["row_filters"][0]["sql"].as_str().unwrap_or_default();
    assert!(sql.ends_with("'eu'' OR ''1''=''1'"), "{sql}");
}

#[test]
fn unknown_products_and_columns_fail_closed_and_bad_input_exits_2() {
    let (code, doc) = authorize(&[
        "--principal",
        "ana",
        "--role",
        "analyst",
        "--product",
        "orders.nope",
    ]);
    assert_eq!((code, doc["decision"].as_str()), (Some(1), Some("deny")));
    let (code, doc) = authorize(&[
        "--principal",
        "ana",
        "--role",
        "analyst",
        "--product",
        "orders.order_events",
        "--column",
        "no_such_column",
    ]);
    assert_eq!(code, Some(1));
    assert_eq!(column(&doc, "no_such_column")["effect"], "deny");
    let out = charter(&[
        "authorize",
        "--mesh",
        "testdata/mesh",
        "--principal",
        "ana",
        "--attr",
        "no-equals-sign",
        "--product",
        "orders.order_events",
    ]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn the_table_name_resolves_the_product() {
    let (code, doc) = authorize(&[
        "--principal",
        "ana",
        "--role",
        "analyst",
        "--table",
        "LAKE.ORDERS.ORDER_EVENTS",
    ]);
    assert_eq!(code, Some(0), "{doc}");
    assert_eq!(doc["product"]["id"], "orders.order_events");
}

#[test]
fn entities_prints_cedar_entities_for_the_mesh() {
    let out = charter(&["entities", "--mesh", "testdata/mesh"]);
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let entities = doc.as_array().expect("a Cedar entities array");
    let uid = |e: &serde_json::Value| {
        (
            e["uid"]["type"].as_str().unwrap_or_default().to_owned(),
            e["uid"]["id"].as_str().unwrap_or_default().to_owned(),
        )
    };
    assert!(
        entities
            .iter()
            .any(|e| uid(e) == ("DataProduct".to_owned(), "orders.order_events".to_owned())),
        "{doc}"
    );
    assert!(entities.iter().any(|e| uid(e).0 == "Column"));
    assert!(entities.iter().any(|e| uid(e).0 == "Domain"));
}

/// `--principals`: the directory completes the principal (roles of the user and of its
/// groups, attributes), and a bad file is an error naming its line.
#[test]
fn the_principal_directory_completes_the_principal() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("principals.yaml");
    std::fs::write(
        &file,
        "users:\n  ana: {roles: [analyst], attributes: {region: eu}, groups: [payments-readers]}\ngroups:\n  payments-readers: {roles: [restricted-reader, billing-reader]}\n",
    )
    .unwrap();
    let path = file.display().to_string();
    let args = ["--principal", "ana", "--product", "orders.order_events"];
    let (code, without) = authorize(&args);
    assert_eq!(code, Some(1), "no role without the directory: {without}");
    let (code, with) = authorize(&[&args[..], &["--principals", &path]].concat());
    assert_eq!(code, Some(0), "{with}");
    let filters = with["row_filters"].as_array().unwrap();
    assert_eq!(filters.len(), 1, "the directory's region attribute: {with}");
    assert_eq!(filters[0]["value"], "eu", "{with}");

    std::fs::write(&file, "users:\n  ana: {roles: analyst}\n").unwrap();
    let out = charter(&[
        "authorize",
        "--mesh",
        "testdata/mesh",
        "--principal",
        "ana",
        "--product",
        "orders.order_events",
        "--principals",
        &path,
    ]);
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("principals.yaml:2"), "{stderr}");
}
