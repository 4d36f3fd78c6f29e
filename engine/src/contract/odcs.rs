//! Open Data Contract Standard v3.0 / v3.1 (`kind: DataContract`).
//!
//! ODCS has no PII flag, no masking field, no lineage and no product classification;
//! Charter reads them from what ODCS does have:
//! - tables: each schema object, with its `name` and `physicalName`; columns: its
//!   properties, nested ones (`properties`, `items.properties`) flattened with their path
//!   (`parent.child`), each with its logical and physical name;
//! - PII: a property whose `classification` or one of whose `tags` the central settings
//!   list (`odcs.pii_classifications`, `odcs.pii_tags`);
//! - masking: the property's `customProperties` entry named in `odcs.masking_properties`
//!   (`masking` by default); a removing transformation: `customProperties` `transform`;
//! - product classification, lineage and access policies: top-level `customProperties`
//!   `classification` (or `dataClassification`), `upstream`, `downstream`, `accessPolicies`;
//! - retention, freshness and availability: `slaProperties` `retention` (`rt`), `latency`
//!   (`ly`, or `freshness`) and `availability` (`av`), names matched case-insensitively;
//! - owner: the team member with role `Owner` (v3.0's list of members or v3.1's `team.members`);
//! - access roles: `roles[].role` with `access: read` (or no access given) may read;
//!   `access: write` roles only write;
//! - physical locations: every server's location of every table (see `servers.rs`);
//! - identity: the product id is `<domain>.<dataProduct>` when the contract names its
//!   data product, else `name` (`<domain>.<name>`), else the contract `id`.

use std::collections::BTreeMap;

use serde::Deserialize;

use super::locations::{OdcsMap, PathMap};
use super::model::{
    Access, Field, Interface, Lineage, Product, QualityCheck, Retention, Sla, SourceInfo, Table,
};
use super::read::{ParseError, ReaderSettings, line_of, typed};
use super::scalar::{Number, Percent, Text, TextList, text};
use super::servers::Server;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", expecting = "an ODCS data contract")]
struct Doc {
    api_version: Text,
    id: Option<Text>,
    name: Option<Text>,
    data_product: Option<Text>,
    version: Option<Text>,
    status: Option<Text>,
    domain: Option<Text>,
    #[serde(default)]
    schema: Vec<SchemaObject>,
    #[serde(default)]
    servers: Vec<Server>,
    team: Option<Team>,
    #[serde(default)]
    roles: Vec<Role>,
    #[serde(default)]
    sla_properties: Vec<SlaProperty>,
    #[serde(default)]
    tags: TextList,
    #[serde(default)]
    custom_properties: Vec<CustomProperty>,
}

#[derive(Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "a schema object: a mapping with `name` and `properties`"
)]
struct SchemaObject {
    name: Option<Text>,
    physical_name: Option<Text>,
    physical_type: Option<Text>,
    #[serde(default)]
    properties: Vec<Property>,
    #[serde(default)]
    quality: Vec<Quality>,
}

#[derive(Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "a property: a mapping with `name` and `logicalType`"
)]
struct Property {
    name: Text,
    physical_name: Option<Text>,
    logical_type: Option<Text>,
    physical_type: Option<Text>,
    required: Option<bool>,
    primary_key: Option<bool>,
    unique: Option<bool>,
    classification: Option<Text>,
    #[serde(default)]
    tags: TextList,
    #[serde(default)]
    custom_properties: Vec<CustomProperty>,
    #[serde(default)]
    quality: Vec<Quality>,
    #[serde(default)]
    properties: Vec<Property>,
    items: Option<Items>,
}

#[derive(Deserialize)]
#[serde(expecting = "the items of an array: a mapping with `logicalType` and `properties`")]
struct Items {
    #[serde(default)]
    properties: Vec<Property>,
}

