//! Fail closed (issue 7): anything the access engine cannot decide is denied, with the
//! reason, and an error anywhere never turns into an allow.
//!
//! Each test below asserts the denial *and* that a reason names what went wrong. Cases
//! already covered by the data-driven access cases are not repeated here:
//! - `testdata/access/evaluation_error.yaml`: a forbid whose arithmetic overflows, on a
//!   product and on a column;
//! - `testdata/access/row_filter_error.yaml`: a row filter with an unknown operator, or
//!   naming a column the product lacks;
//! - `testdata/access/resolution.yaml`: an unknown product (by id and by table, the
//!   unreadable contracts named), an unknown column;
//! - `testdata/access/columns.yaml`: a PII column whose contract names no masking method,
//!   or a method Charter cannot express, is denied;
//! - `testdata/access/duplicates.yaml`: product ids, tables and columns declared twice;
//! - `tests/access/validation.rs`: malformed requests are refused (`Err`), packs that do
//!   not validate are refused when the engine is built.
//!
//! Fixture packs: `testdata/policies/erroring_access` (Cedar policies that fail when
//! evaluated) and `testdata/policies/erroring_row_filters` (a row-filter rule that fails).
#![expect(
    clippy::unwrap_used,
    reason = "test helpers and property bodies outside #[test] functions: a broken fixture should stop the test loudly"
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use charter_engine::PolicyPack;
use charter_engine::access::{
    AccessEngine, AccessError, AccessPolicies, AccessRequest, ColumnEffect, Decision, Dialect,
    Outcome, PolicyOutcome, Principal, ProductEffect, ProductRef, Reason,
};
use charter_engine::contract::ReaderSettings;
use charter_engine::mesh::{LoadOptions, Mesh};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------
// Helpers

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf()
}

/// The default pack with files added or replaced (`Some`) or removed (`None`).
fn pack_with(overrides: &[(&str, Option<&str>)]) -> PolicyPack {
    let mut files: BTreeMap<String, String> = charter_policies::files()
        .into_iter()
        .map(|(p, t)| (p, t.to_owned()))
        .collect();
    for (path, text) in overrides {
        match text {
            Some(text) => files.insert((*path).to_owned(), (*text).to_owned()),
            None => files.remove(*path),
        };
    }
    PolicyPack::from_files(files).unwrap()
}

/// A fixture pack of `testdata/policies/`.
fn fixture_pack(name: &str) -> PolicyPack {
    PolicyPack::from_dir(&workspace_root().join("testdata/policies").join(name)).unwrap()
}

fn load_mesh(folder: &str, pack: &PolicyPack) -> Mesh {
    Mesh::load(
        &workspace_root().join(folder),
        &LoadOptions::default(),
        &ReaderSettings::from_settings(pack.settings()),
    )
    .unwrap()
}

/// The engine of `pack` over the access-case mesh (`testdata/access/mesh`).
fn access_engine(pack: &PolicyPack) -> AccessEngine {
    AccessEngine::new(pack, &load_mesh("testdata/access/mesh", pack)).unwrap()
}

fn principal(id: &str, roles: &[&str], groups: &[&str], attributes: &[(&str, &str)]) -> Principal {
    Principal {
        id: id.to_owned(),
        roles: roles.iter().map(|s| (*s).to_owned()).collect(),
        groups: groups.iter().map(|s| (*s).to_owned()).collect(),
        attributes: attributes
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect(),
    }
}

fn request(principal: Principal, product: ProductRef, columns: &[&str]) -> AccessRequest {
    AccessRequest {
        principal,
        product,
        columns: columns.iter().map(|s| (*s).to_owned()).collect(),
        purpose: None,
        dialect: None,
    }
}

fn id(product: &str) -> ProductRef {
    ProductRef::Id(product.to_owned())
}

/// Ana may query `sales.orders` (the contract grants `analyst`).
fn ana() -> Principal {
    principal("ana", &["analyst"], &[], &[])
}

/// Every reason, product's and columns', for failure messages.
fn all_reasons(d: &Decision) -> String {
    serde_json::to_string_pretty(d).unwrap()
}

/// A reason names `needle` (in its policy id or its message).
fn has_reason(reasons: &[Reason], needle: &str) -> bool {
    reasons.iter().any(|r| {
        r.policy.as_deref().is_some_and(|p| p.contains(needle)) || r.message.contains(needle)
    })
}

/// The whole request is denied, and the product's reasons name every one of `why`.
#[track_caller]
fn assert_denied(d: &Decision, why: &[&str]) {
    assert_eq!(d.decision, Outcome::Deny, "{}", all_reasons(d));
    assert_eq!(d.product.effect, ProductEffect::Deny, "{}", all_reasons(d));
    assert!(d.row_filters.is_empty(), "{}", all_reasons(d));
    for column in &d.columns {
        assert_eq!(column.effect, ColumnEffect::Deny, "{}", all_reasons(d));
        assert!(column.mask_method.is_none() && column.mask_expression.is_none());
        assert!(!column.reasons.is_empty(), "{}", all_reasons(d));
    }
    for needle in why {
        assert!(
            has_reason(&d.reasons, needle),
            "no reason names `{needle}`: {}",
            all_reasons(d)
        );
    }
}

/// `decide` and `explain` give the same answer (the explanation takes the slow path:
/// every policy asked, no plan).
fn decide_both(engine: &AccessEngine, r: &AccessRequest) -> [Decision; 2] {
    [engine.decide(r).unwrap(), engine.explain(r).unwrap()]
}

