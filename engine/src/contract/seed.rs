//! The seed format: `apiVersion: datamesh.io/v1`, `kind: DataProduct`.

use serde::Deserialize;

use super::locations::PathMap;
use super::model::{
    Access, Field, Interface, Lineage, Product, QualityCheck, Retention, Sla, SourceInfo, Table,
};
use super::read::{ParseError, ReaderSettings, duration_at, typed};
use super::scalar::{Number, Percent, Text, TextList, text};

#[derive(Deserialize)]
#[serde(
    rename_all = "camelCase",
    expecting = "a DataProduct with `metadata` and `spec`"
)]
struct Doc {
    api_version: Text,
    metadata: Metadata,
    spec: Spec,
}

#[derive(Deserialize)]
#[serde(expecting = "a mapping with `name`, `domain` and `version`")]
struct Metadata {
    name: Option<Text>,
    domain: Option<Text>,
    version: Option<Text>,
    #[serde(default)]
    tags: TextList,
}

#[derive(Deserialize, Default)]
#[serde(
    default,
    expecting = "a mapping with `owner`, `sla`, `schema`, `quality`, `lineage` and `access`"
)]
struct Spec {
    owner: Option<Text>,
    status: Option<Text>,
    classification: Option<Text>,
    retention: Option<RetentionDoc>,
    sla: Option<SlaDoc>,
    schema: Option<SchemaDoc>,
    quality: Option<QualityDoc>,
    lineage: Option<LineageDoc>,
    access: Option<AccessDoc>,
    interfaces: Vec<InterfaceDoc>,
    tags: TextList,
}

#[derive(Deserialize)]
#[serde(expecting = "a mapping with `period`, e.g. `period: 400d`")]
struct RetentionDoc {
    period: Option<Text>,
}

#[derive(Deserialize)]
#[serde(expecting = "a mapping with `freshness` and `availability`")]
struct SlaDoc {
    freshness: Option<Text>,
    availability: Option<Percent>,
}

#[derive(Deserialize)]
#[serde(expecting = "a mapping with `fields`, a list of fields")]
struct SchemaDoc {
    #[serde(default)]
    fields: Vec<FieldDoc>,
}

#[derive(Deserialize)]
#[serde(expecting = "a field: a mapping with `name`, `type` and `constraints`")]
struct FieldDoc {
    name: Text,
    physical_name: Option<Text>,
    #[serde(rename = "type")]
    data_type: Option<Text>,
    #[serde(default)]
    constraints: Constraints,
    classification: Option<Text>,
    #[serde(default)]
    tags: TextList,
    transform: Option<Text>,
}

#[derive(Deserialize, Default)]
#[serde(
    default,
    expecting = "a mapping of constraints such as `primary_key`, `null`, `pii`, `masking`"
)]
struct Constraints {
    primary_key: Option<bool>,
    null: Option<bool>,
    nullable: Option<bool>,
    unique: Option<bool>,
    pii: Option<bool>,
    masking: Option<Text>,
}

#[derive(Deserialize)]
#[serde(expecting = "a mapping with `checks`, a list of quality checks")]
struct QualityDoc {
    #[serde(default)]
    checks: Vec<CheckDoc>,
}

#[derive(Deserialize)]
#[serde(expecting = "a quality check: a mapping with `column`, `assertion` and `threshold`")]
struct CheckDoc {
    column: Option<Text>,
    assertion: Option<Text>,
    threshold: Option<Number>,
}

#[derive(Deserialize, Default)]
#[serde(
    default,
    expecting = "a mapping with `upstream` and `downstream` lists"
)]
struct LineageDoc {
    upstream: TextList,
    downstream: TextList,
}

#[derive(Deserialize, Default)]
#[serde(default, expecting = "a mapping with `roles` and `policies` lists")]
struct AccessDoc {
    roles: TextList,
    policies: TextList,
}

#[derive(Deserialize)]
#[serde(expecting = "an interface: a mapping with `type` and `table`")]
struct InterfaceDoc {
    #[serde(rename = "type")]
    kind: Option<Text>,
    table: Text,
}

