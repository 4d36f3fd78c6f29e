//! Contract readers: both formats normalize to one model, values keep their lines, and
//! every kind of bad file is a parse error with a line that points at the problem.
#![cfg(test)]

use charter_engine::contract::{Contract, ParseError, ReaderSettings, read, read_bytes};
use charter_engine::mesh::{LoadOptions, Mesh, discover};

fn mesh_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/mesh")
}

fn ok(text: &str) -> Contract {
    read("c.yaml", text, &ReaderSettings::default())
        .unwrap_or_else(|e| panic!("expected a contract, got {e}"))
}

fn err(text: &str) -> ParseError {
    read("c.yaml", text, &ReaderSettings::default()).expect_err("expected a parse error")
}

const SEED: &str = r#"apiVersion: datamesh.io/v1
kind: DataProduct
metadata:
  name: orders.order_events
  domain: orders
  version: 2.1.0
spec:
  owner: "team-orders@acme.example"
  status: active
  classification: internal
  retention: { period: "400d" }
  sla:
    freshness: "15m"
    availability: "99.9%"
  schema:
    type: avro
    fields:
      - name: order_id
        type: string
        constraints: { primary_key: true, null: false }
      - name: customer_id
        type: string
        constraints: { pii: true, masking: "hash" }
  quality:
    checks:
      - column: order_id
        assertion: expect_column_values_to_not_be_null
        threshold: 0.99
  lineage:
    upstream: ["raw.kafka.order_events"]
    downstream: ["billing.invoices"]
  access:
    roles: ["analyst", "data-scientist"]
    policies: ["PII-RED-ACT"]
  interfaces:
    - { type: trino, table: lake.orders.order_events }
"#;

#[test]
fn seed_format_normalizes_every_value() {
    let c = ok(SEED);
    let p = &c.product;
    assert_eq!(p.id, "orders.order_events");
    assert_eq!(p.domain, "orders");
    assert_eq!(p.name, "order_events");
    assert_eq!(p.version, "2.1.0");
    assert_eq!(p.owner.as_deref(), Some("team-orders@acme.example"));
    assert_eq!(p.retention.as_ref().map(|r| r.days), Some(400));
    assert_eq!(p.sla.freshness.as_ref().map(|f| f.seconds), Some(900));
    assert_eq!(p.sla.availability, Some(99.9));
    assert_eq!(p.fields.len(), 2);
    assert!(p.fields[0].primary_key && !p.fields[0].nullable);
    assert!(p.fields[1].pii && p.fields[1].nullable);
    assert_eq!(p.fields[1].masking.as_deref(), Some("hash"));
    assert_eq!(p.quality[0].kind, "not_null");
    assert_eq!(p.quality[0].field.as_deref(), Some("order_id"));
    assert_eq!(p.lineage.upstream, ["raw.kafka.order_events"]);
    assert_eq!(p.access.roles, ["analyst", "data-scientist"]);
    assert_eq!(p.interfaces[0].table, "lake.orders.order_events");
    assert_eq!(p.source.format, "datamesh/v1");
}

#[test]
fn seed_values_keep_their_lines() {
    let c = ok(SEED);
    let l = &c.locations;
    assert_eq!(l.line("id"), 4);
    assert_eq!(l.line("owner"), 8);
    assert_eq!(l.line("sla.availability"), 14);
    assert_eq!(l.line("fields[1]"), 21);
    assert_eq!(l.line("fields[1].masking"), 23);
    assert_eq!(l.line("quality[0].threshold"), 28);
    assert_eq!(l.line("access.roles[1]"), 33);
    // A path the file does not have falls back to its nearest ancestor.
    assert_eq!(l.line("fields[1].classification"), 21);
}

#[test]
fn missing_keys_point_at_their_parent() {
    let text = SEED.replace("  owner: \"team-orders@acme.example\"\n", "");
    let c = ok(&text);
    assert_eq!(c.product.owner, None);
    assert_eq!(c.locations.line("owner"), 7, "line of `spec:`");
}