/// What plain Cedar answers, with the entities of the engine and the request's principal:
/// Cedar skips a policy that fails, so a failing forbid lets a satisfied permit through.
fn plain_cedar(
    engine: &AccessEngine,
    pack: &PolicyPack,
    principal: &str,
    roles: &[&str],
    action: &str,
    resource: &str,
) -> cedar_policy::Response {
    let mut policies = cedar_policy::PolicySet::new();
    for file in pack.files_in("cedar", ".cedar") {
        let parsed = cedar_policy::PolicySet::from_str(&file.text).unwrap();
        for p in parsed.policies() {
            let id = p.annotation("id").unwrap();
            policies
                .add(p.new_id(cedar_policy::PolicyId::new(id)))
                .unwrap();
        }
    }
    let mut entities = engine.entities_json().unwrap();
    entities.as_array_mut().unwrap().push(serde_json::json!({
        "uid": {"type": "User", "id": principal},
        "attrs": {"roles": roles, "groups": []},
        "parents": [],
    }));
    let entities = cedar_policy::Entities::from_json_value(entities, None).unwrap();
    let uid = |s: &str| cedar_policy::EntityUid::from_str(s).unwrap();
    let request = cedar_policy::Request::new(
        uid(&format!("User::{principal:?}")),
        uid(&format!("Action::{action:?}")),
        uid(resource),
        cedar_policy::Context::empty(),
        None,
    )
    .unwrap();
    cedar_policy::Authorizer::new().is_authorized(&request, &policies, &entities)
}

// ---------------------------------------------------------------------------------------
// Cedar evaluation errors

/// A permit that names an entity not in the entity set fails for every principal but the
/// one that brings it. Failing, it allows nothing — not even beside a permit that holds.
const ERRORING_PERMIT: &str = r#"
@id("auditor-vouches")
permit (principal, action == Action::"query", resource is DataProduct)
when { User::"auditor".roles.contains("auditor") };
"#;

#[test]
fn an_erroring_permit_never_allows() {
    let pack = pack_with(&[("cedar/zz-erroring.cedar", Some(ERRORING_PERMIT))]);
    let engine = access_engine(&pack);

    // A principal no other policy permits: the failing permit does not allow.
    let nobody = request(
        principal("nobody", &[], &[], &[]),
        id("hr.people"),
        &["employee_id"],
    );
    for d in decide_both(&engine, &nobody) {
        assert_denied(
            &d,
            &[
                "auditor-vouches",
                "failed to evaluate",
                r#"User::"auditor"` does not exist"#,
            ],
        );
    }

    // Beside a permit that holds (Ana's granted role), Cedar alone would allow: it skips
    // the failing permit. Charter denies, naming it.
    let cedar = plain_cedar(
        &engine,
        &pack,
        "ana",
        &["analyst"],
        "query",
        r#"DataProduct::"sales.orders""#,
    );
    assert_eq!(cedar.decision(), cedar_policy::Decision::Allow);
    assert_eq!(cedar.diagnostics().errors().count(), 1);
    let r = request(ana(), id("sales.orders"), &["order_id", "email"]);
    for d in decide_both(&engine, &r) {
        assert_denied(&d, &["auditor-vouches", "failed to evaluate"]);
    }

    // The principal that brings the entity: the permit evaluates, and allows.
    let auditor = request(
        principal("auditor", &["auditor"], &[], &[]),
        id("hr.people"),
        &["employee_id"],
    );
    let d = engine.decide(&auditor).unwrap();
    assert_eq!(d.decision, Outcome::Allow, "{}", all_reasons(&d));
    assert!(has_reason(&d.reasons, "auditor-vouches"));
}

#[test]
fn an_erroring_column_permit_denies_the_column_not_even_masked() {
    // `birth_date` (a PII date the default pack masks with `nullify`) meets a `read`
    // permit that fails (an extension function error): the column is denied, not masked,
    // since a failed `read` decides nothing. The other columns are decided as usual.
    let pack = pack_with(&[(
        "cedar/zz-erroring.cedar",
        Some(
            r#"
@id("read-dates-until-overflow")
permit (principal, action == Action::"read", resource is Column)
when { resource has type && resource.type == "date" && datetime("2024-01-01").offset(duration("106751991167d")) > datetime("1970-01-01") };
"#,
        ),
    )]);
    let engine = access_engine(&pack);
    let r = request(
        ana(),
        id("sales.orders"),
        &["order_id", "email", "birth_date"],
    );
    for d in decide_both(&engine, &r) {
        assert_eq!(d.decision, Outcome::Partial, "{}", all_reasons(&d));
        assert_eq!(d.product.effect, ProductEffect::Allow);
        assert_eq!(d.column("order_id").unwrap().effect, ColumnEffect::Allow);
        assert_eq!(d.column("email").unwrap().effect, ColumnEffect::Mask);
        let birth = d.column("birth_date").unwrap();
        assert_eq!(birth.effect, ColumnEffect::Deny, "{}", all_reasons(&d));
        assert!(birth.mask_method.is_none() && birth.mask_expression.is_none());
        assert!(
            has_reason(&birth.reasons, "read-dates-until-overflow")
                && has_reason(&birth.reasons, "overflows when adding an offset"),
            "{:?}",
            birth.reasons
        );
    }
}

/// A forbid that fails with an extension function error, on one product. Cedar skips it
/// and lets the permits through.
const ERRORING_QUERY_FORBID: &str = r#"
@id("freeze-orders-after-offset")
forbid (principal, action == Action::"query", resource is DataProduct)
when { resource.id == "sales.orders" && datetime("2024-01-01").offset(duration("106751991167d")) > datetime("1970-01-01") };
"#;

/// A forbid that fails on one class of columns: it names an entity not in the entity set.
const ERRORING_COLUMN_FORBID: &str = r#"
@id("no-masked-contacts-while-gone-is-listed")
forbid (principal, action == Action::"readMasked", resource is Column)
when { resource has masking && resource.masking == "last4" && Column::"sales.gone/email".pii };
"#;

