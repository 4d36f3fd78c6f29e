//! Whatever the engine does to go fast (columns decided once per class of equal
//! attributes, a small entity store per product, answers planned by partial evaluation
//! with the principal unknown, row-filter rules skipped for products without the
//! columns they look at) gives exactly the decisions of a plain evaluation:
//! the whole mesh as one Cedar entity store, one `is_authorized` call per column and
//! action, and the row-filter rule evaluated for every product.

use std::collections::{BTreeMap, BTreeSet};
use std::str::FromStr;
use std::sync::{Arc, LazyLock};

use cedar_policy::{
    Authorizer, Context, Decision as CedarDecision, Entities, EntityUid, PolicyId, PolicySet,
    Request, Schema,
};
use charter_engine::PolicyPack;
use charter_engine::access::{
    AccessEngine, AccessPolicies, AccessRequest, ColumnEffect, MaskMethod, Principal, ProductRef,
};
use charter_engine::contract::{Access, Field, Interface, Product};
use charter_engine::mesh::Mesh;
use proptest::prelude::*;
use serde_json::{Value as Json, json};

use super::support::{mesh_from_products, pack_with};

/// Policies added to the default pack, so that classes are split by more attributes.
const EXTRA_ATTRIBUTES: &str = r#"
@id("contact-data-for-support-only")
forbid (principal, action == Action::"read", resource is Column)
when { resource has classification && resource.classification == "contact" }
unless { context has purpose && context.purpose == "support" };

@id("gdpr-tagged-masked-outside-eu")
forbid (principal, action == Action::"read", resource is Column)
when { resource.tags.contains("gdpr") && !(principal.hasTag("region") && principal.getTag("region") == "eu") };

@id("timestamps-for-ops")
forbid (principal, action == Action::"read", resource is Column)
when { resource has type && resource.type == "timestamp" }
unless { principal.roles.contains("ops") };

@id("no-restricted-products-for-marketing")
forbid (principal, action == Action::"query", resource is DataProduct)
when { context has purpose && context.purpose == "marketing" && resource.tags.contains("restricted-data") };
"#;

/// A policy naming columns literally: every column is then its own class.
const COLUMN_LITERALS: &str = r#"
@id("no-email-of-d1-p0")
forbid (principal, action == Action::"read", resource == Column::"d1.p0/email");

@id("d2-p1-notes-masked")
permit (principal, action == Action::"readMasked", resource)
when { resource in [Column::"d2.p1/note", Column::"d1.p2/Email"] };

@id("finance-queries-anything-while-d1-p0-is-active")
permit (principal, action == Action::"query", resource is DataProduct)
when {
  principal.roles.contains("finance") &&
  DataProduct::"d1.p0" has status && DataProduct::"d1.p0".status == "active"
};

@id("everything-in-domain-d2-for-ops")
permit (principal, action, resource in Domain::"d2")
when { principal.roles.contains("ops") };
"#;

struct Prepared {
    policies: Arc<AccessPolicies>,
    plain: Plain,
}

static PACKS: LazyLock<Vec<Prepared>> = LazyLock::new(|| {
    [None, Some(EXTRA_ATTRIBUTES), Some(COLUMN_LITERALS)]
        .into_iter()
        .map(|extra| {
            let overrides: BTreeMap<String, Option<String>> = extra
                .map(|text| ("cedar/zz-extra.cedar".to_owned(), Some(text.to_owned())))
                .into_iter()
                .collect();
            let pack = pack_with(&overrides);
            let policies = Arc::new(AccessPolicies::from_pack(&pack).expect("the pack validates"));
            let plain = Plain::new(&pack);
            Prepared { policies, plain }
        })
        .collect()
});

/// The plain evaluation, written from the pack's files with Cedar and regorus directly.
struct Plain {
    schema: Schema,
    set: PolicySet,
    aliases: BTreeMap<String, String>,
    rego: regorus::Engine,
}

