//! The default pack's repository-wide rules, each both ways, on small meshes.
#![cfg(test)]

use charter_engine::PolicyPack;
use charter_engine::cache::{CacheConfig, CacheKey};
use charter_engine::contract::ReaderSettings;
use charter_engine::mesh::{LoadOptions, Mesh};
use charter_engine::mesh_rules::MeshRules;
use charter_engine::report::Finding;

struct Product<'a> {
    id: &'a str,
    status: &'a str,
    upstream: &'a [&'a str],
    downstream: &'a [&'a str],
    fields: &'a [(&'a str, bool, Option<&'a str>)],
}

impl Product<'_> {
    fn yaml(&self) -> String {
        let (domain, _) = self.id.split_once('.').unwrap();
        let list = |items: &[&str]| {
            items
                .iter()
                .map(|i| format!("\"{i}\""))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let mut fields = String::new();
        for (name, pii, transform) in self.fields {
            fields.push_str(&format!("      - name: {name}\n        type: string\n        constraints: {{ pii: {pii}{} }}\n", if *pii { ", masking: hash" } else { "" }));
            if let Some(t) = transform {
                fields.push_str(&format!("        transform: {t}\n"));
            }
        }
        format!(
            "apiVersion: datamesh.io/v1\nkind: DataProduct\nmetadata:\n  name: {}\n  domain: {domain}\n  version: 1.0.0\nspec:\n  owner: team@acme.example\n  status: {}\n  schema:\n    fields:\n{fields}  lineage:\n    upstream: [{}]\n    downstream: [{}]\n",
            self.id,
            self.status,
            list(self.upstream),
            list(self.downstream)
        )
    }
}

fn findings(products: &[(&str, Product<'_>)]) -> Vec<Finding> {
    findings_with(charter_policies::files(), products)
}

fn findings_with(
    pack_files: Vec<(String, &'static str)>,
    products: &[(&str, Product<'_>)],
) -> Vec<Finding> {
    let dir = tempfile::tempdir().unwrap();
    for (file, product) in products {
        let path = dir.path().join(file);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, product.yaml()).unwrap();
    }
    let pack = PolicyPack::from_files(pack_files).unwrap();
    let mesh = Mesh::load(
        dir.path(),
        &LoadOptions::default(),
        &ReaderSettings::from_settings(pack.settings()),
    )
    .unwrap();
    assert!(mesh.failures().is_empty(), "{:?}", mesh.failures());
    MeshRules::compile(&pack)
        .unwrap()
        .expect("the default pack has mesh rules")
        .evaluate(&mesh)
        .unwrap()
}

fn p<'a>(id: &'a str, upstream: &'a [&'a str], downstream: &'a [&'a str]) -> Product<'a> {
    Product {
        id,
        status: "active",
        upstream,
        downstream,
        fields: &[("id", false, None)],
    }
}

fn has(found: &[Finding], rule: &str, file: &str) -> bool {
    found.iter().any(|f| f.rule == rule && f.file == file)
}

#[test]
fn duplicate_ids_are_reported_at_each_file() {
    let found = findings(&[
        ("a/one.yaml", p("orders.events", &[], &[])),
        ("b/two.yaml", p("orders.events", &[], &[])),
        ("c.yaml", p("orders.other", &[], &[])),
    ]);
    assert!(has(&found, "identity/duplicate_product_id", "a/one.yaml"));
    assert!(has(&found, "identity/duplicate_product_id", "b/two.yaml"));
    assert!(!has(&found, "identity/duplicate_product_id", "c.yaml"));
    let at_two = found.iter().find(|f| f.file == "b/two.yaml").unwrap();
    assert_eq!(at_two.line, 4, "at the id");
    assert!(at_two.message.contains("a/one.yaml"));
}