#[test]
fn an_erroring_forbid_never_lets_a_permit_through() {
    let pack = pack_with(&[("cedar/zz-erroring.cedar", Some(ERRORING_QUERY_FORBID))]);
    let engine = access_engine(&pack);

    // Cedar's own semantics: the failing forbid is skipped, the granted role allows.
    let cedar = plain_cedar(
        &engine,
        &pack,
        "ana",
        &["analyst"],
        "query",
        r#"DataProduct::"sales.orders""#,
    );
    assert_eq!(cedar.decision(), cedar_policy::Decision::Allow);
    let errors: Vec<String> = cedar
        .diagnostics()
        .errors()
        .map(ToString::to_string)
        .collect();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert!(
        errors[0].contains("freeze-orders-after-offset"),
        "{errors:?}"
    );

    // Charter: denied, the failing forbid and Cedar's message as the reason.
    let r = request(ana(), id("sales.orders"), &["order_id", "email"]);
    for d in decide_both(&engine, &r) {
        assert_denied(
            &d,
            &[
                "freeze-orders-after-offset",
                "failed to evaluate",
                "overflows when adding an offset",
            ],
        );
        let error_reason = d
            .reasons
            .iter()
            .find(|r| r.policy.as_deref() == Some("freeze-orders-after-offset"))
            .unwrap();
        assert!(error_reason.message.contains("failed to evaluate"));
    }
    // The explanation records the forbid as errored, with Cedar's error.
    let explained = engine.explain(&r).unwrap();
    let query = &explained.explanation.as_ref().unwrap().evaluations[0];
    assert!(!query.allowed);
    let forbid = query
        .policies
        .iter()
        .find(|p| p.id == "freeze-orders-after-offset")
        .unwrap();
    assert_eq!(forbid.outcome, PolicyOutcome::Errored);
    assert!(
        forbid
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("overflows")
    );

    // Products the forbid is not about are decided as usual.
    let r = request(
        principal("hana", &[], &["team-hr@acme.example"], &[]),
        id("hr.people"),
        &[],
    );
    let people = engine.decide(&r).unwrap();
    assert_eq!(people.decision, Outcome::Allow, "{}", all_reasons(&people));
}