#[test]
fn odcs_examples_normalize() {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/schemas/odcs-examples");
    let full = std::fs::read_to_string(dir.join("full-example.odcs.yaml")).unwrap();
    let c = ok(&full);
    let p = &c.product;
    assert_eq!(
        p.id, "seller.my quantum",
        "no `name`: `dataProduct` under its domain"
    );
    assert_eq!(
        p.contract_id.as_deref(),
        Some("53581432-6c55-4ba2-a65f-72344a91553a")
    );
    assert_eq!(
        p.owner.as_deref(),
        Some("daustin"),
        "v3.1 team object: the member with role Owner"
    );
    assert_eq!(p.retention.as_ref().map(|r| r.days), Some(3 * 365));
    assert_eq!(
        p.sla.freshness.as_ref().map(|f| f.seconds),
        Some(4 * 86_400)
    );
    assert_eq!(
        p.access.roles,
        [
            "microstrategy_user_opr",
            "bq_queryman_user_opr",
            "risk_data_access_opr"
        ],
        "the roles with `access: read`"
    );
    assert_eq!(
        p.access.write_roles,
        ["bq_unica_user_opr"],
        "`access: write` grants no read"
    );
    assert!(
        p.fields
            .iter()
            .any(|f| f.name == "rcvr_id" && f.primary_key)
    );
    assert!(
        p.quality
            .iter()
            .any(|q| q.field.as_deref() == Some("rcvr_cntry_code") && q.kind == "not_null")
    );
    assert!(
        p.interfaces
            .iter()
            .any(|i| i.table == "pypl-edw.pp_access_views.tbl_1")
    );
    assert_eq!(c.locations.line("id"), 3);

    let aw =
        std::fs::read_to_string(dir.join("postgresql-adventureworks-contract.odcs.yaml")).unwrap();
    let c = ok(&aw);
    assert_eq!(c.product.source.api_version, "v3.0.0");
    assert!(c.product.fields.len() > 100);
}

#[test]
fn odcs_pii_masking_and_v30_team_list() {
    let text = r"apiVersion: v3.0.0
kind: DataContract
id: 6aeafdc1-ed62-4c8f-bf0a-da1061c98cdb
domain: customer-engagement
name: customer_profiles
version: 1.0.0
status: active
servers:
  - { server: lake, type: trino, catalog: lake, schema: customer_engagement }
schema:
  - name: customer_profiles
    physicalName: customer_profiles
    properties:
      - name: email
        logicalType: string
        classification: pii
        customProperties:
          - { property: masking, value: hash }
      - name: phone
        logicalType: string
        tags: [gdpr]
      - name: region
        logicalType: string
        required: true
team:
  - { username: team-ce@acme.example, role: Owner }
roles:
  - { role: analyst, access: read }
slaProperties:
  - { property: latency, value: 15, unit: m }
  - { property: availability, value: 99.9 }
customProperties:
  - { property: classification, value: confidential }
  - { property: upstream, value: [raw.crm.customers] }
";
    let c = ok(text);
    let p = &c.product;
    assert_eq!(p.id, "customer-engagement.customer_profiles");
    assert_eq!(p.owner.as_deref(), Some("team-ce@acme.example"));
    assert!(p.fields[0].pii);
    assert_eq!(p.fields[0].masking.as_deref(), Some("hash"));
    assert!(p.fields[1].pii, "a PII tag from the settings");
    assert!(!p.fields[2].pii && !p.fields[2].nullable);
    assert_eq!(p.classification.as_deref(), Some("confidential"));
    assert_eq!(p.lineage.upstream, ["raw.crm.customers"]);
    assert_eq!(p.sla.availability, Some(99.9));
    assert_eq!(
        p.interfaces[0].table,
        "lake.customer_engagement.customer_profiles"
    );
    assert_eq!(c.locations.line("fields[0].masking"), 18);
    assert_eq!(c.locations.line("access.roles[0]"), 28);
}

#[test]
fn invalid_yaml_reports_the_line() {
    let e = err(
        "apiVersion: datamesh.io/v1\nkind: DataProduct\nmetadata:\n  name: [a, b\n  domain: x\n",
    );
    assert!(e.message.starts_with("not valid YAML"), "{}", e.message);
    assert!((4..=5).contains(&e.line), "line {}", e.line);
}

