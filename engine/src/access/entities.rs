//! Cedar entities built from the mesh (`Domain`, `DataProduct`, `Column`), once per
//! mesh revision, and the `User` principal, once per request.
//!
//! Columns whose attributes are equal in every attribute a policy reads are grouped
//! into classes: for one principal they get equal answers, so a request asks Cedar
//! once per class instead of once per column.

use std::collections::HashMap;
use std::str::FromStr;

use cedar_policy::{Entity, EntityId, EntityTypeName, EntityUid, RestrictedExpression};

use super::error::AccessError;
use super::mask::{Dialect, MaskMethod};
use super::policies::AttributeUse;
use super::request::Principal;
use super::settings::AccessSettings;
use crate::contract::{Field, Product};

/// The attributes of a `Column` entity.
pub(crate) const COLUMN_ATTRIBUTES: [&str; 5] =
    ["pii", "tags", "masking", "classification", "type"];

/// The entity types and actions of Charter's Cedar model.
#[derive(Debug, Clone)]
pub(crate) struct Model {
    pub user: EntityTypeName,
    pub domain: EntityTypeName,
    pub product: EntityTypeName,
    pub column: EntityTypeName,
    pub query: EntityUid,
    pub read: EntityUid,
    pub read_masked: EntityUid,
}

impl Model {
    pub fn new() -> Result<Self, AccessError> {
        let ty = |name: &str| {
            EntityTypeName::from_str(name)
                .map_err(|e| AccessError::Entities(format!("entity type `{name}`: {e}")))
        };
        let action = ty("Action")?;
        let act =
            |name: &str| EntityUid::from_type_name_and_id(action.clone(), EntityId::new(name));
        Ok(Self {
            user: ty("User")?,
            domain: ty("Domain")?,
            product: ty("DataProduct")?,
            column: ty("Column")?,
            query: act("query"),
            read: act("read"),
            read_masked: act("readMasked"),
        })
    }

    pub fn uid(ty: &EntityTypeName, id: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(ty.clone(), EntityId::new(id))
    }

    /// The `User` entity of a request's principal: roles and groups as attributes,
    /// string attributes as tags.
    pub fn principal(&self, principal: &Principal) -> Result<Entity, String> {
        let attrs = [
            ("roles".to_owned(), string_set(&principal.roles)),
            ("groups".to_owned(), string_set(&principal.groups)),
        ];
        let tags = principal
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), RestrictedExpression::new_string(v.clone())));
        Entity::new_with_tags(Self::uid(&self.user, &principal.id), attrs, [], tags)
            .map_err(|e| e.to_string())
    }
}

fn string_set<'a>(items: impl IntoIterator<Item = &'a String>) -> RestrictedExpression {
    RestrictedExpression::new_set(
        items
            .into_iter()
            .map(|s| RestrictedExpression::new_string(s.clone())),
    )
}

fn lower(value: Option<&String>) -> Option<String> {
    value.map(|v| v.trim().to_ascii_lowercase())
}

/// What a column's contract says about masking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Masking {
    /// No masking method.
    None,
    /// A method Charter expresses in SQL.
    Known(MaskMethod),
    /// A method Charter does not know (a mask falls back to deny).
    Unknown(String),
}

impl Masking {
    /// The method as the `Column` entity's `masking` attribute says it.
    fn attribute(&self) -> Option<&str> {
        match self {
            Self::None => None,
            Self::Known(method) => Some(method.as_str()),
            Self::Unknown(raw) => Some(raw),
        }
    }
}

