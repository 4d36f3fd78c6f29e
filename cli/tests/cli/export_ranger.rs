//! `charter export --target ranger`: the import files have the shape of Ranger's own
//! reference policies and service definition, every PII column is masked, every region
//! column filtered, the retired product gets no allow, names are quoted per dialect, the
//! output is deterministic and names its revisions, and `--check` reports drift.
#![cfg(test)]

use crate::common::{charter, repo};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use charter_engine::contract::ReaderSettings;
use charter_engine::mesh::{LoadOptions, Mesh};
use serde_json::Value;

/// Exports `mesh` to a fresh folder; the status, the files by table and stderr.
fn export(mesh: &str, extra: &[&str]) -> (Option<i32>, BTreeMap<String, Value>, String, Vec<u8>) {
    let dir = tempfile::tempdir().expect("a temporary folder");
    let out = dir.path().to_str().expect("utf-8 path");
    let mut args = vec![
        "export", "--target", "ranger", "--mesh", mesh, "--output", out,
    ];
    args.extend_from_slice(extra);
    let run = charter(&args);
    let mut files = BTreeMap::new();
    let mut raw = Vec::new();
    if let Ok(entries) = std::fs::read_dir(dir.path().join("ranger")) {
        let mut entries: Vec<_> = entries.flatten().map(|e| e.path()).collect();
        entries.sort();
        for path in entries {
            let text = std::fs::read(&path).expect("readable");
            raw.extend_from_slice(&text);
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let table = name
                .strip_suffix(".json")
                .expect("json files only")
                .to_owned();
            files.insert(table, serde_json::from_slice(&text).expect("valid JSON"));
        }
    }
    (
        run.status.code(),
        files,
        String::from_utf8_lossy(&run.stderr).into_owned(),
        raw,
    )
}

fn policies(file: &Value) -> &Vec<Value> {
    file["policies"].as_array().expect("a policies array")
}

fn of_type(file: &Value, t: u64) -> Vec<&Value> {
    policies(file)
        .iter()
        .filter(|p| p["policyType"] == t)
        .collect()
}

fn keys(v: &Value) -> BTreeSet<String> {
    v.as_object()
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

fn conformance() -> Option<PathBuf> {
    let dir = repo().join("../shared/conformance/export/ranger");
    if dir.is_dir() {
        return Some(dir);
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "../shared/conformance/export/ranger is missing (CI=true)"
    );
    eprintln!("skipped: ../shared/conformance/export/ranger is absent");
    None
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).expect("reference readable"))
        .expect("reference JSON")
}