#[test]
fn wrong_types_report_the_key_and_what_was_expected() {
    let text = SEED.replace(
        "  sla:\n    freshness: \"15m\"\n    availability: \"99.9%\"\n",
        "  sla:\n    - freshness: \"15m\"\n",
    );
    let e = err(&text);
    assert!(e.message.contains("spec.sla"), "{}", e.message);
    assert!(
        e.message.contains("freshness"),
        "says what was expected: {}",
        e.message
    );
    assert_eq!(e.line, 12, "the line of `sla:`");

    let e = err(&SEED.replace("availability: \"99.9%\"", "availability: \"high\""));
    assert!(e.message.contains("percentage"), "{}", e.message);
    assert_eq!(e.line, 14);

    let e = err(&SEED.replace("freshness: \"15m\"", "freshness: \"soon\""));
    assert!(e.message.contains("duration"), "{}", e.message);
    assert_eq!(e.line, 13);

    // A value read through a type of its own (a list of text): the line is that of the key
    // serde was at (`tags:`), though YAML's message names only the mapping above it.
    let e = err(&SEED.replace("  version: 2.1.0\n", "  version: 2.1.0\n  tags: {a: 1}\n"));
    assert!(e.message.contains("a list of text values"), "{}", e.message);
    assert_eq!(e.line, 7, "the line of `tags:`: {}", e.message);
}

#[test]
fn unknown_formats_are_named() {
    let e = err("apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: x\n");
    assert!(
        e.message.contains("unknown contract format") && e.message.contains("Deployment"),
        "{}",
        e.message
    );
    assert_eq!(e.line, 2);
    let e = err("apiVersion: datamesh.io/v9\nkind: DataProduct\n");
    assert!(e.message.contains("datamesh.io/v9"));
    assert_eq!(e.line, 1);
    assert!(err("").message.contains("empty"));
    assert!(err("- a\n- b\n").message.contains("mapping"));
}

#[test]
fn hostile_bytes_are_parse_errors() {
    let s = ReaderSettings::default();
    let e = read_bytes("c.yaml", b"apiVersion: x\nkind: \xff\xfe\n", &s).unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("UTF-8"));
    let e = read_bytes("c.yaml", b"apiVersion: x\n\0", &s).unwrap_err();
    assert!(e.message.contains("NUL"));
    let e = read_bytes("c.yaml", b"[#a", &s).unwrap_err();
    assert_eq!(
        e.line, 1,
        "inside the file, not past its end: {}",
        e.message
    );
    // Lines end where YAML ends them: LF, CR LF, or a lone CR (old Mac files).
    let e = read_bytes("c.yaml", b"apiVersion: x\rkind: y\r\nname: \0", &s).unwrap_err();
    assert_eq!(e.line, 3, "{}", e.message);
    let with_bom = format!("\u{feff}{SEED}");
    assert!(
        read_bytes("c.yaml", with_bom.as_bytes(), &s).is_ok(),
        "a byte-order mark is skipped"
    );
    let e = err(&format!("{SEED}---\n{SEED}"));
    assert!(
        e.message.contains("more than one document"),
        "{}",
        e.message
    );
    let e = err(&SEED.replace("  status: active\n", "  status: active\n  status: draft\n"));
    assert!(e.message.contains("duplicate"), "{}", e.message);
}

#[test]
fn sample_mesh_loads_with_its_bad_files_reported() {
    let mesh = Mesh::load(
        &mesh_dir(),
        &LoadOptions::default(),
        &ReaderSettings::default(),
    )
    .unwrap();
    let failures: Vec<(&str, u32)> = mesh
        .failures()
        .iter()
        .map(|f| (f.file.as_str(), f.line))
        .collect();
    assert_eq!(failures.len(), 3, "{failures:?}");
    assert!(
        failures
            .iter()
            .any(|(f, _)| f.ends_with("orders/broken.yaml"))
    );
    assert!(
        failures
            .iter()
            .any(|(f, l)| f.ends_with("inventory/wrong_types.yaml") && *l == 14)
    );
    assert!(
        failures
            .iter()
            .any(|(f, l)| f.ends_with("billing/unknown_kind.yaml") && *l == 3)
    );
    assert!(mesh.products().count() >= 12);
    assert!(mesh.product("orders.order_events").is_some());
    assert!(mesh.product_by_table("LAKE.ORDERS.ORDER_EVENTS").is_some());
    let files = discover(&mesh_dir(), &LoadOptions::default()).unwrap();
    assert!(
        files
            .iter()
            .all(|f| f.display.ends_with(".yaml") || f.display.ends_with(".yml")),
        "README.md and notes.txt are skipped by rule"
    );
}