#[test]
fn an_erroring_column_forbid_denies_the_columns_it_fails_on() {
    let pack = pack_with(&[("cedar/zz-erroring.cedar", Some(ERRORING_COLUMN_FORBID))]);
    let engine = access_engine(&pack);
    // The forbid fails only for `last4` columns: those are denied (Cedar alone would
    // mask them), the other masks stand.
    let cedar = plain_cedar(
        &engine,
        &pack,
        "hana",
        &["analyst"],
        "readMasked",
        r#"Column::"sales.orders/phone""#,
    );
    assert_eq!(cedar.decision(), cedar_policy::Decision::Allow);
    assert_eq!(cedar.diagnostics().errors().count(), 1);
    let r = request(
        principal("dan", &["data-scientist"], &[], &[]),
        ProductRef::Table("lake.sales.orders".into()),
        &["order_id", "email", "phone", "iban"],
    );
    for d in decide_both(&engine, &r) {
        assert_eq!(d.decision, Outcome::Partial, "{}", all_reasons(&d));
        assert_eq!(d.column("order_id").unwrap().effect, ColumnEffect::Allow);
        assert_eq!(d.column("email").unwrap().effect, ColumnEffect::Mask);
        for last4 in ["phone", "iban"] {
            let c = d.column(last4).unwrap();
            assert_eq!(c.effect, ColumnEffect::Deny, "{}", all_reasons(&d));
            assert!(
                has_reason(&c.reasons, "no-masked-contacts-while-gone-is-listed")
                    && has_reason(&c.reasons, r#"Column::"sales.gone/email"` does not exist"#),
                "{:?}",
                c.reasons
            );
        }
    }
}

/// Every product of the access fixture mesh (`testdata/access/mesh`).
const ACCESS_PRODUCTS: [&str; 4] = [
    "sales.orders",
    "hr.people",
    "finance.ledger",
    "sales.archive",
];

/// A principal with every role and group of the access fixture mesh.
fn everyone(attributes: &[(&str, &str)]) -> Principal {
    principal(
        "root",
        &[
            "analyst",
            "pii-reader",
            "restricted-reader",
            "global-reader",
        ],
        &["team-sales@acme.example", "team-hr@acme.example"],
        attributes,
    )
}

#[test]
fn every_policy_failing_denies_every_request_of_the_fixture() {
    // The fixture pack: a permit-everything beside forbids that always fail. Each product
    // of the access mesh, asked by a principal with every role and group: denied.
    let pack = fixture_pack("erroring_access");
    let engine = access_engine(&pack);
    for product in ACCESS_PRODUCTS {
        let r = request(everyone(&[("region", "eu")]), id(product), &[]);
        for d in decide_both(&engine, &r) {
            assert_denied(&d, &["failed to evaluate", "forbid-overflowing"]);
        }
    }
}

// ---------------------------------------------------------------------------------------
// No policies at all

#[test]
fn an_empty_policy_set_denies_everything() {
    // No `.cedar` file; and one holding only comments: the schema alone permits nothing.
    for overrides in [
        vec![
            ("cedar/products.cedar", None),
            ("cedar/columns.cedar", None),
        ],
        vec![
            ("cedar/products.cedar", Some("// nothing here\n")),
            ("cedar/columns.cedar", None),
        ],
    ] {
        let pack = pack_with(&overrides);
        let policies = AccessPolicies::from_pack(&pack).unwrap();
        assert!(policies.policies().is_empty());
        let engine = access_engine(&pack);
        for product in ACCESS_PRODUCTS {
            let r = request(
                everyone(&[]),
                id(product),
                &["order_id", "employee_id", "email"],
            );
            for d in decide_both(&engine, &r) {
                assert_denied(&d, &["no policy permits `query`"]);
                assert!(d.reasons.iter().all(|r| r.policy.is_none()));
            }
        }
    }

    // Product policies but no column policies: the product may be queried, yet no column
    // comes back, so the request is denied, each column saying why.
    let pack = pack_with(&[("cedar/columns.cedar", None)]);
    let engine = access_engine(&pack);
    let r = request(
        principal("pia", &["analyst", "pii-reader"], &[], &[]),
        id("sales.orders"),
        &["order_id", "email"],
    );
    let d = engine.decide(&r).unwrap();
    assert_eq!(d.decision, Outcome::Deny, "{}", all_reasons(&d));
    assert_eq!(d.product.effect, ProductEffect::Allow);
    for c in &d.columns {
        assert_eq!(c.effect, ColumnEffect::Deny);
        assert!(
            has_reason(&c.reasons, "no policy permits `read`"),
            "{:?}",
            c.reasons
        );
        assert!(
            has_reason(&c.reasons, "no policy permits `readMasked`"),
            "{:?}",
            c.reasons
        );
    }
}

// ---------------------------------------------------------------------------------------
// What is not in the mesh

#[test]
fn what_the_mesh_does_not_hold_is_denied() {
    let engine = access_engine(&pack_with(&[]));
    let pia = principal("pia", &["analyst", "pii-reader"], &[], &[]);

    // A product known by its table, a column its contract lacks.
    let r = request(
        pia.clone(),
        ProductRef::Table("LAKE.SALES.ORDERS".into()),
        &["order_id", "ssn"],
    );
    let d = engine.decide(&r).unwrap();
    assert_eq!(d.decision, Outcome::Partial);
    assert_eq!(d.product.id.as_deref(), Some("sales.orders"));
    let ssn = d.column("ssn").unwrap();
    assert_eq!(ssn.effect, ColumnEffect::Deny);
    assert!(has_reason(
        &ssn.reasons,
        "column `ssn` is not in the contract of `sales.orders`"
    ));

    // Only columns the contract lacks: nothing comes back, so the request is denied.
    let r = request(
        pia.clone(),
        id("sales.orders"),
        &["ssn", "ssn", "order_id "],
    );
    let d = engine.decide(&r).unwrap();
    assert_eq!(d.decision, Outcome::Deny, "{}", all_reasons(&d));
    assert_eq!(d.columns.len(), 3);
    assert!(d.columns.iter().all(
        |c| c.effect == ColumnEffect::Deny && has_reason(&c.reasons, "is not in the contract")
    ));

    // An unknown product, with no column named and with columns: denied, saying why.
    for columns in [&[][..], &["order_id"][..]] {
        for product in [
            id("sales.gone"),
            ProductRef::Table("lake.sales.gone".into()),
        ] {
            let d = engine
                .decide(&request(pia.clone(), product, columns))
                .unwrap();
            assert_denied(&d, &["is not in the mesh"]);
            assert_eq!(d.columns.len(), columns.len());
            assert!(
                d.columns
                    .iter()
                    .all(|c| has_reason(&c.reasons, "cannot be decided"))
            );
        }
    }

    // A product whose contract does not parse is unknown; the load's failure is named.
    let d = engine
        .decide(&request(pia, id("broken.thing"), &["x"]))
        .unwrap();
    assert_denied(&d, &["could not be read", "broken.yaml"]);
}

// ---------------------------------------------------------------------------------------
// Row filters

const ROW_FILTER_FAILURES: &str = r#"package charter.access

import rego.v1

# A runtime type error: a string in arithmetic.
row_filters contains {"column": "region", "op": "=", "value": value} if {
	input.principal.attributes.mode == "type-error"
	value := input.principal.attributes.region + 1
}

# A builtin that fails on its argument.
row_filters contains {"column": "region", "op": "=", "value": value} if {
	input.principal.attributes.mode == "bad-number"
	value := to_number(input.principal.attributes.region)
}

# Conflicting values of a complete rule.
region := "eu" if input.principal.attributes.mode == "conflict"

region := "us" if input.principal.attributes.mode == "conflict"

row_filters contains {"column": "region", "op": "=", "value": region} if {
	input.principal.attributes.mode == "conflict"
}

# An `op` that is not a string: read as `=`, it would keep the very rows `<>` excludes.
row_filters contains {"column": "region", "op": ["<>"], "value": "eu"} if {
	input.principal.attributes.mode == "list-op"
}

# A filter without a value.
row_filters contains {"column": "region", "op": "="} if {
	input.principal.attributes.mode == "no-value"
}

# A key Charter does not know: ignored, the filter would keep the rows it means to drop.
row_filters contains {"column": "region", "op": "=", "value": "eu", "negate": true} if {
	input.principal.attributes.mode == "unknown-key"
}

# A filter that is not an object.
row_filters contains "region = 'eu'" if {
	input.principal.attributes.mode == "sql"
}

# An expensive rule: 25 million iterations, none of which holds.
row_filters contains {"column": "region", "op": "=", "value": "never"} if {
	input.principal.attributes.mode == "slow"
	some i in numbers.range(1, 5000)
	some j in numbers.range(1, 5000)
	i * j < 0
}
"#;

#[test]
fn a_row_filter_rule_that_fails_denies_with_the_reason() {
    let pack = pack_with(&[("rego/access/row_filters.rego", Some(ROW_FILTER_FAILURES))]);
    let engine = access_engine(&pack);
    for (mode, why) in [
        ("type-error", "`add` expects numeric argument"),
        ("bad-number", "could not parse string as number"),
        ("conflict", "rule conflicts with rule"),
        ("list-op", "has an `op` that is not a string"),
        ("no-value", "has no `value`"),
        ("unknown-key", "has key `negate`"),
        ("sql", "expected objects {column, op, value}"),
    ] {
        let r = request(
            principal(
                "ana",
                &["analyst"],
                &[],
                &[("mode", mode), ("region", "eu")],
            ),
            id("sales.orders"),
            &["order_id", "email"],
        );
        for d in decide_both(&engine, &r) {
            assert_denied(&d, &["row filters could not be decided", why]);
            for c in &d.columns {
                assert!(
                    has_reason(&c.reasons, "the decision failed"),
                    "{:?}",
                    c.reasons
                );
            }
        }
    }
    // The same rule, when no failing branch holds, decides as usual.
    let r = request(
        principal("ana", &["analyst"], &[], &[("region", "eu")]),
        id("sales.orders"),
        &["order_id"],
    );
    let d = engine.decide(&r).unwrap();
    assert_eq!(d.decision, Outcome::Allow, "{}", all_reasons(&d));
}

#[test]
fn a_rule_that_returns_no_set_of_filters_denies() {
    // A complete rule of the wrong type: null, a string. (Undefined is "no filter".)
    for (value, why) in [
        ("null", "rule returned null"),
        ("\"region = 'eu'\"", "rule returned a string"),
    ] {
        let rule = format!(
            "package charter.access\n\nimport rego.v1\n\nrow_filters := {value} if input.principal.id\n"
        );
        let pack = pack_with(&[("rego/access/row_filters.rego", Some(&rule))]);
        let engine = access_engine(&pack);
        let d = engine
            .decide(&request(ana(), id("sales.orders"), &["order_id"]))
            .unwrap();
        assert_denied(
            &d,
            &[
                "row filters could not be decided",
                why,
                "expected a set of filters",
            ],
        );
    }
}

#[test]
fn a_row_filter_rule_past_its_time_limit_denies() {
    // The default limit (100 ms, `access_decisions.row_filter_time_limit_ms` of the
    // default pack), then a shorter one from the settings.
    let shorter = charter_policies::files()
        .into_iter()
        .find(|(path, _)| path == "data/access.yaml")
        .map(|(_, text)| {
            text.replace(
                "row_filter_time_limit_ms: 100",
                "row_filter_time_limit_ms: 20",
            )
        })
        .unwrap();
    assert!(shorter.contains("row_filter_time_limit_ms: 20"));
    for (settings, limit) in [(None, "100 ms"), (Some(shorter.as_str()), "20 ms")] {
        let mut overrides = vec![("rego/access/row_filters.rego", Some(ROW_FILTER_FAILURES))];
        if let Some(text) = settings {
            overrides.push(("data/access.yaml", Some(text)));
        }
        let engine = access_engine(&pack_with(&overrides));
        let r = request(
            principal("ana", &["analyst"], &[], &[("mode", "slow")]),
            id("sales.orders"),
            &["order_id"],
        );
        let started = Instant::now();
        let d = engine.decide(&r).unwrap();
        let took = started.elapsed();
        assert_denied(
            &d,
            &[
                "row filters could not be decided",
                &format!("did not finish within its time limit of {limit}"),
                "access_decisions.row_filter_time_limit_ms",
            ],
        );
        // The 25 million iterations would take many seconds: the limit stopped them.
        assert!(took < Duration::from_secs(5), "took {took:?}");
    }
}

/// The row filters of a request, as the rule gives them (the SQL and its reason).
fn filters_of(d: &Decision) -> Vec<(String, Option<String>)> {
    d.row_filters
        .iter()
        .map(|f| (f.sql.clone(), f.reason.clone()))
        .collect()
}

#[test]
fn remembered_row_filters_are_the_rules_answers() {
    // Shapes that differ in one thing each: the attribute's value (an injection among
    // them), an exempt role, the columns read, the purpose, the principal.
    let pack = pack_with(&[]);
    let shapes: Vec<AccessRequest> = [
        (
            "ana",
            vec!["analyst"],
            vec![("region", "eu")],
            vec!["order_id", "region"],
            None,
        ),
        (
            "ana",
            vec!["analyst"],
            vec![("region", "us")],
            vec!["order_id", "region"],
            None,
        ),
        (
            "ana",
            vec!["analyst"],
            vec![("region", "eu' OR '1'='1")],
            vec!["order_id"],
            None,
        ),
        (
            "ana",
            vec!["analyst", "global-reader"],
            vec![("region", "eu")],
            vec!["order_id"],
            None,
        ),
        (
            "ana",
            vec!["analyst"],
            vec![],
            vec!["order_id", "region"],
            None,
        ),
        (
            "bo",
            vec!["analyst"],
            vec![("region", "apac")],
            vec!["amount"],
            None,
        ),
        (
            "ana",
            vec!["analyst"],
            vec![("region", "eu")],
            vec!["amount"],
            Some("fraud"),
        ),
        ("ana", vec!["analyst"], vec![("region", "eu")], vec![], None),
    ]
    .into_iter()
    .map(|(who, roles, attributes, columns, purpose)| {
        let mut r = request(
            principal(who, &roles, &[], &attributes),
            id("sales.orders"),
            &columns,
        );
        r.purpose = purpose.map(str::to_owned);
        r
    })
    .collect();
    // What the rule says for each shape, each asked of an engine that has seen nothing.
    let fresh: Vec<Decision> = shapes
        .iter()
        .map(|r| access_engine(&pack).decide(r).unwrap())
        .collect();
    let distinct: BTreeSet<_> = fresh.iter().map(filters_of).collect();
    assert!(
        distinct.len() >= 4,
        "the shapes differ in their filters: {distinct:?}"
    );
    // One engine asked every shape, interleaved, many times: the same filters every time.
    let warm = access_engine(&pack);
    for round in 0..5 {
        for (r, expected) in shapes.iter().zip(&fresh) {
            let d = warm.decide(r).unwrap();
            assert_eq!(filters_of(&d), filters_of(expected), "round {round}: {r:?}");
            assert_eq!(d.decision, expected.decision, "round {round}: {r:?}");
        }
    }
}

#[test]
fn row_filters_that_change_between_calls_or_fail_are_evaluated_every_time() {
    // A rule that reads the clock is never remembered: two calls, two values.
    let clock = "package charter.access\n\nimport rego.v1\n\nrow_filters contains {\"column\": \"region\", \"op\": \"=\", \"value\": sprintf(\"%d\", [time.now_ns()])} if input.principal.id\n";
    let engine = access_engine(&pack_with(&[("rego/access/row_filters.rego", Some(clock))]));
    let r = request(ana(), id("sales.orders"), &["order_id"]);
    let first = filters_of(&engine.decide(&r).unwrap());
    std::thread::sleep(Duration::from_millis(2));
    let second = filters_of(&engine.decide(&r).unwrap());
    assert_eq!(first.len(), 1);
    assert_ne!(first, second, "the clock was read again");

    // A failure denies every time, and the shapes that succeed are still answered.
    let engine = access_engine(&pack_with(&[(
        "rego/access/row_filters.rego",
        Some(ROW_FILTER_FAILURES),
    )]));
    let failing = request(
        principal(
            "ana",
            &["analyst"],
            &[],
            &[("mode", "type-error"), ("region", "eu")],
        ),
        id("sales.orders"),
        &["order_id"],
    );
    let fine = request(
        principal("ana", &["analyst"], &[], &[("region", "eu")]),
        id("sales.orders"),
        &["order_id"],
    );
    for _ in 0..3 {
        assert_denied(
            &engine.decide(&failing).unwrap(),
            &["row filters could not be decided"],
        );
        assert_eq!(engine.decide(&fine).unwrap().decision, Outcome::Allow);
    }
}

#[test]
fn a_bad_time_limit_setting_refuses_the_pack() {
    let access = charter_policies::files()
        .into_iter()
        .find(|(path, _)| path == "data/access.yaml")
        .map(|(_, text)| text.to_owned())
        .unwrap();
    for bad in ["0", "-1", "fast", "600000"] {
        let text = access.replace(
            "row_filter_time_limit_ms: 100",
            &format!("row_filter_time_limit_ms: {bad}"),
        );
        let err = AccessPolicies::from_pack(&pack_with(&[("data/access.yaml", Some(&text))]))
            .unwrap_err();
        assert!(
            matches!(&err, AccessError::Settings { key, .. } if key == "access_decisions.row_filter_time_limit_ms"),
            "{bad}: {err}"
        );
    }
}

#[test]
fn the_row_filter_fixture_denies_whatever_the_product() {
    // Cedar permits everything; the rule fails (conflicting values, then a type error),
    // and is evaluated for every product (no `row_filter_columns`).
    let pack = fixture_pack("erroring_row_filters");
    let engine = access_engine(&pack);
    for product in ACCESS_PRODUCTS {
        let d = engine.decide(&request(ana(), id(product), &[])).unwrap();
        assert_denied(
            &d,
            &[
                "row filters could not be decided",
                "rule conflicts with rule",
            ],
        );
    }
}

// ---------------------------------------------------------------------------------------
// Properties: arbitrary requests against the default pack and the sample mesh

/// One product of the sample mesh, as requests name it.
#[derive(Debug, Clone)]
struct SampleProduct {
    id: String,
    tables: Vec<String>,
    columns: Vec<String>,
    roles: Vec<String>,
    owner: Option<String>,
}

/// What requests are drawn from: the sample mesh's products (ids, tables, columns, the
/// roles they grant, their owners), beside arbitrary strings.
struct Sample {
    products: Vec<SampleProduct>,
    ids: Vec<String>,
    columns: Vec<String>,
    roles: Vec<String>,
    groups: Vec<String>,
}

const SAMPLE_MESH: &str = "testdata/mesh";

static SAMPLE: LazyLock<Sample> = LazyLock::new(|| {
    let mesh = load_mesh(SAMPLE_MESH, &pack_with(&[]));
    let products: Vec<SampleProduct> = mesh
        .products()
        .map(|p| SampleProduct {
            id: p.id.clone(),
            tables: p
                .interfaces
                .iter()
                .map(|i| i.table.clone())
                .filter(|t| !t.is_empty())
                .collect(),
            columns: p.fields.iter().map(|f| f.name.clone()).collect(),
            roles: p.access.roles.clone(),
            owner: p.owner.clone(),
        })
        .collect();
    let set = |items: &mut dyn Iterator<Item = String>| -> Vec<String> {
        items.collect::<BTreeSet<_>>().into_iter().collect()
    };
    let mut specials = ["pii-reader", "restricted-reader", "global-reader"]
        .into_iter()
        .map(str::to_owned);
    Sample {
        ids: set(&mut products.iter().map(|p| p.id.clone())),
        columns: set(&mut products.iter().flat_map(|p| p.columns.clone())),
        roles: set(&mut products
            .iter()
            .flat_map(|p| p.roles.clone())
            .chain(&mut specials)),
        groups: set(&mut products.iter().filter_map(|p| p.owner.clone())),
        products,
    }
});

static DEFAULT_ENGINE: LazyLock<AccessEngine> = LazyLock::new(|| {
    let pack = pack_with(&[]);
    AccessEngine::new(&pack, &load_mesh(SAMPLE_MESH, &pack)).unwrap()
});

static ERRORING_CEDAR_ENGINE: LazyLock<AccessEngine> = LazyLock::new(|| {
    let pack = fixture_pack("erroring_access");
    AccessEngine::new(&pack, &load_mesh(SAMPLE_MESH, &pack)).unwrap()
});

static ERRORING_ROW_FILTERS_ENGINE: LazyLock<AccessEngine> = LazyLock::new(|| {
    let pack = fixture_pack("erroring_row_filters");
    AccessEngine::new(&pack, &load_mesh(SAMPLE_MESH, &pack)).unwrap()
});

/// Any string but the empty one: blank, unicode, control characters, quotes.
fn odd_text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(" ".to_owned()),
        Just("eu' OR '1'='1".to_owned()),
        Just("\u{0}\"\\".to_owned()),
        Just("İstanbul ǅ ß".to_owned()),
        "\\PC{1,12}",
        ".{1,8}",
    ]
}