#[derive(Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "a quality rule: a mapping with `rule`, `metric` or `type`"
)]
struct Quality {
    rule: Option<Text>,
    metric: Option<Text>,
    name: Option<Text>,
    #[serde(rename = "type")]
    kind: Option<Text>,
    threshold: Option<Number>,
    must_be: Option<yaml_serde::Value>,
    must_not_be: Option<yaml_serde::Value>,
    must_be_greater_than: Option<yaml_serde::Value>,
    must_be_greater_or_equal_to: Option<yaml_serde::Value>,
    must_be_less_than: Option<yaml_serde::Value>,
    must_be_less_or_equal_to: Option<yaml_serde::Value>,
    must_be_between: Option<yaml_serde::Value>,
    must_not_be_between: Option<yaml_serde::Value>,
}

#[derive(Deserialize)]
#[serde(
    untagged,
    expecting = "a team: a list of members (v3.0) or a mapping with `members` (v3.1)"
)]
enum Team {
    Members(Vec<Member>),
    Object {
        #[serde(default)]
        members: Vec<Member>,
    },
}

#[derive(Deserialize)]
#[serde(expecting = "a team member: a mapping with `username` and `role`")]
struct Member {
    username: Option<Text>,
    role: Option<Text>,
}

#[derive(Deserialize)]
#[serde(expecting = "a role: a mapping with `role` and `access`")]
struct Role {
    role: Text,
    access: Option<Text>,
}

#[derive(Deserialize)]
#[serde(expecting = "an SLA property: a mapping with `property`, `value` and `unit`")]
struct SlaProperty {
    property: Text,
    value: Option<yaml_serde::Value>,
    unit: Option<Text>,
}

#[derive(Deserialize)]
#[serde(expecting = "a custom property: a mapping with `property` and `value`")]
struct CustomProperty {
    property: Text,
    value: Option<yaml_serde::Value>,
}

/// Reads an ODCS contract.
pub(super) fn read(
    text_in: &str,
    settings: &ReaderSettings,
) -> Result<(Product, PathMap), ParseError> {
    let doc: Doc = typed(text_in)?;
    let mut map = OdcsMap::default();

    let domain = text(doc.domain.clone()).unwrap_or_default();
    let contract_id = text(doc.id.clone());
    let id = product_id(&doc, &domain, contract_id.as_deref(), &mut map);
    let owner = owner(doc.team);
    let (sla, retention) = service_levels(&doc.sla_properties, text_in, &mut map)?;

    let custom = |key: &str| {
        doc.custom_properties
            .iter()
            .find(|c| c.property.0 == key)
            .and_then(|c| c.value.clone())
    };
    let custom_list = |key: &str| -> Vec<String> {
        custom(key)
            .and_then(|v| yaml_serde::from_value::<TextList>(v).ok())
            .map(|t| t.0)
            .unwrap_or_default()
    };
    let classification = custom("classification")
        .or_else(|| custom("dataClassification"))
        .and_then(|v| yaml_serde::from_value::<Text>(v).ok())
        .map(|t| t.0);
    let position = |keys: &[&str]| {
        doc.custom_properties
            .iter()
            .position(|c| keys.contains(&c.property.0.as_str()))
    };
    map.classification = position(&["classification", "dataClassification"]);
    map.upstream = position(&["upstream"]);
    map.downstream = position(&["downstream"]);
    map.policies = position(&["accessPolicies"]);

    let schema = Schema::read(doc.schema, &doc.servers, settings, &mut map);
    let access = access(doc.roles, custom_list("accessPolicies"), &mut map);

    let product = Product {
        model: super::model::MODEL_VERSION,
        name: super::seed::product_part(&id),
        id,
        contract_id,
        domain,
        version: text(doc.version).unwrap_or_default(),
        status: text(doc.status),
        owner,
        classification,
        retention,
        sla,
        tables: schema.tables,
        fields: schema.fields,
        quality: schema.quality,
        lineage: Lineage {
            upstream: custom_list("upstream"),
            downstream: custom_list("downstream"),
        },
        access,
        interfaces: schema.interfaces,
        tags: doc.tags.0,
        source: SourceInfo {
            file: String::new(),
            format: "odcs".into(),
            api_version: doc.api_version.0,
        },
    };
    Ok((product, PathMap::Odcs(Box::new(map))))
}