#[test]
fn policies_have_the_shape_of_rangers_reference_import_and_service_definition() {
    let Some(dir) = conformance() else { return };
    let import = read_json(&dir.join("import_policy_test_file.json"));
    let engine_test = read_json(&dir.join("test_policyengine_hive_mask_filter.json"));
    let trino = read_json(&dir.join("ranger-servicedef-trino.json"));
    let reference: Vec<&Value> = import["policies"].as_array().unwrap().iter().collect();
    // Policy keys: every key ours has is a Ranger policy key, and ours has every key the
    // reference export has (but the ids Ranger assigns on import).
    let all: BTreeSet<String> = reference.iter().flat_map(|p| keys(p)).collect();
    let mut required = reference
        .iter()
        .map(|p| keys(p))
        .reduce(|a, b| &a & &b)
        .unwrap();
    required.remove("id");
    required.remove("guid");
    // Items: the reference's item keys; `roles` is the field Ranger 2 added for its roles
    // (the Trino service definition exists only from Ranger 2 on).
    let mut item_keys: BTreeSet<String> = reference
        .iter()
        .flat_map(|p| p["policyItems"].as_array().unwrap().iter().flat_map(keys))
        .collect();
    item_keys.insert("roles".into());
    let engine_items: Vec<&Value> = engine_test["policies"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|p| {
            ["dataMaskPolicyItems", "rowFilterPolicyItems"]
                .iter()
                .filter_map(|k| p[*k].as_array())
                .flatten()
        })
        .collect();
    let mask_info_keys: BTreeSet<String> = engine_items
        .iter()
        .flat_map(|i| keys(&i["dataMaskInfo"]))
        .chain(["valueExpr".to_owned()]) // CUSTOM's expression (RangerPolicyItemDataMaskInfo)
        .collect();
    let filter_info_keys: BTreeSet<String> = engine_items
        .iter()
        .flat_map(|i| keys(&i["rowFilterInfo"]))
        .collect();
    let resource_keys: BTreeSet<String> = reference
        .iter()
        .flat_map(|p| {
            keys(&p["resources"])
                .into_iter()
                .map(|k| keys(&p["resources"][&k]))
        })
        .flatten()
        .collect();
    let names = |v: &Value| -> BTreeSet<String> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| x["name"].as_str().unwrap().to_owned())
            .collect()
    };
    let access_resources = names(&trino["resources"]);
    let access_types = names(&trino["accessTypes"]);
    let mask_resources = names(&trino["dataMaskDef"]["resources"]);
    let mask_types = names(&trino["dataMaskDef"]["maskTypes"]);
    let filter_resources = names(&trino["rowFilterDef"]["resources"]);

    let (code, files, stderr, _) = export("testdata/mesh", &[]);
    assert!(matches!(code, Some(0 | 1)), "{stderr}");
    assert!(files.len() > 5, "{stderr}");
    let mut seen_types = BTreeSet::new();
    for (table, file) in &files {
        assert_eq!(keys(file), keys(&import), "{table}: top-level keys");
        for p in policies(file) {
            let ours = keys(p);
            assert!(ours.is_subset(&all), "{table}: {:?}", &ours - &all);
            assert!(
                required.is_subset(&ours),
                "{table}: {:?}",
                &required - &ours
            );
            assert_eq!(p["service"], trino["name"], "{table}");
            let policy_type = p["policyType"].as_u64().unwrap();
            seen_types.insert(policy_type);
            let resources = keys(&p["resources"]);
            let allowed = match policy_type {
                0 => &access_resources,
                1 => &mask_resources,
                2 => &filter_resources,
                other => panic!("{table}: policyType {other}"),
            };
            assert!(resources.is_subset(allowed), "{table}: {resources:?}");
            for r in &resources {
                assert_eq!(keys(&p["resources"][r]), resource_keys, "{table}");
            }
            for list in [
                "policyItems",
                "denyPolicyItems",
                "allowExceptions",
                "denyExceptions",
                "dataMaskPolicyItems",
                "rowFilterPolicyItems",
            ] {
                for item in p[list].as_array().unwrap() {
                    let mut ks = keys(item);
                    ks.remove("dataMaskInfo");
                    ks.remove("rowFilterInfo");
                    assert_eq!(ks, item_keys, "{table}: {list}");
                    for access in item["accesses"].as_array().unwrap() {
                        assert_eq!(
                            keys(access),
                            keys(&reference[0]["policyItems"][0]["accesses"][0])
                        );
                        assert!(access_types.contains(access["type"].as_str().unwrap()));
                    }
                    if list == "dataMaskPolicyItems" {
                        let info = &item["dataMaskInfo"];
                        assert!(keys(info).is_subset(&mask_info_keys), "{info}");
                        let t = info["dataMaskType"].as_str().unwrap();
                        assert!(mask_types.contains(t), "{table}: mask type {t}");
                        assert_eq!(t == "CUSTOM", info.get("valueExpr").is_some(), "{info}");
                    }
                    if list == "rowFilterPolicyItems" {
                        assert_eq!(keys(&item["rowFilterInfo"]), filter_info_keys);
                    }
                }
            }
        }
    }
    assert_eq!(seen_types, BTreeSet::from([0, 1, 2]));
    // The Hive dialect: Hive's resource names.
    let hive_def = &engine_test["serviceDef"];
    let hive_resources = names(&hive_def["resources"]);
    let (_, hive, stderr, _) = export("testdata/mesh", &["--dialect", "hive"]);
    assert_eq!(hive.len(), files.len(), "{stderr}");
    for file in hive.values() {
        for p in policies(file) {
            assert_eq!(p["service"], hive_def["name"]);
            assert!(keys(&p["resources"]).is_subset(&hive_resources));
        }
    }
}