/// A value of `known` (as is, its case changed, padded), or an odd string.
fn known_or_odd(known: Vec<String>) -> impl Strategy<Value = String> {
    let changed = known.clone();
    let padded = known.clone();
    prop_oneof![
        12 => prop::sample::select(known),
        1 => prop::sample::select(changed).prop_map(|s| s.to_uppercase()),
        1 => prop::sample::select(padded).prop_map(|s| format!(" {s} ")),
        3 => odd_text(),
    ]
}

/// A principal with roles and groups mostly from the mesh (so that many requests may
/// query what they ask for), attributes that are mostly `region`.
fn any_principal(product: &SampleProduct) -> impl Strategy<Value = Principal> + use<> {
    let s = &*SAMPLE;
    let mut roles = s.roles.clone();
    // The roles this product grants, twice as likely.
    roles.extend(product.roles.iter().cloned());
    roles.extend(product.roles.iter().cloned());
    let mut groups = s.groups.clone();
    groups.extend(product.owner.iter().cloned());
    (
        prop_oneof![
            3 => Just("ana".to_owned()),
            1 => Just("auditor".to_owned()),
            3 => odd_text(),
        ],
        prop::collection::vec(known_or_odd(roles), 0..4),
        prop::collection::vec(known_or_odd(groups), 0..2),
        prop::collection::btree_map(
            known_or_odd(vec!["region".to_owned()]),
            prop_oneof![Just("eu".to_owned()), Just(String::new()), odd_text()],
            0..3,
        ),
    )
        .prop_map(|(id, roles, groups, attributes)| Principal {
            id,
            roles,
            groups,
            attributes,
        })
}