/// The product id: `dataProduct`, else `name`, else the contract `id`, prefixed with the
/// domain unless it already reads `<domain>.<product>`; `map` learns which key it came from.
fn product_id(doc: &Doc, domain: &str, contract_id: Option<&str>, map: &mut OdcsMap) -> String {
    let (name, name_key): (String, &'static str) =
        match (text(doc.data_product.clone()), text(doc.name.clone())) {
            (Some(p), _) => (p, "dataProduct"),
            (None, Some(n)) => (n, "name"),
            (None, None) => (contract_id.unwrap_or_default().to_owned(), "id"),
        };
    map.name_key = name_key;
    if name.contains('.') || domain.is_empty() {
        name
    } else {
        format!("{domain}.{name}")
    }
}

/// The username of the team member whose role is `owner`.
fn owner(team: Option<Team>) -> Option<String> {
    match team {
        Some(Team::Members(m) | Team::Object { members: m }) => m
            .into_iter()
            .find(|m| {
                m.role
                    .as_ref()
                    .is_some_and(|r| r.0.trim().eq_ignore_ascii_case("owner"))
            })
            .and_then(|m| text(m.username)),
        None => None,
    }
}

/// The roles that may read, and apart those that may only write (a write-only role never
/// grants reads), with the access policies.
fn access(roles: Vec<Role>, policies: Vec<String>, map: &mut OdcsMap) -> Access {
    let mut access = Access {
        policies,
        ..Access::default()
    };
    for (i, role) in roles.into_iter().enumerate() {
        let (read, write) = role_access(role.access.and_then(|a| text(Some(a))).as_deref());
        if read {
            map.roles.push(i);
            access.roles.push(role.role.0.clone());
        }
        if write && !read {
            map.write_roles.push(i);
            access.write_roles.push(role.role.0);
        }
    }
    access
}

/// Whether a role's `access` grants reading and writing: `read`, `write`, both
/// (`readwrite`, `read-write`, `rw`, `all`), or reading when no access is given.
fn role_access(access: Option<&str>) -> (bool, bool) {
    let Some(access) = access else {
        return (true, false);
    };
    let a = access
        .trim()
        .to_ascii_lowercase()
        .replace(['-', '_', ' ', '/'], "");
    match a.as_str() {
        "write" | "w" => (false, true),
        "readwrite" | "rw" | "all" | "writeread" => (true, true),
        "read" | "r" | "readonly" => (true, false),
        // An access Charter does not know grants no read: fail closed.
        _ => (false, false),
    }
}

/// The SLA name an ODCS property means: its spec name or abbreviation, any case.
fn sla_name(property: &str) -> Option<&'static str> {
    match property.trim().to_ascii_lowercase().as_str() {
        "latency" | "ly" | "freshness" => Some("latency"),
        "retention" | "rt" => Some("retention"),
        "availability" | "av" => Some("availability"),
        _ => None,
    }
}

/// Freshness, availability and retention from `slaProperties`.
fn service_levels(
    properties: &[SlaProperty],
    text_in: &str,
    map: &mut OdcsMap,
) -> Result<(Sla, Option<Retention>), ParseError> {
    let mut sla = Sla::default();
    let mut retention = None;
    for (i, p) in properties.iter().enumerate() {
        let yaml = format!("slaProperties[{i}]");
        let bad = |m: String| {
            ParseError::new(
                line_of(text_in, &yaml),
                format!("`{yaml}` ({}): {m}", p.property.0),
            )
        };
        match sla_name(&p.property.0) {
            Some("latency") => {
                sla.freshness = Some(amount_duration(p).map_err(bad)?);
                map.freshness = Some(i);
            }
            Some("retention") => {
                let period = amount_duration(p).map_err(bad)?;
                retention = Some(Retention::from(period));
                map.retention = Some(i);
            }
            Some(_) => {
                let value = p
                    .value
                    .clone()
                    .ok_or_else(|| bad("missing `value`".into()))?;
                let percent: Percent = yaml_serde::from_value(value)
                    .map_err(|_| bad("expected a percentage such as `99.9`".into()))?;
                sla.availability = Some(percent.0);
                map.availability = Some(i);
            }
            None => {}
        }
    }
    Ok((sla, retention))
}

