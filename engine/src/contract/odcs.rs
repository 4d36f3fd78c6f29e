//! Open Data Contract Standard v3.0 / v3.1 (`kind: DataContract`).
//!
//! ODCS has no PII flag, no masking field, no lineage and no product classification;
//! Charter reads them from what ODCS does have:
//! - PII: a property whose `classification` or one of whose `tags` the central settings
//!   list (`odcs.pii_classifications`, `odcs.pii_tags`);
//! - masking: the property's `customProperties` entry named in `odcs.masking_properties`
//!   (`masking` by default); a removing transformation: `customProperties` `transform`;
//! - product classification, lineage and access policies: top-level `customProperties`
//!   `classification` (or `dataClassification`), `upstream`, `downstream`, `accessPolicies`;
//! - retention, freshness and availability: `slaProperties` `retention`, `latency`,
//!   `availability` (value and unit);
//! - owner: the team member with role `Owner` (v3.0's list of members or v3.1's `team.members`);
//! - physical tables: each server's catalog (or database) and schema, with each schema
//!   object's `physicalName`.

use serde::Deserialize;

use super::locations::{OdcsMap, PathMap};
use super::model::{
    Access, Field, Interface, Lineage, Product, QualityCheck, Retention, Sla, SourceInfo,
};
use super::read::{ParseError, ReaderSettings, line_of, typed};
use super::scalar::{Number, Percent, Text, TextList, text};

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
}

#[derive(Deserialize)]
#[serde(expecting = "a server: a mapping with `server` and `type`")]
struct Server {
    #[serde(rename = "type")]
    kind: Option<Text>,
    catalog: Option<Text>,
    database: Option<Text>,
    project: Option<Text>,
    schema: Option<Text>,
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

    let domain = text(doc.domain).unwrap_or_default();
    let contract_id = text(doc.id);
    let (name, name_key): (String, &'static str) = match (text(doc.name), text(doc.data_product)) {
        (Some(n), _) => (n, "name"),
        (None, Some(p)) => (p, "dataProduct"),
        (None, None) => (contract_id.clone().unwrap_or_default(), "id"),
    };
    // `name` already reads `<domain>.<product>`, or the id is `<domain>.<name>`.
    map.name_key = name_key;
    let id = if name.contains('.') || domain.is_empty() {
        name.clone()
    } else {
        format!("{domain}.{name}")
    };

    let owner = match doc.team {
        Some(Team::Members(m) | Team::Object { members: m }) => m
            .into_iter()
            .find(|m| {
                m.role
                    .as_ref()
                    .is_some_and(|r| r.0.trim().eq_ignore_ascii_case("owner"))
            })
            .and_then(|m| text(m.username)),
        None => None,
    };

    let mut sla = Sla::default();
    let mut retention = None;
    for (i, p) in doc.sla_properties.iter().enumerate() {
        let yaml = format!("slaProperties[{i}]");
        let bad = |m: String| {
            ParseError::new(
                line_of(text_in, &yaml),
                format!("`{yaml}` ({}): {m}", p.property.0),
            )
        };
        match p.property.0.as_str() {
            "latency" | "freshness" => {
                sla.freshness = Some(amount_duration(p).map_err(bad)?);
                map.freshness = Some(i);
            }
            "retention" => {
                let period = amount_duration(p).map_err(bad)?;
                retention = Some(Retention::from(period));
                map.retention = Some(i);
            }
            "availability" => {
                let value = p
                    .value
                    .clone()
                    .ok_or_else(|| bad("missing `value`".into()))?;
                let percent: Percent = yaml_serde::from_value(value)
                    .map_err(|_| bad("expected a percentage such as `99.9`".into()))?;
                sla.availability = Some(percent.0);
                map.availability = Some(i);
            }
            _ => {}
        }
    }

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

    let mut fields = Vec::new();
    let mut quality = Vec::new();
    let mut interfaces = Vec::new();
    for (oi, object) in doc.schema.into_iter().enumerate() {
        let table = text(object.physical_name)
            .or_else(|| text(object.name.clone()))
            .unwrap_or_default();
        for (qi, q) in object.quality.into_iter().enumerate() {
            map.quality.push((oi, None, qi));
            quality.push(check(None, q));
        }
        for (pi, p) in object.properties.into_iter().enumerate() {
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
            let masking_at = p
                .custom_properties
                .iter()
                .position(|c| settings.masking_properties.contains(&c.property.0));
            map.fields.push((oi, pi, masking_at));
            let transform = prop_custom("transform")
                .and_then(|v| yaml_serde::from_value::<Text>(v).ok())
                .map(|t| t.0);
            let classification_text = text(p.classification);
            let tags = p.tags.0;
            let pii = classification_text
                .as_deref()
                .is_some_and(|c| settings.is_pii_classification(c))
                || tags.iter().any(|t| settings.is_pii_tag(t));
            let name = p.name.0;
            for (qi, q) in p.quality.into_iter().enumerate() {
                map.quality.push((oi, Some(pi), qi));
                quality.push(check(Some(name.clone()), q));
            }
            fields.push(Field {
                name,
                data_type: text(p.logical_type).or_else(|| text(p.physical_type)),
                nullable: !p.required.unwrap_or(false),
                primary_key: p.primary_key.unwrap_or(false),
                unique: p.unique.unwrap_or(false),
                pii,
                masking,
                classification: classification_text,
                tags,
                transform,
            });
        }
        for (si, server) in doc.servers.iter().enumerate() {
            let prefix: Vec<String> = [
                server
                    .catalog
                    .clone()
                    .or_else(|| server.database.clone())
                    .or_else(|| server.project.clone()),
                server.schema.clone(),
            ]
            .into_iter()
            .filter_map(text)
            .collect();
            if table.is_empty() || prefix.is_empty() {
                continue;
            }
            map.interfaces.push(si);
            interfaces.push(Interface {
                kind: server
                    .kind
                    .clone()
                    .and_then(|k| text(Some(k)))
                    .unwrap_or_default(),
                table: format!("{}.{table}", prefix.join(".")),
            });
        }
    }
    let roles: Vec<String> = doc.roles.into_iter().map(|r| r.role.0).collect();

    let product = Product {
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
        fields,
        quality,
        lineage: Lineage {
            upstream: custom_list("upstream"),
            downstream: custom_list("downstream"),
        },
        access: Access {
            roles,
            policies: custom_list("accessPolicies"),
        },
        interfaces,
        tags: doc.tags.0,
        source: SourceInfo {
            file: String::new(),
            format: "odcs".into(),
            api_version: doc.api_version.0,
        },
    };
    Ok((product, PathMap::Odcs(Box::new(map))))
}

fn check(field: Option<String>, q: Quality) -> QualityCheck {
    let assertion = text(q.rule)
        .or_else(|| text(q.metric))
        .or_else(|| text(q.name))
        .or_else(|| text(q.kind))
        .unwrap_or_default();
    QualityCheck {
        field,
        kind: super::seed::kind_of(&assertion).to_owned(),
        assertion,
        threshold: q.threshold.map(|n| n.0),
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