#[test]
fn lineage_references_must_resolve_or_be_external() {
    let found = findings(&[
        (
            "a.yaml",
            p(
                "orders.events",
                &["raw.kafka.events", "orders.missing"],
                &["billing.invoices"],
            ),
        ),
        ("b.yaml", p("billing.invoices", &["orders.events"], &[])),
    ]);
    let unresolved: Vec<&Finding> = found
        .iter()
        .filter(|f| f.rule == "lineage/unresolved_reference")
        .collect();
    assert_eq!(unresolved.len(), 1, "{found:?}");
    assert!(unresolved[0].message.contains("orders.missing"));
    assert_eq!(unresolved[0].line, 16, "at the upstream list");
    assert!(
        !has(&found, "lineage/missing_backlink", "a.yaml"),
        "billing lists orders back"
    );
}

#[test]
fn cycles_are_errors() {
    let found = findings(&[
        ("a.yaml", p("x.a", &["x.b"], &[])),
        ("b.yaml", p("x.b", &["x.a"], &[])),
        ("c.yaml", p("x.c", &["x.a"], &[])),
    ]);
    assert!(has(&found, "lineage/lineage_cycle", "a.yaml"));
    assert!(has(&found, "lineage/lineage_cycle", "b.yaml"));
    assert!(
        !has(&found, "lineage/lineage_cycle", "c.yaml"),
        "reading from a cycle is not a cycle"
    );
}

#[test]
fn a_downstream_that_does_not_list_its_upstream_is_a_warning() {
    let found = findings(&[
        ("a.yaml", p("x.a", &[], &["x.b"])),
        ("b.yaml", p("x.b", &[], &[])),
    ]);
    let warning = found
        .iter()
        .find(|f| f.rule == "lineage/missing_backlink")
        .expect("warned");
    assert_eq!(warning.severity, charter_engine::report::Severity::Warning);
    assert_eq!(warning.file, "a.yaml");
}

#[test]
fn reading_a_deprecated_upstream_is_a_warning() {
    let mut old = p("x.old", &[], &["x.new"]);
    old.status = "deprecated";
    let found = findings(&[("a.yaml", old), ("b.yaml", p("x.new", &["x.old"], &[]))]);
    assert!(has(&found, "lineage/deprecated_upstream", "b.yaml"));
    let found = findings(&[
        ("a.yaml", p("x.old", &[], &["x.new"])),
        ("b.yaml", p("x.new", &["x.old"], &[])),
    ]);
    assert!(!has(&found, "lineage/deprecated_upstream", "b.yaml"));
}

#[test]
fn pii_propagates_unless_a_transformation_removes_it() {
    let upstream = Product {
        id: "crm.customers",
        status: "active",
        upstream: &[],
        downstream: &[],
        fields: &[("email", true, None), ("region", false, None)],
    };
    let leaky = Product {
        id: "mkt.audience",
        status: "active",
        upstream: &["crm.customers"],
        downstream: &[],
        fields: &[("email", false, None), ("region", false, None)],
    };
    let found = findings(&[("crm.yaml", upstream), ("mkt.yaml", leaky)]);
    let leak: Vec<&Finding> = found
        .iter()
        .filter(|f| f.rule == "pii/unmarked_upstream_pii")
        .collect();
    assert_eq!(leak.len(), 1, "{found:?}");
    assert_eq!(
        (leak[0].file.as_str(), leak[0].line),
        ("mkt.yaml", 14),
        "at the field's pii constraint"
    );

    let upstream = Product {
        id: "crm.customers",
        status: "active",
        upstream: &[],
        downstream: &[],
        fields: &[("email", true, None)],
    };
    let hashed = Product {
        id: "mkt.audience",
        status: "active",
        upstream: &["crm.customers"],
        downstream: &[],
        fields: &[("email", false, Some("hash"))],
    };
    let marked = Product {
        id: "mkt.marked",
        status: "active",
        upstream: &["crm.customers"],
        downstream: &[],
        fields: &[("email", true, None)],
    };
    let found = findings(&[
        ("crm.yaml", upstream),
        ("mkt.yaml", hashed),
        ("marked.yaml", marked),
    ]);
    assert!(
        !found.iter().any(|f| f.rule == "pii/unmarked_upstream_pii"),
        "{found:?}"
    );
}