fn sample_mesh() -> Mesh {
    Mesh::load(
        &repo().join("testdata/mesh"),
        &LoadOptions::default(),
        &ReaderSettings::default(),
    )
    .expect("the sample mesh loads")
}

#[test]
fn every_pii_column_is_masked_and_every_region_column_filtered() {
    let (_, files, stderr, _) = export("testdata/mesh", &[]);
    let mesh = sample_mesh();
    let mut pii_checked = 0;
    let mut regions_checked = 0;
    for product in mesh.products() {
        for interface in &product.interfaces {
            let Some(file) = files.get(interface.table.trim()) else {
                continue;
            };
            let access = of_type(file, 0);
            assert_eq!(access.len(), 1, "{}", interface.table);
            if access[0]["policyItems"].as_array().unwrap().is_empty() {
                continue; // nobody reads: nothing to mask
            }
            let masks: BTreeMap<String, &Value> = of_type(file, 1)
                .into_iter()
                .map(|p| {
                    (
                        p["resources"]["column"]["values"][0]
                            .as_str()
                            .unwrap()
                            .to_owned(),
                        p,
                    )
                })
                .collect();
            // The fields the interface serves (a multi-table product names its table).
            let served = |f: &&charter_engine::contract::Field| {
                interface.serves.is_empty()
                    || f.table == interface.serves
                    || product.tables.len() <= 1
            };
            for field in product.fields.iter().filter(served).filter(|f| f.pii) {
                let column = if field.physical_name.is_empty() {
                    &field.name
                } else {
                    &field.physical_name
                };
                let mask = masks
                    .get(column)
                    .unwrap_or_else(|| panic!("{}: no mask for PII `{column}`", interface.table));
                let items = mask["dataMaskPolicyItems"].as_array().unwrap();
                let last = items.last().unwrap();
                assert_eq!(last["groups"], serde_json::json!(["public"]), "{mask}");
                assert_ne!(last["dataMaskInfo"]["dataMaskType"], "MASK_NONE", "{mask}");
                pii_checked += 1;
            }
            if product
                .fields
                .iter()
                .filter(served)
                .any(|f| f.name == "region")
            {
                let filters = of_type(file, 2);
                assert_eq!(filters.len(), 1, "{}: {file}", interface.table);
                let items = filters[0]["rowFilterPolicyItems"].as_array().unwrap();
                assert_eq!(items[0]["roles"], serde_json::json!(["global-reader"]));
                assert_eq!(items[0]["rowFilterInfo"]["filterExpr"], "");
                assert_eq!(
                    items.last().unwrap()["rowFilterInfo"]["filterExpr"],
                    r#""region" = '${{USER.region}}'"#
                );
                regions_checked += 1;
            }
        }
    }
    assert!(
        pii_checked >= 5,
        "{pii_checked} PII columns checked; {stderr}"
    );
    assert!(
        regions_checked >= 2,
        "{regions_checked} region columns checked"
    );
}

#[test]
fn the_retired_product_gets_no_access_and_tables_charter_denies_are_refused_not_weakened() {
    let (code, files, stderr, _) = export("testdata/mesh", &[]);
    let mesh = sample_mesh();
    let retired: Vec<String> = mesh
        .products()
        .filter(|p| p.status.as_deref() == Some("retired"))
        .flat_map(|p| p.interfaces.iter().map(|i| i.table.trim().to_owned()))
        .collect();
    assert!(!retired.is_empty());
    for table in &retired {
        let file = files.get(table).expect("the retired table's file");
        for p in policies(file) {
            assert!(p["policyItems"].as_array().unwrap().is_empty(), "{p}");
            assert_eq!(p["policyType"], 0, "{p}");
        }
        let access = of_type(file, 0);
        assert_eq!(
            access[0]["denyPolicyItems"][0]["groups"],
            serde_json::json!(["public"])
        );
        assert!(access[0]["denyExceptions"].as_array().unwrap().is_empty());
    }
    // A reader who needs two roles at once is beyond a Ranger item: refused, named.
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("refused: product `billing.payment_methods`"),
        "{stderr}"
    );
    assert!(!files.contains_key("lake.billing.payment_methods"));
}

