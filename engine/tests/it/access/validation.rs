//! Policies are validated strictly when loaded: anything that does not parse, has no
//! unique `@id`, or does not validate against the schema is refused with its file and
//! line. And the other ways an engine refuses to build.

use std::collections::BTreeMap;

use charter_engine::access::{
    AccessEngine, AccessError, AccessPolicies, AccessRequest, Principal, ProductRef, RequestError,
};

use super::support::{default_pack, mesh_from_products, pack_with};

fn with(files: &[(&str, Option<&str>)]) -> Result<AccessPolicies, AccessError> {
    let overrides: BTreeMap<String, Option<String>> = files
        .iter()
        .map(|(p, t)| ((*p).to_owned(), t.map(str::to_owned)))
        .collect();
    AccessPolicies::from_pack(&pack_with(&overrides))
}

#[test]
fn the_default_pack_validates_without_warnings() {
    let policies = AccessPolicies::from_pack(&default_pack()).expect("the default pack validates");
    assert!(policies.warnings().is_empty(), "{:?}", policies.warnings());
    assert!(policies.has_row_filters());
    let ids: Vec<&str> = policies.policies().iter().map(|p| p.id.as_str()).collect();
    for id in [
        "query-granted-role",
        "query-owning-team",
        "forbid-retired-product",
        "forbid-restricted-without-clearance",
        "read-non-pii-column",
        "read-pii-column-as-pii-reader",
        "read-pii-column-masked",
    ] {
        assert!(ids.contains(&id), "{id} missing from {ids:?}");
    }
    let first = &policies.policies()[0];
    assert!(
        first.file.starts_with("cedar/") && first.line > 1,
        "{first:?}"
    );
}

#[test]
fn a_policy_that_does_not_validate_is_refused_with_file_and_line() {
    let bad = "// reads an attribute columns do not have\n\
               @id(\"reads-sensitivity\")\n\
               permit (principal, action == Action::\"read\", resource is Column)\n\
               when { resource.sensitivity == \"low\" };\n";
    let err = with(&[("cedar/bad.cedar", Some(bad))]).expect_err("refused");
    match &err {
        AccessError::Validation {
            file,
            line,
            policy,
            message,
        } => {
            assert_eq!(file, "cedar/bad.cedar");
            assert_eq!(*line, 4, "{err}");
            assert_eq!(policy, "reads-sensitivity");
            assert!(message.contains("sensitivity"), "{message}");
        }
        other => panic!("expected a validation error, got {other:?}"),
    }
    assert!(
        err.to_string()
            .starts_with("cedar/bad.cedar:4: policy `reads-sensitivity`"),
        "{err}"
    );
}

#[test]
fn a_set_of_mixed_types_is_refused() {
    let bad = "@id(\"mixed-types\")\nforbid (principal, action == Action::\"query\", resource is DataProduct)\n\
               when { [resource.id, 1].contains(\"x\") };\n";
    let err = with(&[("cedar/mixed.cedar", Some(bad))]).expect_err("refused");
    assert!(
        matches!(&err, AccessError::Validation { file, line: 3, .. } if file == "cedar/mixed.cedar"),
        "{err:?}"
    );
}

#[test]
fn an_unguarded_optional_attribute_is_refused() {
    let bad = "@id(\"unguarded\")\npermit (principal, action == Action::\"query\", resource is DataProduct)\n\
               when { resource.status == \"active\" };\n";
    let err = with(&[("cedar/unguarded.cedar", Some(bad))]).expect_err("refused");
    assert!(
        matches!(&err, AccessError::Validation { line: 3, .. }),
        "{err:?}"
    );
    assert!(err.to_string().contains("status"), "{err}");
}

#[test]
fn a_policy_that_does_not_parse_is_refused_with_file_and_line() {
    let bad = "@id(\"ok\")\npermit (principal, action, resource);\n\n@id(\"broken\")\npermit (principal action, resource);\n";
    let err = with(&[("cedar/broken.cedar", Some(bad))]).expect_err("refused");
    assert!(
        matches!(&err, AccessError::Parse { file, line: 5, .. } if file == "cedar/broken.cedar"),
        "{err:?}"
    );
}

#[test]
fn every_policy_needs_a_unique_id() {
    let no_id = "// fine\n\npermit (principal, action == Action::\"query\", resource);\n";
    let err = with(&[("cedar/no_id.cedar", Some(no_id))]).expect_err("refused");
    assert!(
        matches!(&err, AccessError::PolicyId { file, line: 3, .. } if file == "cedar/no_id.cedar"),
        "{err:?}"
    );

    let twice =
        "@id(\"query-granted-role\")\npermit (principal, action == Action::\"query\", resource);\n";
    let err = with(&[("cedar/twice.cedar", Some(twice))]).expect_err("refused");
    let text = err.to_string();
    assert!(
        text.contains("cedar/twice.cedar:1") && text.contains("cedar/products.cedar"),
        "{text}"
    );
}