#[test]
fn duplicate_ids_with_different_values_never_fail_a_rule() {
    // One id in two contracts that disagree on status, lineage and PII: every
    // repository-wide rule still completes (no `policy/error`), the duplicate is reported.
    let mut old = Product {
        id: "crm.customers",
        status: "deprecated",
        upstream: &["crm.raw"],
        downstream: &[],
        fields: &[("email", true, None)],
    };
    let new = Product {
        id: "crm.customers",
        status: "active",
        upstream: &[],
        downstream: &[],
        fields: &[("email", false, None), ("phone", true, None)],
    };
    old.downstream = &["mkt.audience"];
    let reader = Product {
        id: "mkt.audience",
        status: "active",
        upstream: &["crm.customers"],
        downstream: &[],
        fields: &[("email", false, None), ("phone", false, None)],
    };
    let raw = p("crm.raw", &[], &[]);
    let found = findings(&[
        ("a.yaml", old),
        ("b.yaml", new),
        ("c.yaml", reader),
        ("d.yaml", raw),
    ]);
    assert!(!found.iter().any(|f| f.rule == "policy/error"), "{found:?}");
    assert!(has(&found, "identity/duplicate_product_id", "a.yaml"));
    assert!(has(&found, "identity/duplicate_product_id", "b.yaml"));
    // Both contracts' values count: one of them is deprecated, and both fields are PII in one.
    assert!(has(&found, "lineage/deprecated_upstream", "c.yaml"));
    let leaks = found
        .iter()
        .filter(|f| f.rule == "pii/unmarked_upstream_pii")
        .count();
    assert_eq!(leaks, 2, "{found:?}");
}

#[test]
fn a_failing_rule_becomes_a_finding_and_the_others_still_run() {
    let mut files = charter_policies::files();
    files.push((
        "rego/mesh/broken.rego".into(),
        "package charter.mesh.broken\n\nby_id := {p.id: p.status | some p in data.charter.products}\n\ndeny_strict contains {\"msg\": \"x\", \"product\": id} if {\n\tsome id, _ in by_id\n}\n\nwarn_other contains \"never\" if {\n\tfalse\n}\n",
    ));
    let mut old = p("crm.customers", &[], &[]);
    old.status = "deprecated";
    let found = findings_with(
        files,
        &[
            ("a.yaml", old),
            ("b.yaml", p("crm.customers", &[], &[])),
            ("c.yaml", p("crm.other", &["crm.missing"], &[])),
        ],
    );
    let errors: Vec<&Finding> = found.iter().filter(|f| f.rule == "policy/error").collect();
    assert_eq!(
        errors.len(),
        2,
        "one per contract the error names: {found:?}"
    );
    for error in &errors {
        assert!(
            error.message.contains("`broken/strict`"),
            "{}",
            error.message
        );
        assert!(
            error.message.contains("a.yaml, b.yaml"),
            "{}",
            error.message
        );
        assert_eq!(error.severity, charter_engine::report::Severity::Error);
    }
    assert_eq!(
        errors.iter().map(|f| f.file.as_str()).collect::<Vec<_>>(),
        ["a.yaml", "b.yaml"]
    );
    // The default pack's rules still gave their findings.
    assert!(has(&found, "identity/duplicate_product_id", "a.yaml"));
    assert!(has(&found, "lineage/unresolved_reference", "c.yaml"));
}