/// The tables, columns, quality checks and locations of the schema objects.
#[derive(Default)]
struct Schema {
    tables: Vec<Table>,
    fields: Vec<Field>,
    quality: Vec<QualityCheck>,
    interfaces: Vec<Interface>,
}

/// Where a property sits: its table, logical and physical parent paths, YAML path.
struct At<'a> {
    table: &'a str,
    path: String,
    physical: String,
    yaml: String,
}

impl Schema {
    fn read(
        objects: Vec<SchemaObject>,
        servers: &[Server],
        settings: &ReaderSettings,
        map: &mut OdcsMap,
    ) -> Self {
        let mut out = Self::default();
        for (oi, object) in objects.into_iter().enumerate() {
            let name = text(object.name.clone())
                .or_else(|| text(object.physical_name.clone()))
                .unwrap_or_else(|| format!("schema[{oi}]"));
            let physical_name = text(object.physical_name).unwrap_or_else(|| name.clone());
            for (si, server) in servers.iter().enumerate() {
                if let Some(location) = server.location(Some(&physical_name)) {
                    map.interfaces.push(si);
                    out.interfaces.push(interface(server, location, &name));
                }
            }
            for (qi, q) in object.quality.into_iter().enumerate() {
                map.quality.push(format!("schema[{oi}].quality[{qi}]"));
                out.quality.push(check(Some(name.clone()), None, q));
            }
            let at = At {
                table: &name,
                path: String::new(),
                physical: String::new(),
                yaml: format!("schema[{oi}]"),
            };
            out.properties(object.properties, &at, settings, map);
            out.tables.push(Table {
                name: name.clone(),
                physical_name,
                physical_type: text(object.physical_type),
            });
        }
        if out.tables.is_empty() {
            // No schema: the servers' own locations (an object store, a topic) still serve the product.
            for (si, server) in servers.iter().enumerate() {
                if let Some(location) = server.location(None) {
                    map.interfaces.push(si);
                    out.interfaces.push(interface(server, location, ""));
                }
            }
        }
        out
    }

    /// Adds `properties` (under `at`) and their nested properties as fields.
    fn properties(
        &mut self,
        properties: Vec<Property>,
        at: &At<'_>,
        settings: &ReaderSettings,
        map: &mut OdcsMap,
    ) {
        for (pi, p) in properties.into_iter().enumerate() {
            let yaml = format!("{}.properties[{pi}]", at.yaml);
            let join = |parent: &str, leaf: &str| {
                if parent.is_empty() {
                    leaf.to_owned()
                } else {
                    format!("{parent}.{leaf}")
                }
            };
            let path = join(&at.path, &p.name.0);
            let physical_leaf = text(p.physical_name.clone()).unwrap_or_else(|| p.name.0.clone());
            let physical = join(&at.physical, &physical_leaf);
            let masking_at = p
                .custom_properties
                .iter()
                .position(|c| settings.masking_properties.contains(&c.property.0));
            map.fields.push((yaml.clone(), masking_at));
            let mut nested = p.properties;
            let mut nested_yaml = yaml.clone();
            if let Some(items) = p.items
                && nested.is_empty()
            {
                nested = items.properties;
                nested_yaml = format!("{yaml}.items");
            }
            for (qi, q) in p.quality.into_iter().enumerate() {
                map.quality.push(format!("{yaml}.quality[{qi}]"));
                self.quality
                    .push(check(Some(at.table.to_owned()), Some(path.clone()), q));
            }
            self.fields.push(field(
                FieldDoc {
                    name: p.name.0,
                    logical_type: p.logical_type,
                    physical_type: p.physical_type,
                    required: p.required,
                    primary_key: p.primary_key,
                    unique: p.unique,
                    classification: p.classification,
                    tags: p.tags.0,
                    custom_properties: p.custom_properties,
                },
                at.table,
                &path,
                &physical,
                settings,
            ));
            let inner = At {
                table: at.table,
                path,
                physical,
                yaml: nested_yaml,
            };
            self.properties(nested, &inner, settings, map);
        }
    }
}