#[test]
fn output_is_deterministic_and_names_its_revisions() {
    let (_, first, _, raw_first) = export("testdata/mesh", &[]);
    let (_, _, _, raw_second) = export("testdata/mesh", &[]);
    assert_eq!(raw_first, raw_second);
    let revisions: BTreeSet<(String, String)> = first
        .values()
        .map(|f| {
            let m = &f["metaDataInfo"];
            let p = m["Charter policies revision"].as_str().unwrap().to_owned();
            let h = m["Charter mesh revision"].as_str().unwrap().to_owned();
            assert!(
                m["Generated from"].as_str().unwrap().contains(&p)
                    && m["Generated from"].as_str().unwrap().contains(&h)
            );
            (p, h)
        })
        .collect();
    assert_eq!(revisions.len(), 1);
    // Another mesh: another mesh revision, the same policy revision.
    let dir = tempfile::tempdir().unwrap();
    let payments =
        std::fs::read_to_string(repo().join("testdata/mesh/domains/billing/payments.yaml"))
            .unwrap();
    std::fs::write(dir.path().join("payments.yaml"), &payments).unwrap();
    let (_, other, stderr, _) = export(dir.path().to_str().unwrap(), &[]);
    let file = other
        .get("lake.billing.payments")
        .unwrap_or_else(|| panic!("{stderr}"));
    let (p, h) = revisions.into_iter().next().unwrap();
    assert_eq!(
        file["metaDataInfo"]["Charter policies revision"],
        p.as_str()
    );
    assert_ne!(file["metaDataInfo"]["Charter mesh revision"], h.as_str());
}

/// A copy of the default pack with the region filter on `column`, attribute `attribute`.
fn hostile_pack(dir: &Path, column: &str, attribute: &str) -> PathBuf {
    let pack = dir.join("policies");
    for entry in walkdir::WalkDir::new(repo().join("policies")) {
        let entry = entry.unwrap();
        let rel = entry.path().strip_prefix(repo().join("policies")).unwrap();
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(pack.join(rel)).unwrap();
        } else {
            std::fs::copy(entry.path(), pack.join(rel)).unwrap();
        }
    }
    let access = pack.join("data/access.yaml");
    let text = std::fs::read_to_string(&access).unwrap();
    let quoted = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let text = text
        .replace("- column: region", &format!("- column: {}", quoted(column)))
        .replace(
            "attribute: region",
            &format!("attribute: {}", quoted(attribute)),
        )
        .replace(
            "row_filter_columns: [region]",
            &format!("row_filter_columns: [{}]", quoted(column)),
        );
    std::fs::write(&access, text).unwrap();
    pack
}

/// The payments contract alone, with `region` renamed and `customer_id` renamed.
fn hostile_mesh(dir: &Path, region: &str, customer: &str) -> PathBuf {
    let mesh = dir.join("mesh");
    std::fs::create_dir_all(&mesh).unwrap();
    let quoted = |s: &str| format!("'{}'", s.replace('\'', "''"));
    let text = std::fs::read_to_string(repo().join("testdata/mesh/domains/billing/payments.yaml"))
        .unwrap()
        .replace("- name: region", &format!("- name: {}", quoted(region)))
        .replace(
            "- name: customer_id",
            &format!("- name: {}", quoted(customer)),
        );
    std::fs::write(mesh.join("payments.yaml"), text).unwrap();
    mesh
}