/// Reads a seed-format contract.
pub(super) fn read(
    source: &str,
    settings: &ReaderSettings,
) -> Result<(Product, PathMap), ParseError> {
    let doc: Doc = typed(source)?;
    let id = text(doc.metadata.name).unwrap_or_default();
    let domain = text_of(doc.metadata.domain);
    let spec = doc.spec;

    let retention = duration_at(
        spec.retention.and_then(|r| text(r.period)),
        source,
        "spec.retention.period",
    )?
    .map(Retention::from);
    let (freshness, availability) = match spec.sla {
        Some(s) => (text(s.freshness), s.availability.map(|p| p.0)),
        None => (None, None),
    };
    let sla = Sla {
        freshness: duration_at(freshness, source, "spec.sla.freshness")?,
        availability,
    };

    // The seed format has one schema: one table, named after the product, physically
    // named after the last part of its first interface.
    let table_name = product_part(&id);
    let physical_table = physical_table(&spec.interfaces, &table_name);
    let fields = fields(spec.schema, &table_name, settings);
    let quality = quality(spec.quality, &table_name);

    let interfaces = spec
        .interfaces
        .into_iter()
        .map(|i| Interface {
            kind: text(i.kind).unwrap_or_default(),
            table: i.table.0,
            serves: table_name.clone(),
            server: None,
        })
        .collect();
    let lineage = spec.lineage.unwrap_or_default();
    let access = spec.access.unwrap_or_default();
    let mut tags = doc.metadata.tags.0;
    tags.extend(spec.tags.0);

    let tables = vec![Table {
        name: table_name.clone(),
        physical_name: physical_table,
        physical_type: None,
    }];
    let product = Product {
        model: super::model::MODEL_VERSION,
        tables,
        name: product_part(&id),
        id,
        contract_id: None,
        domain,
        version: text(doc.metadata.version).unwrap_or_default(),
        status: text(spec.status),
        owner: text(spec.owner),
        classification: text(spec.classification),
        retention,
        sla,
        fields,
        quality,
        lineage: Lineage {
            upstream: lineage.upstream.0,
            downstream: lineage.downstream.0,
        },
        access: Access {
            write_roles: Vec::new(),
            roles: access.roles.0,
            policies: access.policies.0,
        },
        interfaces,
        tags,
        source: SourceInfo {
            file: String::new(),
            format: "datamesh/v1".into(),
            api_version: doc.api_version.0,
        },
    };
    Ok((product, PathMap::Seed))
}

/// The physical table: the last part of the first interface's table, or `table_name`.
fn physical_table(interfaces: &[InterfaceDoc], table_name: &str) -> String {
    interfaces
        .first()
        .and_then(|i| {
            i.table
                .0
                .rsplit('.')
                .next()
                .map(str::trim)
                .map(str::to_owned)
        })
        .filter(|t| !t.is_empty())
        .unwrap_or_else(|| table_name.to_owned())
}

/// The schema's fields, all of the one table `table_name`.
fn fields(schema: Option<SchemaDoc>, table_name: &str, settings: &ReaderSettings) -> Vec<Field> {
    schema
        .map(|s| s.fields)
        .unwrap_or_default()
        .into_iter()
        .map(|f| {
            let c = f.constraints;
            let tags = f.tags.0;
            let pii = c.pii.unwrap_or(false) || tags.iter().any(|t| settings.is_pii_tag(t));
            let physical_name = text(f.physical_name).unwrap_or_else(|| f.name.0.clone());
            Field {
                table: table_name.to_owned(),
                path: f.name.0.clone(),
                physical_name,
                name: f.name.0,
                data_type: text(f.data_type),
                nullable: c.null.or(c.nullable).unwrap_or(true),
                primary_key: c.primary_key.unwrap_or(false),
                unique: c.unique.unwrap_or(false),
                pii,
                masking: text(c.masking),
                classification: text(f.classification),
                tags,
                transform: text(f.transform),
            }
        })
        .collect()
}

/// The quality checks, all of the one table `table_name`.
fn quality(quality: Option<QualityDoc>, table_name: &str) -> Vec<QualityCheck> {
    quality
        .map(|q| q.checks)
        .unwrap_or_default()
        .into_iter()
        .map(|c| {
            let assertion = text(c.assertion).unwrap_or_default();
            QualityCheck {
                table: Some(table_name.to_owned()),
                bounds: std::collections::BTreeMap::new(),
                field: text(c.column),
                kind: kind_of(&assertion).to_owned(),
                assertion,
                threshold: c.threshold.map(|n| n.0),
            }
        })
        .collect()
}

fn text_of(t: Option<Text>) -> String {
    text(t).unwrap_or_default()
}

/// The product part of an id: what follows the first `.`, or the whole id.
pub(super) fn product_part(id: &str) -> String {
    id.split_once('.').map_or(id, |(_, rest)| rest).to_owned()
}

/// The normalized kind of a quality assertion, from its name in either format.
pub(super) fn kind_of(assertion: &str) -> &'static str {
    let a = assertion.to_ascii_lowercase().replace(['-', ' '], "_");
    if a.contains("not_be_null")
        || a.contains("not_null")
        || a.contains("nullcheck")
        || a.contains("nullvalues")
        || a.contains("missingvalues")
    {
        "not_null"
    } else if a.contains("unique") || a.contains("duplicate") {
        "unique"
    } else if a.contains("between") || a.contains("range") {
        "range"
    } else if a.contains("row_count") || a.contains("rowcount") {
        "row_count"
    } else if a.contains("fresh") {
        "freshness"
    } else {
        "custom"
    }
}