/// One column of a product, ready for requests.
#[derive(Debug, Clone)]
pub(crate) struct ColumnEntry {
    /// The physical name (what query engines know; masks are written against it).
    pub name: String,
    /// Its lower case, when that differs from `name`.
    lower: Option<Box<str>>,
    /// Its logical path, when that differs from `name`.
    logical: Option<Box<str>>,
    /// What its `Column` entity says besides `pii` (the entity itself is built when
    /// asked for: a Cedar entity takes kilobytes, these few strings far less).
    pub attrs: ColumnAttrs,
    /// Index into [`ProductEntry::classes`].
    pub class: usize,
    pub pii: bool,
    pub masking: Masking,
    /// The mask expression per dialect ([`Dialect::index`]), for known methods.
    pub masks: Option<Box<[String; 2]>>,
    /// The contract declares the name more than once (fail closed: denied).
    pub duplicate: bool,
}

/// One product of the mesh, ready for requests.
#[derive(Debug, Clone)]
pub(crate) struct ProductEntry {
    pub id: String,
    /// The table (logical name) the entry is scoped to; `None`: every column of the product.
    pub table: Option<String>,
    pub uid: EntityUid,
    /// Its domain's uid (the `Domain` and `DataProduct` entities live in the slot's store).
    pub domain_uid: EntityUid,
    pub columns: Vec<ColumnEntry>,
    /// The columns by physical name.
    by_name: NameIndex,
    /// The columns by lower-case name (two columns that differ only by case: neither).
    by_lower: NameIndex,
    /// The columns by logical path (two columns that share one: neither).
    by_logical: NameIndex,
    /// The classes of its columns, in first-use order.
    pub classes: Vec<ColumnClass>,
}

/// A product's `Domain` and `DataProduct` entities, while its slot is built (then they
/// are kept once, in its entity store).
#[derive(Debug, Clone)]
pub(crate) struct ProductEntities {
    pub domain: Entity,
    pub product: Entity,
}

/// Columns alike in every attribute a policy reads: Cedar is asked about one of them.
#[derive(Debug, Clone)]
pub(crate) struct ColumnClass {
    /// The column Cedar is asked about (the class's first); its entity is in the
    /// product's entity store.
    pub representative: usize,
    /// That column's entity uid.
    pub uid: EntityUid,
}

impl ColumnEntry {
    fn name(&self) -> &str {
        &self.name
    }

    fn lower(&self) -> &str {
        self.lower.as_deref().unwrap_or(&self.name)
    }

    fn logical(&self) -> &str {
        self.logical.as_deref().unwrap_or(&self.name)
    }
}

/// Column indices sorted by one of their names: a lookup is a binary search over the
/// product's columns, without a second copy of every name (a mesh has hundreds of
/// thousands of columns).
#[derive(Debug, Clone, Default)]
struct NameIndex(Box<[u32]>);

impl NameIndex {
    fn build(columns: &[ColumnEntry], key: fn(&ColumnEntry) -> &str) -> Self {
        let mut order: Vec<u32> = (0..columns.len())
            .map(|i| u32::try_from(i).unwrap_or(u32::MAX))
            .collect();
        order.sort_by(|&a, &b| key(&columns[a as usize]).cmp(key(&columns[b as usize])));
        Self(order.into_boxed_slice())
    }

    /// The one column whose key is `name` (`None` when no column or several have it).
    fn only(
        &self,
        columns: &[ColumnEntry],
        key: fn(&ColumnEntry) -> &str,
        name: &str,
    ) -> Option<usize> {
        let start = self
            .0
            .partition_point(|&i| key(&columns[i as usize]) < name);
        let mut hits = self.0[start..]
            .iter()
            .take_while(|&&i| key(&columns[i as usize]) == name);
        match (hits.next(), hits.next()) {
            (Some(&i), None) => Some(i as usize),
            _ => None,
        }
    }
}

impl ProductEntry {
    /// The column a request names: its physical name exactly, else the only one equal
    /// ignoring case, else the only column with that logical name.
    pub fn column(&self, name: &str) -> Option<usize> {
        let columns = &self.columns;
        self.by_name
            .only(columns, ColumnEntry::name, name)
            .or_else(|| {
                let lower = lower_case(name);
                self.by_lower.only(columns, ColumnEntry::lower, &lower)
            })
            .or_else(|| self.by_logical.only(columns, ColumnEntry::logical, name))
    }