#[test]
fn odcs_contracts_are_duplicates_by_their_contract_id() {
    let odcs = |id: &str, table: &str| {
        format!(
            "apiVersion: v3.1.0\nkind: DataContract\nid: {id}\nversion: 1.0.0\nstatus: active\ndomain: sales\ndataProduct: orders\nschema:\n  - name: {table}\n    properties:\n      - {{name: id, logicalType: string}}\n"
        )
    };
    let dir = tempfile::tempdir().unwrap();
    for (file, text) in [
        ("a.yaml", odcs("c-1", "orders")),
        ("b.yaml", odcs("c-2", "lines")),
        ("c.yaml", odcs("c-1", "orders")),
    ] {
        std::fs::write(dir.path().join(file), text).unwrap();
    }
    let pack = PolicyPack::from_files(charter_policies::files()).unwrap();
    let mesh = Mesh::load(
        dir.path(),
        &LoadOptions::default(),
        &ReaderSettings::from_settings(pack.settings()),
    )
    .unwrap();
    assert!(mesh.products().all(|p| p.id == "sales.orders"));
    let found = MeshRules::compile(&pack)
        .unwrap()
        .unwrap()
        .evaluate(&mesh)
        .unwrap();
    let duplicates: Vec<(&str, &str)> = found
        .iter()
        .filter(|f| f.rule == "identity/duplicate_product_id")
        .map(|f| (f.file.as_str(), f.message.as_str()))
        .collect();
    assert_eq!(
        duplicates,
        [
            ("a.yaml", "contract id `c-1` is also declared in `c.yaml`"),
            ("c.yaml", "contract id `c-1` is also declared in `a.yaml`"),
        ],
        "two contracts of one data product with distinct ids are no duplicates"
    );
}

/// The report plan adds the repository-wide findings to the per-contract ones, serves them
/// from the cache on an unchanged repository, and keeps the mesh only when asked.
#[test]
fn the_report_plan_runs_both_stages_and_caches_the_repository_wide_one() {
    use charter_engine::check::{CheckOptions, NoProgress};
    use charter_engine::mesh::discover;
    use charter_engine::report::plan::ReportPlan;
    use charter_engine::rules::{RuleSet, RuleSetOptions};

    let products = || {
        [
            ("a.yaml", p("x.a", &["x.b"], &[])),
            ("b.yaml", p("x.b", &["x.a"], &[])),
        ]
    };
    let repo = tempfile::tempdir().unwrap();
    for (file, product) in products() {
        std::fs::write(repo.path().join(file), product.yaml()).unwrap();
    }
    let pack = PolicyPack::from_files(charter_policies::files()).unwrap();
    let rules = RuleSet::compile(&pack, RuleSetOptions::default()).unwrap();
    let mesh_rules = MeshRules::from_rules(&rules, &pack).unwrap();
    let reader = ReaderSettings::from_settings(pack.settings());
    let cache = tempfile::tempdir().unwrap();
    let options = CheckOptions {
        cache: Some(CacheConfig {
            dir: cache.path().to_path_buf(),
            key: CacheKey::derive("test"),
        }),
    };
    let files = discover(repo.path(), &LoadOptions::default()).unwrap();
    let plan = ReportPlan {
        rules: &rules,
        reader: &reader,
        options: &options,
        pack_revision: pack.revision(),
        mesh_rules: mesh_rules.as_ref(),
        keep_mesh: false,
    };

    let cold = plan.run(&files, &NoProgress).unwrap();
    assert!(cold.mesh.is_none());
    let repository_wide = findings(&products());
    assert!(
        has(&repository_wide, "lineage/lineage_cycle", "a.yaml"),
        "{repository_wide:?}"
    );
    for finding in &repository_wide {
        assert!(
            cold.report.findings.contains(finding),
            "{finding:?} is missing"
        );
    }
    let per_contract = ReportPlan {
        mesh_rules: None,
        ..plan
    }
    .run(&files, &NoProgress)
    .unwrap();
    assert_eq!(
        cold.report.findings.len(),
        per_contract.report.findings.len() + repository_wide.len()
    );

    let warm = plan.run(&files, &NoProgress).unwrap();
    assert_eq!(warm.report.findings, cold.report.findings);
    let kept = ReportPlan {
        keep_mesh: true,
        ..plan
    }
    .run(&files, &NoProgress)
    .unwrap();
    assert_eq!(kept.mesh.map(|m| m.contracts().len()), Some(2));
    assert_eq!(kept.report.findings, cold.report.findings);
}