#[test]
fn hostile_column_names_are_quoted_per_dialect_and_hostile_attributes_refused() {
    let dir = tempfile::tempdir().unwrap();
    let column = "re\"gi`on";
    let customer = "cust'o\"mer id";
    let mesh = hostile_mesh(dir.path(), column, customer);
    let pack = hostile_pack(dir.path(), column, "region");
    let (mesh, pack) = (mesh.to_str().unwrap(), pack.to_str().unwrap());
    for (dialect, expected) in [
        ("trino", r#""re""gi`on" = '${{USER.region}}'"#),
        ("hive", r#"`re"gi``on` = '${{USER.region}}'"#),
    ] {
        let (code, files, stderr, _) = export(mesh, &["--policies", pack, "--dialect", dialect]);
        assert_eq!(code, Some(0), "{stderr}");
        let file = &files["lake.billing.payments"];
        let filter = of_type(file, 2);
        let items = filter[0]["rowFilterPolicyItems"].as_array().unwrap();
        assert_eq!(
            items.last().unwrap()["rowFilterInfo"]["filterExpr"],
            expected
        );
        let masked: Vec<&str> = of_type(file, 1)
            .iter()
            .map(|p| p["resources"]["column"]["values"][0].as_str().unwrap())
            .collect();
        assert_eq!(masked, [customer], "{dialect}");
    }
    // An attribute name that would break out of `${{USER.…}}`: refused, nothing written.
    let other = tempfile::tempdir().unwrap();
    let mesh = hostile_mesh(other.path(), "region", "customer_id");
    let pack = hostile_pack(other.path(), "region", "region}}' OR '1'='1");
    let (code, files, stderr, _) = export(
        mesh.to_str().unwrap(),
        &["--policies", pack.to_str().unwrap()],
    );
    assert_eq!(code, Some(1), "{stderr}");
    assert!(files.is_empty(), "{files:?}");
    assert!(
        stderr.contains("refused: product `billing.payments`") && stderr.contains("macro"),
        "{stderr}"
    );
    // A column Ranger would read as a wildcard or a token (`{USER}`): refused.
    for name in ["cust*", "{USER}"] {
        let wild = tempfile::tempdir().unwrap();
        let mesh = hostile_mesh(wild.path(), "region", name);
        let (code, files, stderr, _) = export(mesh.to_str().unwrap(), &[]);
        assert_eq!(code, Some(1), "{stderr}");
        assert!(files.is_empty() && stderr.contains("wildcard"), "{stderr}");
    }
}

#[test]
fn dialect_is_refused_where_it_means_nothing() {
    let dir = tempfile::tempdir().unwrap();
    for target in ["snowflake", "unity"] {
        let run = charter(&[
            "export",
            "--target",
            target,
            "--dialect",
            "hive",
            "--mesh",
            "testdata/mesh",
            "--output",
            dir.path().to_str().unwrap(),
        ]);
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains("--dialect hive"), "{stderr}");
    }
    assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
}

#[test]
fn check_reports_ranger_drift_per_table() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let run = |mode: &str| {
        charter(&[
            "export",
            "--target",
            "ranger",
            "--mesh",
            "testdata/mesh",
            mode,
            out,
        ])
    };
    run("--output");
    let clean = run("--check");
    let stdout = String::from_utf8_lossy(&clean.stdout).into_owned();
    assert!(stdout.contains(" 0 drifted"), "{stdout}");
    // The revisions alone do not drift; a widened mask does.
    let file = dir.path().join("ranger/lake.billing.payments.json");
    let text = std::fs::read_to_string(&file).unwrap();
    let mut v: Value = serde_json::from_str(&text).unwrap();
    v["metaDataInfo"]["Charter mesh revision"] = "0000".into();
    std::fs::write(&file, v.to_string()).unwrap();
    assert!(String::from_utf8_lossy(&run("--check").stdout).contains(" 0 drifted"));
    std::fs::write(&file, text.replace("MASK_HASH", "MASK_NONE")).unwrap();
    std::fs::remove_file(dir.path().join("ranger/lake.orders.order_lines.json")).unwrap();
    std::fs::write(dir.path().join("ranger/lake.gone.table.json"), "{}").unwrap();
    let drift = run("--check");
    let stdout = String::from_utf8_lossy(&drift.stdout);
    assert_eq!(drift.status.code(), Some(1), "{stdout}");
    assert!(
        stdout.contains("drift: lake.billing.payments: differs"),
        "{stdout}"
    );
    assert!(
        stdout.contains("drift: lake.orders.order_lines: not exported"),
        "{stdout}"
    );
    assert!(
        stdout.contains("drift: lake.gone.table: exported but no longer governed"),
        "{stdout}"
    );
    assert!(stdout.contains(" 3 drifted"), "{stdout}");
}