    /// The uid of column `index`'s `Column` entity.
    pub fn column_uid(&self, model: &Model, index: usize) -> EntityUid {
        let name = &self.columns[index].name;
        let id = match &self.table {
            None => format!("{}/{name}", self.id),
            Some(table) => format!("{}/{table}/{name}", self.id),
        };
        Model::uid(&model.column, &id)
    }

    /// Column `index`'s `Column` entity (built when asked for: for explanations, the
    /// entities export, the schema check and policy literals).
    pub fn column_entity(&self, model: &Model, index: usize) -> Result<Entity, AccessError> {
        self.column_entity_reading(model, index, |_| true)
    }

    /// Column `index`'s `Column` entity with only the attributes `read` keeps: what the
    /// entity store holds for a class is what policies can read (an attribute no policy
    /// reads or tests changes no decision, and a product holds one per class).
    pub fn column_entity_reading(
        &self,
        model: &Model,
        index: usize,
        read: impl Fn(&str) -> bool,
    ) -> Result<Entity, AccessError> {
        let column = &self.columns[index];
        let attrs = &column.attrs;
        let mut cedar = vec![
            ("pii", RestrictedExpression::new_bool(column.pii)),
            ("tags", string_set(&attrs.tags)),
        ];
        push_opt(&mut cedar, "masking", column.masking.attribute());
        push_opt(
            &mut cedar,
            "classification",
            attrs.classification.as_deref(),
        );
        push_opt(&mut cedar, "type", attrs.data_type.as_deref());
        cedar.retain(|(name, _)| read(name));
        entity(self.column_uid(model, index), cedar, Some(self.uid.clone()))
    }

    /// Every column entity, in column order.
    pub fn column_entities(&self, model: &Model) -> Result<Vec<Entity>, AccessError> {
        (0..self.columns.len())
            .map(|i| self.column_entity(model, i))
            .collect()
    }
}

/// Which column attributes can change a decision, so which ones split classes.
#[derive(Debug, Clone)]
pub(crate) struct ClassKeyFields {
    pub pii: Use,
    pub masking: Use,
    pub classification: Use,
    pub data_type: Use,
    pub tags: Use,
    /// A policy names a column entity: every column is its own class.
    pub name: bool,
}

/// How the policies use one column attribute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Use {
    /// Not at all.
    Unused,
    /// Only `has`: columns that both have it (or both lack it) are alike.
    Presence,
    /// Its value.
    Value,
}

impl Use {
    /// An optional attribute's part of a class key.
    fn of(self, value: Option<&str>) -> Option<Option<String>> {
        match self {
            Self::Unused => None,
            Self::Presence => Some(value.map(|_| String::new())),
            Self::Value => Some(value.map(str::to_owned)),
        }
    }
}