/// What a field is made of, once its nested properties are taken out.
struct FieldDoc {
    name: String,
    logical_type: Option<Text>,
    physical_type: Option<Text>,
    required: Option<bool>,
    primary_key: Option<bool>,
    unique: Option<bool>,
    classification: Option<Text>,
    tags: Vec<String>,
    custom_properties: Vec<CustomProperty>,
}

fn field(p: FieldDoc, table: &str, path: &str, physical: &str, settings: &ReaderSettings) -> Field {
    let prop_custom = |key: &str| {
        p.custom_properties
            .iter()
            .find(|c| c.property.0 == key)
            .and_then(|c| c.value.clone())
    };
    let masking = settings
        .masking_properties
        .iter()
        .find_map(|k| prop_custom(k))
        .and_then(|v| yaml_serde::from_value::<Text>(v).ok())
        .map(|t| t.0);
    let transform = prop_custom("transform")
        .and_then(|v| yaml_serde::from_value::<Text>(v).ok())
        .map(|t| t.0);
    let classification = text(p.classification);
    let pii = classification
        .as_deref()
        .is_some_and(|c| settings.is_pii_classification(c))
        || p.tags.iter().any(|t| settings.is_pii_tag(t));
    Field {
        name: p.name,
        table: table.to_owned(),
        path: path.to_owned(),
        physical_name: physical.to_owned(),
        data_type: text(p.logical_type).or_else(|| text(p.physical_type)),
        nullable: !p.required.unwrap_or(false),
        primary_key: p.primary_key.unwrap_or(false),
        unique: p.unique.unwrap_or(false),
        pii,
        masking,
        classification,
        tags: p.tags,
        transform,
    }
}

fn interface(server: &Server, location: String, table: &str) -> Interface {
    Interface {
        kind: server.kind(),
        table: location,
        serves: table.to_owned(),
        server: text(server.server.clone()),
    }
}

fn check(table: Option<String>, field: Option<String>, q: Quality) -> QualityCheck {
    let mut bounds = BTreeMap::new();
    let mut bound = |key: &str, n: Option<f64>| {
        if let Some(n) = n {
            bounds.insert(key.to_owned(), n);
        }
    };
    let number = |v: Option<yaml_serde::Value>| {
        v.and_then(|v| yaml_serde::from_value::<Number>(v).ok())
            .map(|n| n.0)
    };
    bound("must_be", number(q.must_be));
    bound("must_not_be", number(q.must_not_be));
    bound("must_be_greater_than", number(q.must_be_greater_than));
    bound(
        "must_be_greater_or_equal_to",
        number(q.must_be_greater_or_equal_to),
    );
    bound("must_be_less_than", number(q.must_be_less_than));
    bound(
        "must_be_less_or_equal_to",
        number(q.must_be_less_or_equal_to),
    );
    for (key, range) in [
        ("must_be_between", q.must_be_between),
        ("must_not_be_between", q.must_not_be_between),
    ] {
        let range = range.and_then(|v| yaml_serde::from_value::<Vec<Number>>(v).ok());
        if let Some([low, high]) = range.as_deref() {
            bound(&format!("{key}_min"), Some(low.0));
            bound(&format!("{key}_max"), Some(high.0));
        }
    }
    let assertion = text(q.rule)
        .or_else(|| text(q.metric))
        .or_else(|| text(q.name))
        .or_else(|| text(q.kind))
        .unwrap_or_default();
    QualityCheck {
        table,
        field,
        kind: super::seed::kind_of(&assertion).to_owned(),
        assertion,
        threshold: q.threshold.map(|n| n.0),
        bounds,
    }
}

fn amount_duration(p: &SlaProperty) -> Result<super::model::Duration, String> {
    let value = p.value.clone().ok_or("missing `value`")?;
    match (yaml_serde::from_value::<Number>(value.clone()), &p.unit) {
        (Ok(n), Some(unit)) => super::duration::from_amount(n.0, &unit.0),
        (Ok(_), None) => Err("missing `unit` (e.g. `d` for days)".into()),
        (Err(_), _) => {
            let t: Text = yaml_serde::from_value(value).map_err(|_| {
                "expected a number with a `unit`, or a duration like `15m`".to_owned()
            })?;
            super::parse_duration(&t.0)
        }
    }
}