#[test]
fn alias_bombs_and_deep_nesting_are_refused_quickly() {
    // "Billion laughs": nine levels of nine aliases each.
    let mut bomb = String::from(
        "apiVersion: datamesh.io/v1\nkind: DataProduct\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n",
    );
    for i in 1..10 {
        let p = i - 1;
        bomb.push_str(&format!(
            "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
        ));
    }
    bomb.push_str("metadata: *a9\nspec: {}\n");
    let start = std::time::Instant::now();
    let e = err(&bomb);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(2),
        "took {:?}",
        start.elapsed()
    );
    assert!(!e.message.is_empty());

    let deep = format!(
        "apiVersion: datamesh.io/v1\nkind: DataProduct\nmetadata: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let e = err(&deep);
    assert!(
        e.message.contains("recursion")
            || e.message.contains("nest")
            || e.message.contains("wrong type"),
        "{}",
        e.message
    );
}

#[cfg(unix)]
#[test]
fn symlink_loops_and_unreadable_files_do_not_stop_a_load() {
    let dir = tempfile::tempdir().unwrap();
    let domain = dir.path().join("domains/orders");
    std::fs::create_dir_all(&domain).unwrap();
    std::fs::write(domain.join("order_events.yaml"), SEED).unwrap();
    std::os::unix::fs::symlink(dir.path().join("domains"), domain.join("loop")).unwrap();
    std::os::unix::fs::symlink(
        dir.path().join("missing.yaml"),
        domain.join("dangling.yaml"),
    )
    .unwrap();
    let mesh = Mesh::load(
        dir.path(),
        &LoadOptions::default(),
        &ReaderSettings::default(),
    )
    .unwrap();
    assert_eq!(
        mesh.products().count(),
        1,
        "the loop is not followed forever"
    );
    assert!(
        mesh.failures()
            .iter()
            .any(|f| f.file.ends_with("dangling.yaml") && f.message.contains("cannot read")),
        "{:?}",
        mesh.failures()
    );
}

#[test]
fn oversized_files_are_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let big = dir.path().join("big.yaml");
    std::fs::write(&big, format!("{SEED}# {}\n", "x".repeat(2 * 1024 * 1024))).unwrap();
    let mesh = Mesh::load(
        dir.path(),
        &LoadOptions::default(),
        &ReaderSettings::default(),
    )
    .unwrap();
    let failure = &mesh.failures()[0];
    assert!(
        failure.message.contains("over the limit"),
        "{}",
        failure.message
    );
}

/// A wide alias bomb: one anchored list of many items, repeated by as many aliases. It
/// stays under the file-size limit and under yaml_serde's own repetition limit (which
/// counts alias jumps, not what they expand to), so only the node limit stops it: without
/// it, reading this half-megabyte file took over a minute.
#[test]
fn a_wide_alias_bomb_is_refused_by_the_node_limit() {
    let mut text = String::from("apiVersion: datamesh.io/v1\nkind: DataProduct\nx: &a\n");
    text.push_str(&"  - a\n".repeat(40_000));
    text.push_str("y:\n");
    text.push_str(&"  - *a\n".repeat(40_000));
    text.push_str("metadata: {}\n");
    assert!(text.len() < 1024 * 1024);
    let start = std::time::Instant::now();
    let e = err(&text);
    assert!(
        start.elapsed() < std::time::Duration::from_secs(5),
        "took {:?}",
        start.elapsed()
    );
    assert!(e.message.contains("--max-nodes"), "{}", e.message);
    assert!(e.message.contains("100000"), "{}", e.message);
    assert!(
        e.line > 40_000,
        "points at the alias that crossed the limit"
    );
}