/// The product as a request names it: its id, one of its tables, either with the case
/// changed or padded, its id given as a table, or an odd string.
fn product_ref(product: &SampleProduct) -> impl Strategy<Value = ProductRef> + use<> {
    let tables = if product.tables.is_empty() {
        vec![product.id.clone()]
    } else {
        product.tables.clone()
    };
    prop_oneof![
        4 => known_or_odd(vec![product.id.clone()]).prop_map(ProductRef::Id),
        4 => known_or_odd(tables).prop_map(ProductRef::Table),
        1 => Just(ProductRef::Table(product.id.clone())),
        1 => known_or_odd(SAMPLE.ids.clone()).prop_map(ProductRef::Id),
    ]
}

/// Columns: mostly the product's own (as named, case changed, padded), some of other
/// products, odd or empty names; the first sometimes twice; or none (every column).
fn columns(product: &SampleProduct) -> impl Strategy<Value = Vec<String>> + use<> {
    let own = if product.columns.is_empty() {
        vec!["id".to_owned()]
    } else {
        product.columns.clone()
    };
    let column = prop_oneof![
        6 => known_or_odd(own),
        1 => prop::sample::select(SAMPLE.columns.clone()),
    ];
    (prop::collection::vec(column, 0..6), any::<bool>()).prop_map(|(mut columns, twice)| {
        if twice && let Some(first) = columns.first().cloned() {
            columns.push(first);
        }
        columns
    })
}