/// What a plain evaluation decides.
#[derive(Debug, PartialEq)]
struct Expected {
    product_allowed: bool,
    product_policies: BTreeSet<String>,
    /// name → (effect, mask method, determining policies)
    columns: Vec<(String, ColumnEffect, Option<MaskMethod>, BTreeSet<String>)>,
    /// (column, op, value) of each row filter.
    row_filters: Vec<(String, String, Json)>,
}

impl Plain {
    fn new(pack: &PolicyPack) -> Self {
        let schema_text = pack
            .files_in("cedar", ".cedarschema")
            .map(|f| f.text.as_str())
            .collect::<Vec<_>>()
            .join("\n");
        let (schema, _) = Schema::from_cedarschema_str(&schema_text).expect("schema");
        let mut set = PolicySet::new();
        for file in pack.files_in("cedar", ".cedar") {
            let parsed = PolicySet::from_str(&file.text).expect("policies parse");
            for p in parsed.policies() {
                let id = p.annotation("id").expect("an @id");
                set.add(p.new_id(PolicyId::new(id))).expect("unique ids");
            }
        }
        let aliases = pack.settings()["access_decisions"]["masking_aliases"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.to_lowercase(), v.as_str().unwrap_or_default().to_owned()))
                    .collect()
            })
            .unwrap_or_default();
        let mut rego = regorus::Engine::new();
        for f in pack.rego() {
            rego.add_policy(f.path.clone(), f.text.clone())
                .expect("rego parses");
        }
        rego.add_data(regorus::Value::from(
            json!({"charter": {"settings": pack.settings()}}),
        ))
        .expect("data");
        Self {
            schema,
            set,
            aliases,
            rego,
        }
    }

    fn method(&self, written: &str) -> Option<MaskMethod> {
        let canonical = self
            .aliases
            .get(&written.to_lowercase())
            .map_or(written.to_lowercase(), Clone::clone);
        match canonical.as_str() {
            "hash" => Some(MaskMethod::Hash),
            "redact" => Some(MaskMethod::Redact),
            "nullify" => Some(MaskMethod::Nullify),
            "last4" => Some(MaskMethod::Last4),
            _ => None,
        }
    }

    /// `None`: allowed; `Some(errored)` otherwise, and the determining policies.
    fn ask(
        &self,
        entities: &Entities,
        principal: &EntityUid,
        action: &str,
        resource: EntityUid,
        purpose: Option<&str>,
    ) -> (bool, bool, BTreeSet<String>) {
        let context = match purpose {
            Some(p) => Context::from_json_value(json!({ "purpose": p }), None).expect("context"),
            None => Context::empty(),
        };
        let action = EntityUid::from_str(&format!("Action::\"{action}\"")).expect("action");
        let request =
            Request::new(principal.clone(), action, resource, context, None).expect("request");
        let response = Authorizer::new().is_authorized(&request, &self.set, entities);
        let errored = response.diagnostics().errors().next().is_some();
        let allowed = !errored && response.decision() == CedarDecision::Allow;
        let policies = response
            .diagnostics()
            .reason()
            .map(ToString::to_string)
            .collect();
        let policies = if errored {
            response
                .diagnostics()
                .errors()
                .map(
                    |cedar_policy::AuthorizationError::PolicyEvaluationError(e)| {
                        e.policy_id().to_string()
                    },
                )
                .collect()
        } else {
            policies
        };
        (allowed, errored, policies)
    }

    fn decide(&self, mesh: &Mesh, mesh_entities: &Json, request: &AccessRequest) -> Expected {
        let mut out = Expected {
            product_allowed: false,
            product_policies: BTreeSet::new(),
            columns: Vec::new(),
            row_filters: Vec::new(),
        };
        let deny_all = |out: &mut Expected| {
            out.columns = request
                .columns
                .iter()
                .map(|c| (c.clone(), ColumnEffect::Deny, None, BTreeSet::new()))
                .collect();
        };
        // Resolve: ids and tables declared by more than one contract are undecidable.
        let count = |id: &str| mesh.products().filter(|p| p.id == id).count();
        let product = match &request.product {
            ProductRef::Id(id) => mesh.product(id).filter(|_| count(id) == 1),
            ProductRef::Table(t) => {
                let ids: BTreeSet<&str> = mesh
                    .products()
                    .filter(|p| p.interfaces.iter().any(|i| i.table.eq_ignore_ascii_case(t)))
                    .map(|p| p.id.as_str())
                    .collect();
                match ids.into_iter().collect::<Vec<_>>().as_slice() {
                    [id] if count(id) == 1 => mesh.product(id),
                    _ => None,
                }
            }
        };
        let Some(product) = product else {
            deny_all(&mut out);
            return out;
        };
        let principal_uid =
            EntityUid::from_str(&format!("User::{}", json!(request.principal.id))).expect("uid");
        let principal = json!([{
            "uid": {"type": "User", "id": request.principal.id},
            "attrs": {"roles": request.principal.roles, "groups": request.principal.groups},
            "parents": [],
            "tags": request.principal.attributes,
        }]);
        let entities = Entities::from_json_value(mesh_entities.clone(), Some(&self.schema))
            .expect("the mesh entities")
            .add_entities_from_json_value(principal, Some(&self.schema))
            .expect("the principal");
        let uid =
            |ty: &str, id: &str| EntityUid::from_str(&format!("{ty}::{}", json!(id))).expect("uid");
        let purpose = request.purpose.as_deref();

        let (allowed, _, policies) = self.ask(
            &entities,
            &principal_uid,
            "query",
            uid("DataProduct", &product.id),
            purpose,
        );
        out.product_allowed = allowed;
        out.product_policies = policies;
        if !allowed {
            deny_all(&mut out);
            return out;
        }
        let mut distinct: Vec<&Field> = Vec::new();
        for f in &product.fields {
            if !distinct.iter().any(|d| d.name == f.name) {
                distinct.push(f);
            }
        }
        let names: Vec<String> = if request.columns.is_empty() {
            distinct.iter().map(|f| f.name.clone()).collect()
        } else {
            request.columns.clone()
        };
        let mut readable = Vec::new();
        for name in names {
            let field: Option<&Field> =
                distinct
                    .iter()
                    .copied()
                    .find(|f| f.name == name)
                    .or_else(|| {
                        let folded: Vec<&Field> = distinct
                            .iter()
                            .copied()
                            .filter(|f| f.name.to_lowercase() == name.to_lowercase())
                            .collect();
                        (folded.len() == 1).then(|| folded[0])
                    });
            let Some(field) = field else {
                out.columns
                    .push((name, ColumnEffect::Deny, None, BTreeSet::new()));
                continue;
            };
            if product
                .fields
                .iter()
                .filter(|f| f.name == field.name)
                .count()
                > 1
            {
                out.columns
                    .push((name, ColumnEffect::Deny, None, BTreeSet::new()));
                continue;
            }
            let resource = uid("Column", &format!("{}/{}", product.id, field.name));
            let (read, read_errored, read_policies) =
                self.ask(&entities, &principal_uid, "read", resource.clone(), purpose);
            let decided = if read {
                (ColumnEffect::Allow, None, read_policies)
            } else if read_errored {
                (ColumnEffect::Deny, None, read_policies)
            } else {
                let (masked, _, masked_policies) =
                    self.ask(&entities, &principal_uid, "readMasked", resource, purpose);
                let method = field
                    .masking
                    .as_deref()
                    .map(str::trim)
                    .filter(|m| !m.is_empty())
                    .and_then(|m| self.method(m));
                match (masked, method) {
                    (true, Some(m)) => (ColumnEffect::Mask, Some(m), masked_policies),
                    (true, None) => (ColumnEffect::Deny, None, masked_policies),
                    (false, _) => (
                        ColumnEffect::Deny,
                        None,
                        read_policies.union(&masked_policies).cloned().collect(),
                    ),
                }
            };
            if decided.0 != ColumnEffect::Deny {
                readable.push(field.name.clone());
            }
            out.columns.push((name, decided.0, decided.1, decided.2));
        }
        if !readable.is_empty() || out.columns.is_empty() {
            out.row_filters = self.row_filters(request, product, &readable);
        }
        out
    }

    fn row_filters(
        &self,
        request: &AccessRequest,
        product: &Product,
        readable: &[String],
    ) -> Vec<(String, String, Json)> {
        let input = json!({
            "principal": {
                "id": request.principal.id,
                "roles": request.principal.roles,
                "groups": request.principal.groups,
                "attributes": request.principal.attributes,
            },
            "product": {
                "id": product.id, "domain": product.domain, "owner": product.owner,
                "classification": product.classification, "status": product.status,
                "tags": product.tags, "roles": product.access.roles,
                "columns": product.fields.iter().map(|f| json!({
                    "name": f.name, "type": f.data_type, "pii": f.pii, "masking": f.masking,
                    "classification": f.classification, "tags": f.tags,
                })).collect::<Vec<_>>(),
                "column_names": product.fields.iter().map(|f| &f.name).collect::<BTreeSet<_>>(),
            },
            "columns": readable,
            "purpose": request.purpose,
        });
        let mut engine = self.rego.clone();
        engine.set_input(regorus::Value::from(input));
        let value = engine
            .eval_rule("data.charter.access.row_filters".into())
            .expect("the rule evaluates");
        let json: Json = serde_json::to_value(&value).expect("json");
        json.as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|f| {
                        (
                            f["column"].as_str().unwrap_or_default().to_owned(),
                            f["op"].as_str().unwrap_or("=").to_owned(),
                            f["value"].clone(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

fn pick<T: Clone + std::fmt::Debug + 'static>(items: &'static [T]) -> impl Strategy<Value = T> {
    proptest::sample::select(items)
}

fn subset(items: &'static [&'static str]) -> impl Strategy<Value = Vec<String>> {
    proptest::sample::subsequence(items, 0..=items.len())
        .prop_map(|v| v.into_iter().map(str::to_owned).collect())
}

const NAMES: &[&str] = &[
    "id", "email", "Email", "phone", "amount", "region", "born", "note", "iban",
];

fn field() -> impl Strategy<Value = Field> {
    (
        pick(&[
            None,
            Some("string"),
            Some("date"),
            Some("decimal(10,2)"),
            Some("timestamp"),
        ]),
        any::<bool>(),
        pick(&[
            None,
            Some("hash"),
            Some("redact"),
            Some("nullify"),
            Some("last4"),
            Some("SHA256"),
            Some("show-last-4"),
            Some("tokenize"),
            Some(""),
        ]),
        pick(&[None, Some("contact"), Some("Contact"), Some("financial")]),
        subset(&["gdpr", "k1"]),
    )
        .prop_map(|(ty, pii, masking, classification, tags)| Field {
            data_type: ty.map(str::to_owned),
            nullable: true,
            pii,
            masking: masking.map(str::to_owned),
            classification: classification.map(str::to_owned),
            tags,
            ..Field::default()
        })
}

/// Distinct names mostly; now and then a name declared twice.
fn fields() -> impl Strategy<Value = Vec<Field>> {
    (
        proptest::sample::subsequence(NAMES, 0..=NAMES.len()),
        proptest::collection::vec(field(), NAMES.len()),
        proptest::bool::weighted(0.1),
    )
        .prop_map(|(names, attrs, twice)| {
            let mut fields: Vec<Field> = names
                .iter()
                .zip(attrs)
                .map(|(name, field)| Field {
                    name: (*name).to_owned(),
                    ..field
                })
                .collect();
            if twice && let Some(first) = fields.first().cloned() {
                fields.push(Field {
                    pii: !first.pii,
                    ..first
                });
            }
            fields
        })
}

fn product() -> impl Strategy<Value = Product> {
    (
        pick(&["d1", "d2"]),
        0..5u8,
        pick(&[None, Some("team-a@x"), Some("team-b@x")]),
        pick(&[
            None,
            Some("public"),
            Some("internal"),
            Some("internal"),
            Some("confidential"),
            Some("restricted"),
            Some("Restricted"),
        ]),
        pick(&[
            None,
            Some("active"),
            Some("active"),
            Some("active"),
            Some("draft"),
            Some("retired"),
            Some("Retired"),
        ]),
        (proptest::bool::weighted(0.8), subset(&["finance", "ops"])),
        proptest::collection::vec(pick(&["lake.t0", "lake.t1", "LAKE.T2", "lake.t3"]), 0..2),
        subset(&["restricted-data", "k2"]),
        fields(),
    )
        .prop_map(
            |(
                domain,
                n,
                owner,
                classification,
                status,
                (analyst, mut roles),
                tables,
                tags,
                fields,
            )| {
                if analyst {
                    roles.push("analyst".to_owned());
                }
                Product {
                    id: format!("{domain}.p{n}"),
                    domain: domain.to_owned(),
                    name: format!("p{n}"),
                    version: "1.0.0".into(),
                    owner: owner.map(str::to_owned),
                    classification: classification.map(str::to_owned),
                    status: status.map(str::to_owned),
                    access: Access {
                        roles,
                        policies: Vec::new(),
                        ..Access::default()
                    },
                    interfaces: tables
                        .into_iter()
                        .map(|t| Interface {
                            kind: "trino".into(),
                            table: t.to_owned(),
                            ..Interface::default()
                        })
                        .collect(),
                    tags,
                    fields,
                    ..Product::default()
                }
            },
        )
}

fn request(ids: Vec<String>, names: Vec<String>) -> impl Strategy<Value = AccessRequest> {
    // Mostly products of the mesh, by id; sometimes by table, sometimes unknown.
    let mut refs: Vec<ProductRef> = (0..4)
        .flat_map(|_| ids.iter().cloned())
        .map(ProductRef::Id)
        .collect();
    refs.push(ProductRef::Id("d9.none".into()));
    refs.extend(
        ["lake.t0", "lake.T1", "lake.t2", "lake.none"].map(|t| ProductRef::Table(t.into())),
    );
    // Mostly columns of the mesh's products, sometimes in other case, sometimes unknown.
    let mut names: Vec<String> = (0..3).flat_map(|_| names.iter().cloned()).collect();
    names.extend(["EMAIL", "Phone", "missing"].map(str::to_owned));
    (
        proptest::sample::select(refs),
        (
            proptest::bool::weighted(0.85),
            proptest::bool::weighted(0.5),
            proptest::bool::weighted(0.35),
            subset(&["finance", "ops", "global-reader"]),
        ),
        subset(&["team-a@x", "team-b@x", "team-c@x"]),
        pick(&[None, Some("eu"), Some("us"), Some("eu' OR '1'='1")]),
        proptest::collection::vec(proptest::sample::select(names), 0..8),
        pick(&[None, Some("support"), Some("marketing"), Some("analytics")]),
    )
        .prop_map(
            |(product, (analyst, restricted, pii, mut roles), groups, region, columns, purpose)| {
                for (has, role) in [
                    (analyst, "analyst"),
                    (restricted, "restricted-reader"),
                    (pii, "pii-reader"),
                ] {
                    if has {
                        roles.push(role.to_owned());
                    }
                }
                AccessRequest {
                    principal: Principal {
                        id: "p\"rincipal".into(),
                        roles,
                        groups,
                        attributes: region
                            .map(|r| [("region".to_owned(), r.to_owned())].into())
                            .unwrap_or_default(),
                    },
                    product,
                    columns,
                    purpose: purpose.map(str::to_owned),
                    dialect: None,
                }
            },
        )
}

fn scenario() -> impl Strategy<Value = (usize, Vec<Product>, AccessRequest)> {
    (0..3usize, proptest::collection::vec(product(), 1..6)).prop_flat_map(|(pack, products)| {
        let ids = products.iter().map(|p| p.id.clone()).collect();
        let names = products
            .iter()
            .flat_map(|p| p.fields.iter().map(|f| f.name.clone()))
            .collect();
        (Just(pack), Just(products), request(ids, names))
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn the_fast_path_decides_as_plain_cedar((pack, products, request) in scenario()) {
        let prepared = &PACKS[pack];
        let mesh = mesh_from_products(products);
        let engine = AccessEngine::with_policies(prepared.policies.clone(), &mesh).expect("the engine builds");
        let entities = engine.entities_json().expect("entities");
        let expected = prepared.plain.decide(&mesh, &entities, &request);
        let decision = engine.decide(&request).expect("a well-formed request");

        prop_assert_eq!(decision.product.effect == charter_engine::access::ProductEffect::Allow, expected.product_allowed);
        let product_policies: BTreeSet<String> = decision.reasons.iter().filter_map(|r| r.policy.clone()).collect();
        prop_assert_eq!(&product_policies, &expected.product_policies);
        let got: Vec<(String, ColumnEffect, Option<MaskMethod>, BTreeSet<String>)> = decision
            .columns
            .iter()
            .map(|c| (c.name.clone(), c.effect, c.mask_method, c.reasons.iter().filter_map(|r| r.policy.clone()).collect()))
            .collect();
        prop_assert_eq!(&got, &expected.columns);
        // Explaining asks Cedar column by column: the same answers.
        let explained = engine.explain(&request).expect("a well-formed request");
        let explained_columns: Vec<_> = explained.columns.iter().map(|c| (c.name.clone(), c.effect, c.mask_method)).collect();
        let decided_columns: Vec<_> = decision.columns.iter().map(|c| (c.name.clone(), c.effect, c.mask_method)).collect();
        prop_assert_eq!(explained_columns, decided_columns);
        prop_assert_eq!(explained.decision, decision.decision);
        let filters: Vec<(String, String, Json)> =
            decision.row_filters.iter().map(|f| (f.column.clone(), f.op.clone(), f.value.clone())).collect();
        prop_assert_eq!(&filters, &expected.row_filters);
        for filter in &decision.row_filters {
            // One literal, however the value is spelled.
            let value = filter.value.as_str().unwrap_or_default();
            prop_assert_eq!(&filter.sql, &format!("\"{}\" = '{}'", filter.column, value.replace('\'', "''")));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    /// `from_mesh` (the server's: each contract dropped once built) and `with_policies`
    /// build the same engine.
    #[test]
    fn taking_the_mesh_builds_the_same_engine((pack, products, request) in scenario()) {
        let prepared = &PACKS[pack];
        let read = mesh_from_products(products.clone());
        let borrowed = AccessEngine::with_policies(prepared.policies.clone(), &read).expect("the engine builds");
        let taken = AccessEngine::from_mesh(prepared.policies.clone(), mesh_from_products(products)).expect("the engine builds");
        prop_assert_eq!(borrowed.entities_json().expect("entities"), taken.entities_json().expect("entities"));
        prop_assert_eq!(borrowed.product_count(), taken.product_count());
        let a = borrowed.decide(&request).expect("a well-formed request");
        let mut b = taken.decide(&request).expect("a well-formed request");
        b.decision_id.clone_from(&a.decision_id);
        prop_assert_eq!(serde_json::to_value(&a).expect("json"), serde_json::to_value(&b).expect("json"));
    }
}

#[test]
fn the_extended_packs_split_classes_by_what_they_read() {
    // Guard the property test's premise: the extra packs hold their extra policies (the
    // oracle reads the same files, so a dropped file would go unnoticed there) and validate.
    let ids = |p: &Prepared| -> Vec<String> {
        p.policies.policies().iter().map(|i| i.id.clone()).collect()
    };
    let base = ids(&PACKS[0]);
    for (pack, extra) in [
        (1, "gdpr-tagged-masked-outside-eu"),
        (2, "no-email-of-d1-p0"),
    ] {
        let with = ids(&PACKS[pack]);
        assert!(with.iter().any(|id| id == extra), "pack {pack}: {with:?}");
        assert!(!base.iter().any(|id| id == extra));
        assert!(with.len() > base.len());
    }
    for p in PACKS.iter() {
        assert!(
            p.policies.warnings().is_empty(),
            "{:?}",
            p.policies.warnings()
        );
    }
}