#[test]
fn templates_are_refused() {
    let template = "@id(\"t\")\npermit (principal == ?principal, action, resource);\n";
    assert!(matches!(
        with(&[("cedar/t.cedar", Some(template))]),
        Err(AccessError::PolicyId { line: 1, .. })
    ));
}

#[test]
fn a_pack_without_a_schema_is_refused() {
    assert_eq!(
        with(&[("cedar/charter.cedarschema", None)]).expect_err("refused"),
        AccessError::NoSchema
    );
}

#[test]
fn a_schema_that_does_not_parse_is_refused_with_file_and_line() {
    let bad = "entity User = {\n  \"roles\": Set<String>,\n  \"groups\" Set<String>,\n};\n";
    let err = with(&[("cedar/charter.cedarschema", Some(bad))]).expect_err("refused");
    assert!(
        matches!(&err, AccessError::Schema { file, line: 3, .. } if file == "cedar/charter.cedarschema"),
        "{err:?}"
    );
}

#[test]
fn a_schema_that_does_not_describe_the_mesh_entities_is_refused() {
    let text = charter_policies::files()
        .into_iter()
        .find(|(p, _)| p == "cedar/charter.cedarschema")
        .map(|(_, t)| t.replace("\"tags\": Set<String>,\n};", "};"))
        .expect("the default schema");
    let pack = pack_with(&[("cedar/charter.cedarschema".to_owned(), Some(text))].into());
    let mesh = mesh_from_products(super::generate::products(2));
    let err = AccessEngine::new(&pack, &mesh).expect_err("refused");
    assert!(matches!(err, AccessError::Entities(_)), "{err:?}");
}

#[test]
fn bad_settings_and_rules_are_refused() {
    let settings = "access_decisions:\n  masking_aliases:\n    scramble: shuffle\n";
    let err = with(&[("data/zz-bad.yaml", Some(settings))]).expect_err("refused");
    assert!(
        matches!(&err, AccessError::Settings { key, .. } if key == "access_decisions.masking_aliases"),
        "{err:?}"
    );

    let rego =
        "package charter.access\n\nimport rego.v1\n\nrow_filters contains x if {\n  x := \n}\n";
    let err = with(&[("rego/access/row_filters.rego", Some(rego))]).expect_err("refused");
    assert!(matches!(err, AccessError::RowFilters(_)), "{err:?}");
}

#[test]
fn malformed_requests_are_refused_not_denied() {
    let engine = AccessEngine::new(
        &default_pack(),
        &mesh_from_products(super::generate::products(1)),
    )
    .expect("builds");
    let mut request = AccessRequest {
        principal: Principal {
            id: " ".into(),
            ..Principal::default()
        },
        product: ProductRef::Id("domain00.product0000".into()),
        columns: vec![],
        purpose: None,
        dialect: None,
    };
    assert_eq!(
        engine.decide(&request).expect_err("refused"),
        RequestError::MissingPrincipal
    );
    request.principal.id = "ana".into();
    request.columns = vec!["order_id".into(), String::new()];
    assert_eq!(
        engine.decide(&request).expect_err("refused"),
        RequestError::EmptyColumn(2)
    );
    request.columns.clear();
    request.product = ProductRef::Table(String::new());
    assert_eq!(
        engine.decide(&request).expect_err("refused"),
        RequestError::MissingProduct
    );
}

#[test]
fn the_entities_export_loads_into_cedar_with_the_schema() {
    let pack = default_pack();
    let mesh = mesh_from_products(super::generate::products(3));
    let engine = AccessEngine::new(&pack, &mesh).expect("builds");
    let json = engine.entities_json().expect("exports");
    let schema_text = charter_policies::files()
        .into_iter()
        .find(|(p, _)| p.ends_with(".cedarschema"))
        .map(|(_, t)| t)
        .expect("a schema");
    let (schema, _) =
        cedar_policy::Schema::from_cedarschema_str(schema_text).expect("the schema parses");
    let entities =
        cedar_policy::Entities::from_json_value(json, Some(&schema)).expect("the export conforms");
    // 1 domain per product here (3), 3 products, 24 columns each, and the schema's 5 actions
    // (query, read, readMasked, write, manage).
    assert_eq!(entities.len(), 3 + 3 + 3 * 24 + 5);
    let column: cedar_policy::EntityUid =
        r#"Column::"domain01.product0001/email""#.parse().expect("a uid");
    let product: cedar_policy::EntityUid =
        r#"DataProduct::"domain01.product0001""#.parse().expect("a uid");
    assert!(entities.is_ancestor_of(&product, &column));
}