#[test]
fn every_limit_is_configurable_and_named_in_its_error() {
    use charter_engine::contract::ContractLimits;
    let with = |limits: ContractLimits| ReaderSettings {
        limits,
        ..ReaderSettings::default()
    };
    let defaults = ContractLimits::default();
    assert!(read("c.yaml", SEED, &with(defaults)).is_ok());

    let shallow = with(ContractLimits {
        max_depth: 3,
        ..defaults
    });
    let e = read("c.yaml", SEED, &shallow).unwrap_err();
    assert!(
        e.message.contains("3 levels (--max-depth)"),
        "{}",
        e.message
    );
    assert_eq!(e.line, 18, "the `fields` list, four levels down");

    let few = with(ContractLimits {
        max_nodes: 20,
        ..defaults
    });
    let e = read("c.yaml", SEED, &few).unwrap_err();
    assert!(e.message.contains("20 YAML nodes"), "{}", e.message);

    let narrow = with(ContractLimits {
        max_line_length: 40,
        ..defaults
    });
    let e = read("c.yaml", SEED, &narrow).unwrap_err();
    assert!(
        e.message.contains("40 bytes (--max-line-length)"),
        "{}",
        e.message
    );
    assert_eq!(e.line, 20, "{}", e.message);

    // A very long line within the limit is read.
    let long = SEED.replace(
        "  status: active\n",
        &format!(
            "  status: active\n  description: \"{}\"\n",
            "x".repeat(60_000)
        ),
    );
    assert!(read("c.yaml", &long, &with(defaults)).is_ok());
}

#[test]
fn a_contract_of_several_tables_keeps_each_table_its_columns_and_locations() {
    let path = mesh_dir().join("domains/orders/fulfilment.yaml");
    let text = std::fs::read_to_string(&path).expect("the sample contract");
    let p = ok(&text).product;
    assert_eq!(p.id, "orders.fulfilment", "domain + dataProduct");
    let tables: Vec<(&str, &str)> = p
        .tables
        .iter()
        .map(|t| (t.name.as_str(), t.physical_name.as_str()))
        .collect();
    assert_eq!(
        tables,
        [
            ("pick_lists", "pick_lists_v2"),
            ("parcel_events", "parcel_events")
        ]
    );
    let columns: Vec<(&str, &str, &str)> = p
        .fields
        .iter()
        .map(|f| (f.table.as_str(), f.path.as_str(), f.physical_name.as_str()))
        .collect();
    assert_eq!(
        columns,
        [
            ("pick_lists", "pick_list_id", "pick_id"),
            ("pick_lists", "order_id", "order_id"),
            ("pick_lists", "picker_email", "picker_mail"),
            ("pick_lists", "warehouse_region", "region"),
            ("pick_lists", "picked_at", "picked_at"),
            ("parcel_events", "event_id", "event_id"),
            ("parcel_events", "order_id", "order_id"),
            ("parcel_events", "recipient", "rcpt"),
            ("parcel_events", "recipient.full_name", "rcpt.name"),
            ("parcel_events", "recipient.postal_code", "rcpt.postal_code"),
            ("parcel_events", "scanned_at", "scanned_at"),
        ]
    );
    let full_name = &p.fields[8];
    assert!(full_name.pii, "tagged `sensitive`");
    assert_eq!(full_name.masking.as_deref(), Some("redact"));
    let interfaces: Vec<(&str, &str, &str)> = p
        .interfaces
        .iter()
        .map(|i| (i.kind.as_str(), i.table.as_str(), i.serves.as_str()))
        .collect();
    assert_eq!(
        interfaces,
        [
            ("trino", "lake.fulfilment.pick_lists_v2", "pick_lists"),
            ("kafka", "pick_lists_v2", "pick_lists"),
            ("s3", "s3://acme-fulfilment/pick_lists_v2/", "pick_lists"),
            ("trino", "lake.fulfilment.parcel_events", "parcel_events"),
            ("kafka", "parcel_events", "parcel_events"),
            ("s3", "s3://acme-fulfilment/parcel_events/", "parcel_events"),
        ]
    );
    assert_eq!(p.access.roles, ["analyst"]);
    assert_eq!(p.access.write_roles, ["ops-analyst"]);
    assert_eq!(
        p.sla.freshness.as_ref().map(|f| f.seconds),
        Some(30 * 60),
        "`Latency`"
    );
    assert_eq!(p.retention.as_ref().map(|r| r.days), Some(400), "`rt`");
    let bounds = &p.quality[0].bounds;
    assert_eq!(bounds.get("must_be_greater_than"), Some(&0.0));
    assert_eq!(bounds.get("must_be_less_or_equal_to"), Some(&100_000_000.0));
    assert_eq!(p.quality[0].table.as_deref(), Some("pick_lists"));
    assert_eq!(p.quality[1].field.as_deref(), Some("pick_list_id"));
}