impl ClassKeyFields {
    pub fn new(attributes: &AttributeUse, column_literals: bool) -> Self {
        let used = |a: &str| {
            if attributes.read.contains(a) {
                Use::Value
            } else if attributes.tested.contains(a) {
                Use::Presence
            } else {
                Use::Unused
            }
        };
        Self {
            pii: used("pii"),
            masking: used("masking"),
            classification: used("classification"),
            data_type: used("type"),
            tags: used("tags"),
            name: column_literals,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct ClassKey {
    pii: Option<bool>,
    masking: Option<Option<String>>,
    classification: Option<Option<String>>,
    data_type: Option<Option<String>>,
    tags: Option<Vec<String>>,
    name: Option<String>,
}

/// Column attributes as Cedar sees them, besides `pii` and `masking` (the column's own).
#[derive(Debug, Clone)]
pub(crate) struct ColumnAttrs {
    classification: Option<Box<str>>,
    data_type: Option<Box<str>>,
    tags: Box<[String]>,
}

impl ColumnAttrs {
    fn new(field: &Field) -> Self {
        let mut tags = field.tags.clone();
        tags.sort();
        tags.dedup();
        Self {
            classification: lower(field.classification.as_ref()).map(String::into_boxed_str),
            data_type: lower(field.data_type.as_ref()).map(String::into_boxed_str),
            tags: tags.into_boxed_slice(),
        }
    }

    fn key(
        &self,
        fields: &ClassKeyFields,
        pii: bool,
        masking: Option<&str>,
        name: &str,
    ) -> ClassKey {
        ClassKey {
            // `pii` and `tags` are always there: only their values tell columns apart.
            pii: (fields.pii == Use::Value).then_some(pii),
            masking: fields.masking.of(masking),
            classification: fields.classification.of(self.classification.as_deref()),
            data_type: fields.data_type.of(self.data_type.as_deref()),
            tags: (fields.tags == Use::Value).then(|| self.tags.to_vec()),
            name: fields.name.then(|| name.to_owned()),
        }
    }
}

fn entity(
    uid: EntityUid,
    attrs: Vec<(&str, RestrictedExpression)>,
    parent: Option<EntityUid>,
) -> Result<Entity, AccessError> {
    let shown = uid.to_string();
    Entity::new_with_tags(
        uid,
        attrs.into_iter().map(|(k, v)| (k.to_owned(), v)),
        parent,
        [],
    )
    .map_err(|e| AccessError::Entities(format!("entity {shown}: {e}")))
}

fn push_opt(
    attrs: &mut Vec<(&'static str, RestrictedExpression)>,
    key: &'static str,
    value: Option<&str>,
) {
    if let Some(v) = value {
        attrs.push((key, RestrictedExpression::new_string(v.to_owned())));
    }
}

/// Builds the entities of one product: of all its columns (`table` `None`), or of the
/// columns of one of its tables (by logical name; its columns' entity ids then read
/// `<product>/<table>/<column>`).
pub(crate) fn build_product(
    product: &Product,
    table: Option<&str>,
    model: &Model,
    settings: &AccessSettings,
    key_fields: &ClassKeyFields,
) -> Result<(ProductEntry, ProductEntities), AccessError> {
    let (domain, product_entity) = product_entities(product, model)?;
    let mut entry = ProductEntry {
        id: product.id.clone(),
        table: table.map(str::to_owned),
        uid: product_entity.uid(),
        domain_uid: domain.uid(),
        columns: Vec::new(),
        by_name: NameIndex::default(),
        by_lower: NameIndex::default(),
        by_logical: NameIndex::default(),
        classes: Vec::new(),
    };
    let mut class_of: HashMap<ClassKey, usize> = HashMap::new();
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let fields = product
        .fields
        .iter()
        .filter(|f| table.is_none_or(|t| f.table == t));
    for field in fields {
        let physical = field.physical();
        if let Some(&first) = seen.get(physical) {
            entry.columns[first].duplicate = true;
            continue;
        }
        let column = column_entry(field, physical, settings);
        let key = column
            .attrs
            .key(key_fields, field.pii, column.masking.attribute(), physical);
        let index = entry.columns.len();
        seen.insert(physical, index);
        let known = class_of.get(&key).copied();
        let class = known.unwrap_or(entry.classes.len());
        entry.columns.push(ColumnEntry { class, ..column });
        if known.is_none() {
            // The first column of a new class is its representative.
            entry.classes.push(ColumnClass {
                representative: index,
                uid: entry.column_uid(model, index),
            });
            class_of.insert(key, class);
        }
    }
    entry.by_name = NameIndex::build(&entry.columns, ColumnEntry::name);
    entry.by_lower = NameIndex::build(&entry.columns, ColumnEntry::lower);
    entry.by_logical = NameIndex::build(&entry.columns, ColumnEntry::logical);
    let entities = ProductEntities {
        domain,
        product: product_entity,
    };
    Ok((entry, entities))
}

/// The `Domain` entity of a product's domain.
pub(crate) fn domain_entity(product: &Product, model: &Model) -> Result<Entity, AccessError> {
    entity(
        Model::uid(&model.domain, &product.domain),
        vec![(
            "name",
            RestrictedExpression::new_string(product.domain.clone()),
        )],
        None,
    )
}

/// The product's `Domain` and `DataProduct` entities.
fn product_entities(product: &Product, model: &Model) -> Result<(Entity, Entity), AccessError> {
    let domain = domain_entity(product, model)?;
    let domain_uid = domain.uid();
    let uid = Model::uid(&model.product, &product.id);
    let mut attrs = vec![
        ("id", RestrictedExpression::new_string(product.id.clone())),
        (
            "domain",
            RestrictedExpression::new_string(product.domain.clone()),
        ),
        ("roles", string_set(&product.access.roles)),
        ("tags", string_set(&product.tags)),
    ];
    push_opt(&mut attrs, "owner", product.owner.as_deref().map(str::trim));
    push_opt(
        &mut attrs,
        "classification",
        lower(product.classification.as_ref()).as_deref(),
    );
    push_opt(
        &mut attrs,
        "status",
        lower(product.status.as_ref()).as_deref(),
    );
    let product_entity = entity(uid, attrs, Some(domain_uid))?;
    Ok((domain, product_entity))
}

/// One column of the product (its class is set by the caller): the masking method as the
/// settings read the contract's, the attributes policies see, the mask in every dialect.
fn column_entry(field: &Field, physical: &str, settings: &AccessSettings) -> ColumnEntry {
    let masking = match field
        .masking
        .as_deref()
        .map(str::trim)
        .filter(|m| !m.is_empty())
    {
        None => Masking::None,
        Some(written) => match settings.mask_method(written) {
            Some(method) => Masking::Known(method),
            None => Masking::Unknown(written.to_owned()),
        },
    };
    let attrs = ColumnAttrs::new(field);
    let logical = field.logical();
    let lower = lower_case(physical);
    let masks = match &masking {
        Masking::Known(method) => {
            Some(Box::new(Dialect::ALL.map(|dialect| {
                method.sql(dialect, physical, field.data_type.as_deref())
            })))
        }
        _ => None,
    };
    ColumnEntry {
        name: physical.to_owned(),
        lower: (lower.as_ref() != physical).then(|| lower.into()),
        logical: (logical != physical).then(|| logical.into()),
        attrs,
        class: 0,
        pii: field.pii,
        masking,
        masks,
        duplicate: false,
    }
}

/// A name in lower case (borrowed when it is already).
fn lower_case(name: &str) -> std::borrow::Cow<'_, str> {
    if name
        .bytes()
        .any(|b| b.is_ascii_uppercase() || !b.is_ascii())
    {
        std::borrow::Cow::Owned(name.to_lowercase())
    } else {
        std::borrow::Cow::Borrowed(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs() -> ColumnAttrs {
        ColumnAttrs {
            classification: None,
            data_type: None,
            tags: Box::default(),
        }
    }

    fn fields(read: &[&str], tested: &[&str]) -> ClassKeyFields {
        let set = |names: &[&str]| names.iter().map(|n| (*n).to_owned()).collect();
        let used = AttributeUse {
            read: set(read),
            tested: set(tested),
        };
        ClassKeyFields::new(&used, false)
    }

    #[test]
    fn an_attribute_only_tested_with_has_splits_classes_by_presence() {
        let key = |fields: &ClassKeyFields, masking| attrs().key(fields, true, masking, "c");
        let tested = fields(&["pii"], &["masking"]);
        assert_eq!(key(&tested, Some("hash")), key(&tested, Some("redact")));
        assert_ne!(key(&tested, Some("hash")), key(&tested, None));
        let read = fields(&["pii", "masking"], &["masking"]);
        assert_ne!(key(&read, Some("hash")), key(&read, Some("redact")));
        let unused = fields(&["pii"], &[]);
        assert_eq!(key(&unused, Some("hash")), key(&unused, None));
    }
}
