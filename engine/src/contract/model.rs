//! The normalized data-product model: what every reader produces and every policy sees.
//!
//! A [`Product`] serializes to exactly the Rego `input` of the contract rules
//! (`charter inspect FILE` prints it). Field names are snake_case and stable: policies
//! are written once against this model, whatever format a domain chose.

use serde::{Deserialize, Serialize};

/// The version of the model's shape, `input.model` of the Rego rules.
///
/// - 1: one schema per product (`fields`), interfaces without tables.
/// - 2: a product has `tables` (ODCS schema objects; the seed format's one schema); every
///   field names its `table`, its `physical_name` and its `path` (nested properties
///   flattened as `parent.child`); every interface names the table it `serves`; quality
///   checks name their `table`; `access.write_roles` lists roles that may only write.
pub const MODEL_VERSION: u32 = 2;

/// One data product, normalized from its contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Product {
    /// The shape of this model ([`MODEL_VERSION`]), for rules that must tell versions apart.
    #[serde(default)]
    pub model: u32,
    /// The product id, `<domain>.<product>` when the contract is well named.
    pub id: String,
    /// The contract's own id where the format has one (ODCS `id`, often a UUID).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub contract_id: Option<String>,
    /// The declared domain.
    pub domain: String,
    /// The product part of the id (after the first `.`), or the whole name.
    pub name: String,
    /// The contract's version as written (a semver string when well formed).
    pub version: String,
    /// `draft`, `active`, `deprecated` or `retired`, as written.
    pub status: Option<String>,
    /// The accountable owner: an email or a team handle.
    pub owner: Option<String>,
    /// `public`, `internal`, `confidential` or `restricted`, as written.
    pub classification: Option<String>,
    /// How long data is kept.
    pub retention: Option<Retention>,
    /// Service levels.
    pub sla: Sla,
    /// The product's tables (ODCS schema objects; the seed format's one schema), in order.
    #[serde(default)]
    pub tables: Vec<Table>,
    /// Every column of every table, in order; each names its `table`.
    pub fields: Vec<Field>,
    /// Quality checks.
    pub quality: Vec<QualityCheck>,
    /// Where the data comes from and goes to, as product ids or external names.
    pub lineage: Lineage,
    /// Who may read the product.
    pub access: Access,
    /// Physical tables that serve the product.
    pub interfaces: Vec<Interface>,
    /// Free-form tags of the product.
    pub tags: Vec<String>,
    /// Where the contract came from.
    pub source: SourceInfo,
}

/// A duration as written and in seconds, so policies can compare it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Duration {
    /// As written in the contract, e.g. `400d` or `15m`.
    pub text: String,
    /// The same duration in seconds.
    pub seconds: u64,
}

/// Retention of the product's data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Retention {
    /// The retention period.
    pub period: Duration,
    /// The same period in whole days (rounded up), for settings written in days.
    pub days: u64,
}

impl From<Duration> for Retention {
    fn from(period: Duration) -> Self {
        Self {
            days: period.seconds.div_ceil(86_400),
            period,
        }
    }
}

/// Service levels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Sla {
    /// Maximum age of the newest data.
    pub freshness: Option<Duration>,
    /// Availability as a percentage, e.g. `99.9`.
    pub availability: Option<f64>,
}

/// One table of the product: an ODCS schema object, or the seed format's schema.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Table {
    /// The logical name (ODCS `name`), unique in the product.
    pub name: String,
    /// The name in the serving system (ODCS `physicalName`; the logical name when absent).
    pub physical_name: String,
    /// The kind of object as written (`table`, `view`, `topic`…), when given.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub physical_type: Option<String>,
}

/// One field (column) of one of the product's tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Field {
    /// The field's logical name (the leaf name of a nested property).
    pub name: String,
    /// The logical name of the table it belongs to (`tables[].name`).
    #[serde(default)]
    pub table: String,
    /// The logical path: `name`, or `parent.child` for a nested property.
    #[serde(default)]
    pub path: String,
    /// The column's name in the serving system: the physical path (ODCS `physicalName`
    /// of each level, the logical name where absent).
    #[serde(default)]
    pub physical_name: String,
    /// The logical or physical type as written (`string`, `timestamp`, `decimal(10,2)`…).
    #[serde(rename = "type")]
    pub data_type: Option<String>,
    /// Whether nulls are allowed (`true` unless the contract says otherwise).
    pub nullable: bool,
    /// Part of the primary key.
    pub primary_key: bool,
    /// Values are unique.
    pub unique: bool,
    /// Holds personal data.
    pub pii: bool,
    /// How the field is masked for readers without clearance (`hash`, `redact`…).
    pub masking: Option<String>,
    /// The field's own classification, if any.
    pub classification: Option<String>,
    /// Free-form tags.
    pub tags: Vec<String>,
    /// A transformation that removes personal data derived from upstream
    /// (`hash`, `aggregate`, `drop`…), declared by the producer.
    pub transform: Option<String>,
}

impl Field {
    /// The column's name in the serving system: `physical_name`, or `name` without one.
    #[must_use]
    pub fn physical(&self) -> &str {
        if self.physical_name.is_empty() {
            &self.name
        } else {
            &self.physical_name
        }
    }

    /// The logical path: `path`, or `name` without one.
    #[must_use]
    pub fn logical(&self) -> &str {
        if self.path.is_empty() {
            &self.name
        } else {
            &self.path
        }
    }
}

/// A quality check.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct QualityCheck {
    /// The logical name of the table the check belongs to, when the format says.
    #[serde(default)]
    pub table: Option<String>,
    /// The field the check is about, when it is about one (its logical path).
    pub field: Option<String>,
    /// The check as named in the contract (`expect_column_values_to_not_be_null`, `nullCheck`…).
    pub assertion: String,
    /// The normalized kind: `not_null`, `unique`, `range`, `row_count`, `freshness` or `custom`.
    pub kind: String,
    /// The share of rows that must pass, in [0, 1], when given.
    pub threshold: Option<f64>,
    /// ODCS `mustBe*` bounds of the check's metric, as written (`must_be_greater_than`…).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub bounds: std::collections::BTreeMap<String, f64>,
}

/// Lineage: upstream sources and downstream consumers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Lineage {
    /// Where the data comes from.
    pub upstream: Vec<String>,
    /// Who consumes it.
    pub downstream: Vec<String>,
}

/// Access declared by the contract.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Access {
    /// Roles that may read the product (ODCS roles with `access: read`, or no access given).
    pub roles: Vec<String>,
    /// Roles that may only write (ODCS `access: write`): they grant no read.
    #[serde(default)]
    pub write_roles: Vec<String>,
    /// Named access policies the product is subject to.
    pub policies: Vec<String>,
}

/// A physical location serving one of the product's tables.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Interface {
    /// The serving system (`trino`, `postgres`, `kafka`, `s3`…).
    #[serde(rename = "type")]
    pub kind: String,
    /// The fully qualified location: `catalog.schema.table` or `project.dataset.table`
    /// for warehouses, the topic for Kafka, the URL or path for object stores and files.
    pub table: String,
    /// The logical name of the product table it serves (`tables[].name`).
    #[serde(default)]
    pub serves: String,
    /// The ODCS server it comes from (`servers[].server`), when named.
    #[serde(skip_serializing_if = "Option::is_none", default)]
    pub server: Option<String>,
}

/// Where the contract came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct SourceInfo {
    /// The file, relative to the repository root, with `/` separators.
    pub file: String,
    /// The contract format: `datamesh/v1` or `odcs`.
    pub format: String,
    /// The format version as declared (`datamesh.io/v1`, `v3.1.0`…).
    pub api_version: String,
}
