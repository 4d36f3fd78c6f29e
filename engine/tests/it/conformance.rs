//! Replays the ODCS project's own example contracts (`../shared/conformance/odcs/`, beside
//! the repository; skipped with a message when absent, failing under `CI=true`): every
//! file is read, and its tables, physical names, columns and interfaces equal what the
//! file states (`testdata/conformance/odcs-expected.yaml`, written from the files);
//! the repository-wide rules complete over all of them.
#![cfg(test)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use charter_engine::PolicyPack;
use charter_engine::contract::{Product, ReaderSettings, read};
use charter_engine::mesh::{LoadOptions, Mesh};
use charter_engine::mesh_rules::MeshRules;
use serde::Deserialize;

#[derive(Debug, Deserialize, PartialEq, Eq)]
struct Expected {
    tables: Vec<ExpectedTable>,
    interfaces: Vec<String>,
}

#[derive(Debug, Deserialize, PartialEq, Eq)]
struct ExpectedTable {
    name: String,
    physical_name: String,
    columns: Vec<String>,
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The conformance folder, or `None` (with a message) when it is absent outside CI.
fn conformance() -> Option<PathBuf> {
    let dir = repo().join("../shared/conformance/odcs");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "`{}` is absent, and CI=true requires it",
        dir.display()
    );
    eprintln!(
        "skipped: `{}` is absent (the ODCS examples live beside the repository)",
        dir.display()
    );
    None
}

fn files(dir: &Path) -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.expect("walk the conformance folder");
        let rel = entry.path().strip_prefix(dir).expect("under the folder");
        let rel = rel.to_string_lossy().replace('\\', "/");
        if entry.file_type().is_file()
            && rel.ends_with(".yaml")
            && !rel.split('/').any(|part| part.starts_with('.'))
        {
            out.push((rel, entry.path().to_path_buf()));
        }
    }
    out
}

/// What Charter read, in the fixture's shape.
fn as_read(product: &Product) -> Expected {
    let tables = product
        .tables
        .iter()
        .map(|t| ExpectedTable {
            name: t.name.clone(),
            physical_name: t.physical_name.clone(),
            columns: product
                .fields
                .iter()
                .filter(|f| f.table == t.name)
                .map(|f| {
                    if f.path == f.physical_name {
                        f.path.clone()
                    } else {
                        format!("{} -> {}", f.path, f.physical_name)
                    }
                })
                .collect(),
        })
        .collect();
    let interfaces = product
        .interfaces
        .iter()
        .map(|i| {
            if i.serves.is_empty() {
                format!("{} {}", i.kind, i.table)
            } else {
                format!("{} {} serves {}", i.kind, i.table, i.serves)
            }
        })
        .collect();
    Expected { tables, interfaces }
}

#[test]
fn odcs_examples_read_as_the_files_state() {
    let Some(dir) = conformance() else { return };
    let text = std::fs::read_to_string(repo().join("testdata/conformance/odcs-expected.yaml"))
        .expect("the fixture");
    let expected: BTreeMap<String, Expected> = yaml_serde::from_str(&text).expect("fixture YAML");
    let found = files(&dir);
    assert_eq!(
        found.iter().map(|(rel, _)| rel.clone()).collect::<Vec<_>>(),
        expected.keys().cloned().collect::<Vec<_>>(),
        "the fixture covers every example, and only those"
    );
    for (rel, path) in found {
        let source = std::fs::read_to_string(&path).expect("read");
        let contract = read(&rel, &source, &ReaderSettings::default())
            .unwrap_or_else(|e| panic!("{rel}: not read: {e}"));
        assert_eq!(as_read(&contract.product), expected[&rel], "{rel}");
    }
}

#[test]
fn odcs_examples_keep_their_identity_and_service_levels() {
    let Some(dir) = conformance() else { return };
    let product = |rel: &str| {
        let source = std::fs::read_to_string(dir.join(rel)).expect("read");
        read(rel, &source, &ReaderSettings::default())
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
            .product
    };
    let full = product("all/full-example.odcs.yaml");
    assert_eq!(full.id, "seller.my quantum", "domain + dataProduct");
    assert_eq!(full.retention.as_ref().map(|r| r.days), Some(3 * 365));
    let sla = product("sla/database-table-sla.odcs.yaml");
    assert_eq!(sla.id, "my_quantum", "dataProduct, no domain");
    assert_eq!(
        sla.sla.freshness.as_ref().map(|f| f.seconds),
        Some(4 * 86_400)
    );
    let columns = product("all/postgresql-adventureworks-contract.odcs.yaml");
    assert_eq!(columns.tables.len(), 68);
    for name in [
        "emailaddress",
        "phonenumber",
        "addressline1",
        "nationalidnumber",
    ] {
        assert!(columns.fields.iter().any(|f| f.name == name), "{name}");
    }
}

#[test]
fn the_report_completes_over_the_odcs_examples() {
    let Some(dir) = conformance() else { return };
    let pack = PolicyPack::from_files(charter_policies::files()).expect("default pack");
    let mesh = Mesh::load(
        &dir,
        &LoadOptions::default(),
        &ReaderSettings::from_settings(pack.settings()),
    )
    .expect("load");
    assert!(mesh.failures().is_empty(), "{:?}", mesh.failures());
    assert_eq!(mesh.contracts().len(), 18);
    let findings = MeshRules::compile(&pack)
        .expect("compile")
        .expect("mesh rules")
        .evaluate(&mesh)
        .expect("the repository-wide rules complete");
    let errors: Vec<_> = findings
        .iter()
        .filter(|f| f.rule == "policy/error")
        .collect();
    assert!(errors.is_empty(), "every rule is total: {errors:?}");
    // Copies of one example (same contract id) are duplicates; the two Kafka examples
    // share the id `orders`.
    assert!(findings.iter().any(|f| {
        f.rule == "identity/duplicate_product_id"
            && f.file == "schema/kafka-schema.odcs.yaml"
            && f.message.contains("schema/kafka-schemaregistry.odcs.yaml")
    }));
    // Distinct contract ids of one data product are not duplicates.
    assert!(!findings.iter().any(|f| {
        f.rule == "identity/duplicate_product_id" && f.file == "schema/table-column.odcs.yaml"
    }));
}