/// A request about a product of the sample mesh; one in five is malformed (an empty
/// principal id, role, group, attribute name, column or product).
fn any_request() -> impl Strategy<Value = AccessRequest> {
    prop::sample::select(SAMPLE.products.clone()).prop_flat_map(|product| {
        (
            any_principal(&product),
            product_ref(&product),
            columns(&product),
            prop::option::of(prop_oneof![Just("analytics".to_owned()), odd_text()]),
            prop::option::of(prop::sample::select(vec![Dialect::Trino, Dialect::Ansi])),
            0u8..30,
        )
            .prop_map(
                |(principal, product, columns, purpose, dialect, malformed)| {
                    let mut r = AccessRequest {
                        principal,
                        product,
                        columns,
                        purpose,
                        dialect,
                    };
                    match malformed {
                        0 => r.principal.id = " ".into(),
                        1 => r.principal.roles.push(String::new()),
                        2 => r.principal.groups.push(String::new()),
                        3 => drop(r.principal.attributes.insert(String::new(), "eu".into())),
                        4 => r.columns.insert(0, String::new()),
                        5 => r.product = ProductRef::Table("\t".into()),
                        _ => {}
                    }
                    r
                },
            )
    })
}

/// Every invariant of a decision, whatever the pack.
fn check_decision(
    engine: &AccessEngine,
    request: &AccessRequest,
    d: &Decision,
) -> Result<(), TestCaseError> {
    let policies: BTreeMap<&str, &str> = engine
        .policies()
        .policies()
        .iter()
        .map(|p| (p.id.as_str(), p.effect.as_str()))
        .collect();
    let shown = all_reasons(d);
    prop_assert_eq!(&d.revision, &engine.revision());
    prop_assert_eq!(d.dialect, request.dialect.unwrap_or_default());
    prop_assert!(
        !d.reasons.is_empty(),
        "a decision without a reason: {}",
        shown
    );
    // Named columns come back one for one, in order.
    if !request.columns.is_empty() {
        let names: Vec<&str> = d.columns.iter().map(|c| c.name.as_str()).collect();
        prop_assert_eq!(
            names,
            request
                .columns
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        );
    }
    // Every reason naming a policy names one of the pack.
    let every_reason = d
        .reasons
        .iter()
        .chain(d.columns.iter().flat_map(|c| &c.reasons));
    for reason in every_reason {
        if let Some(id) = &reason.policy {
            prop_assert!(
                policies.contains_key(id.as_str()),
                "unknown policy `{}`: {}",
                id,
                shown
            );
        }
        prop_assert!(!reason.message.is_empty());
    }
    // Permitted means permits: the reasons of what is allowed are permits that held.
    let permits_only = |reasons: &[Reason]| {
        !reasons.is_empty()
            && reasons.iter().all(|r| {
                r.policy
                    .as_deref()
                    .is_some_and(|id| policies.get(id) == Some(&"permit"))
                    && r.message.contains("permitted by")
            })
    };
    match d.product.effect {
        ProductEffect::Deny => {
            prop_assert_eq!(d.decision, Outcome::Deny, "{}", shown);
            prop_assert!(d.row_filters.is_empty(), "{}", shown);
            prop_assert!(
                d.columns.iter().all(|c| c.effect == ColumnEffect::Deny),
                "{}",
                shown
            );
        }
        ProductEffect::Allow => {
            prop_assert!(permits_only(&d.reasons), "{}", shown);
        }
    }
    let denied = d
        .columns
        .iter()
        .filter(|c| c.effect == ColumnEffect::Deny)
        .count();
    match d.decision {
        Outcome::Allow => {
            prop_assert_eq!(d.product.effect, ProductEffect::Allow);
            prop_assert_eq!(denied, 0, "{}", shown);
        }
        Outcome::Partial => {
            prop_assert_eq!(d.product.effect, ProductEffect::Allow);
            prop_assert!(denied > 0 && denied < d.columns.len(), "{}", shown);
        }
        Outcome::Deny => {
            prop_assert!(
                d.product.effect == ProductEffect::Deny || denied == d.columns.len(),
                "{}",
                shown
            );
        }
    }
    for c in &d.columns {
        match c.effect {
            ColumnEffect::Allow => {
                prop_assert!(c.mask_method.is_none() && c.mask_expression.is_none());
                prop_assert!(permits_only(&c.reasons), "{}", shown);
            }
            ColumnEffect::Mask => {
                prop_assert!(c.mask_method.is_some(), "{}", shown);
                prop_assert!(
                    c.mask_expression.as_deref().is_some_and(|e| !e.is_empty()),
                    "{}",
                    shown
                );
                prop_assert!(permits_only(&c.reasons), "{}", shown);
            }
            ColumnEffect::Deny => {
                prop_assert!(c.mask_method.is_none() && c.mask_expression.is_none());
                prop_assert!(!c.reasons.is_empty(), "{}", shown);
            }
        }
    }
    // Row filters only constrain a query that may run, each with its SQL.
    for f in &d.row_filters {
        prop_assert!(d.decision != Outcome::Deny, "{}", shown);
        prop_assert!(!f.sql.is_empty());
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// Whatever the request: no panic; an `Err` only for a malformed request; and a
    /// decision whose parts agree (allow means every column allowed or masked by
    /// permits that held; a denied product denies every column; every denial says why).
    #[test]
    fn arbitrary_requests_get_consistent_decisions(request in any_request()) {
        let engine = &*DEFAULT_ENGINE;
        match engine.decide(&request) {
            Err(e) => prop_assert!(request.check().is_err(), "refused a well-formed request: {e}"),
            Ok(d) => {
                prop_assert!(request.check().is_ok());
                check_decision(engine, &request, &d)?;
                // The slow path (every policy asked, no plan) agrees.
                let explained = engine.explain(&request).unwrap();
                prop_assert_eq!(explained.decision, d.decision);
                prop_assert_eq!(&explained.product, &d.product);
                prop_assert_eq!(
                    explained.columns.iter().map(|c| (c.effect, c.mask_method)).collect::<Vec<_>>(),
                    d.columns.iter().map(|c| (c.effect, c.mask_method)).collect::<Vec<_>>()
                );
                prop_assert_eq!(&explained.row_filters, &d.row_filters);
            }
        }
    }

    /// Errors never allow: with Cedar policies that always fail (beside a
    /// permit-everything), no request is allowed, and the failure is the reason.
    #[test]
    fn erroring_policies_never_allow(request in any_request()) {
        let engine = &*ERRORING_CEDAR_ENGINE;
        let d = match engine.decide(&request) {
            // Only a malformed request is refused, failing pack or not.
            Err(e) => {
                prop_assert!(request.check().is_err(), "refused a well-formed request: {e}");
                return Ok(());
            }
            Ok(d) => d,
        };
        {
            check_decision(engine, &request, &d)?;
            prop_assert_eq!(d.decision, Outcome::Deny);
            prop_assert_eq!(d.product.effect, ProductEffect::Deny);
            prop_assert!(d.columns.iter().all(|c| c.effect == ColumnEffect::Deny));
            // A product the request resolved to (not unknown, not ambiguous) was asked
            // about, and the failure is the reason.
            let resolved = !has_reason(&d.reasons, "is not in the mesh")
                && !has_reason(&d.reasons, "more than one contract");
            if resolved {
                prop_assert!(has_reason(&d.reasons, "failed to evaluate"), "{}", all_reasons(&d));
            }
        }
    }

    /// Errors never allow: with a row-filter rule that always fails (and Cedar permitting
    /// everything), no request gets a column back.
    #[test]
    fn erroring_row_filters_never_allow(request in any_request()) {
        let engine = &*ERRORING_ROW_FILTERS_ENGINE;
        let d = match engine.decide(&request) {
            // Only a malformed request is refused, failing pack or not.
            Err(e) => {
                prop_assert!(request.check().is_err(), "refused a well-formed request: {e}");
                return Ok(());
            }
            Ok(d) => d,
        };
        {
            check_decision(engine, &request, &d)?;
            prop_assert_eq!(d.decision, Outcome::Deny, "{}", all_reasons(&d));
            prop_assert!(d.columns.iter().all(|c| c.effect == ColumnEffect::Deny));
            prop_assert!(d.row_filters.is_empty());
        }
    }
}
