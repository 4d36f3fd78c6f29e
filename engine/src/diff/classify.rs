//! Classifying the differences between two versions of a product.

use std::collections::{BTreeSet, HashMap};

use crate::contract::{Duration, Field, Product};

use super::change::{Change, ChangeKind, Side};

/// The strength of a masking method: `nullify` 4, `redact` 3, `hash` 2, `last4` 1, none 0;
/// `None` for a method outside this order (case-insensitive).
#[must_use]
pub fn masking_rank(method: Option<&str>) -> Option<u8> {
    let Some(method) = method else {
        return Some(0);
    };
    match method.to_ascii_lowercase().as_str() {
        "last4" => Some(1),
        "hash" => Some(2),
        "redact" => Some(3),
        "nullify" => Some(4),
        _ => None,
    }
}

/// The level of a classification: `restricted` 4, `confidential` 3, `internal` 2,
/// `public` 1, none 0; `None` for a value outside this order (case-insensitive).
#[must_use]
pub fn classification_rank(class: Option<&str>) -> Option<u8> {
    let Some(class) = class else {
        return Some(0);
    };
    match class.to_ascii_lowercase().as_str() {
        "public" => Some(1),
        "internal" => Some(2),
        "confidential" => Some(3),
        "restricted" => Some(4),
        _ => None,
    }
}

/// Every difference between `old` and `new`, classified, product-level changes first,
/// then field by field in the new product's order (removed fields after), then tables.
///
/// Two equal products have no change. Fields are matched by name; when a name appears
/// twice, the first one counts.
#[must_use]
pub fn diff(old: &Product, new: &Product) -> Vec<Change> {
    let mut out = Vec::new();
    product_level(old, new, &mut out);
    fields(old, new, &mut out);
    primary_key(old, new, &mut out);
    interfaces(old, new, &mut out);
    out
}

fn text(value: Option<&str>) -> Option<String> {
    value.map(str::to_owned)
}

fn shown(value: Option<&str>) -> String {
    value.map_or_else(|| "none".to_owned(), |v| format!("`{v}`"))
}

fn set(items: &[String]) -> BTreeSet<&str> {
    items.iter().map(String::as_str).collect()
}

fn joined(items: &BTreeSet<&str>) -> String {
    items.iter().copied().collect::<Vec<_>>().join(", ")
}

/// A change of a list compared as a set, with what was added and removed in the message.
fn set_change(
    out: &mut Vec<Change>,
    kind: ChangeKind,
    path: &str,
    what: &str,
    old: &[String],
    new: &[String],
) {
    let (old, new) = (set(old), set(new));
    if old == new {
        return;
    }
    let added: BTreeSet<&str> = new.difference(&old).copied().collect();
    let removed: BTreeSet<&str> = old.difference(&new).copied().collect();
    let mut parts = Vec::new();
    if !added.is_empty() {
        parts.push(format!("added `{}`", joined(&added)));
    }
    if !removed.is_empty() {
        parts.push(format!("removed `{}`", joined(&removed)));
    }
    out.push(Change::new(
        kind,
        Side::New,
        path,
        Some(joined(&old)),
        Some(joined(&new)),
        format!("{what}: {}", parts.join(", ")),
    ));
}

/// A ranked value compared: lower (or unrankable) → `down`, higher → `up`.
#[expect(
    clippy::too_many_arguments,
    reason = "one call per ranked value, all arguments distinct"
)]
fn ranked(
    out: &mut Vec<Change>,
    path: &str,
    what: &str,
    old: Option<&str>,
    new: Option<&str>,
    rank: fn(Option<&str>) -> Option<u8>,
    down: ChangeKind,
    up: ChangeKind,
) {
    let same = match (old, new) {
        (Some(a), Some(b)) => a.eq_ignore_ascii_case(b),
        (None, None) => true,
        _ => false,
    };
    if same {
        return;
    }
    let unranked = rank(old).is_none() || rank(new).is_none();
    let kind = match (old, rank(old), rank(new)) {
        (None, _, _) => up,
        (_, Some(a), Some(b)) if b > a => up,
        _ => down,
    };
    let verb = match (old, new) {
        (_, None) => "removed",
        (None, Some(_)) => "added",
        _ if kind == up => "raised",
        _ if unranked => "changed to or from a value that cannot be ranked (treated as lowered)",
        _ => "lowered",
    };
    out.push(Change::new(
        kind,
        Side::New,
        path,
        text(old),
        text(new),
        format!("{what} {verb}: {} → {}", shown(old), shown(new)),
    ));
}

/// A duration where longer is worse (retention, freshness).
fn duration(
    out: &mut Vec<Change>,
    path: &str,
    what: &str,
    old: Option<&Duration>,
    new: Option<&Duration>,
    longer: ChangeKind,
    shorter: ChangeKind,
) {
    let (kind, verb) = match (old, new) {
        (Some(a), Some(b)) if b.seconds > a.seconds => (longer, "lengthened"),
        (Some(a), Some(b)) if b.seconds < a.seconds => (shorter, "shortened"),
        (Some(_), None) => (longer, "removed (no limit)"),
        (None, Some(_)) => (shorter, "declared"),
        _ => return,
    };
    let (old, new) = (old.map(|d| d.text.as_str()), new.map(|d| d.text.as_str()));
    out.push(Change::new(
        kind,
        Side::New,
        path,
        text(old),
        text(new),
        format!("{what} {verb}: {} → {}", shown(old), shown(new)),
    ));
}

fn product_level(old: &Product, new: &Product, out: &mut Vec<Change>) {
    identity(old, new, out);
    levels(old, new, out);
    for (kind, path, what, values) in SET_FIELDS {
        set_change(out, *kind, path, what, values(old), values(new));
    }
    quality(old, new, out);
}

/// A product-level list compared as a set: its change kind, path, description and values.
type SetField = (
    ChangeKind,
    &'static str,
    &'static str,
    fn(&Product) -> &[String],
);

/// The product-level lists whose change is one kind, whichever way it goes.
const SET_FIELDS: &[SetField] = &[
    (ChangeKind::TagsChanged, "tags", "tags changed", |p| &p.tags),
    (
        ChangeKind::LineageChanged,
        "lineage.upstream",
        "upstream lineage changed",
        |p| &p.lineage.upstream,
    ),
    (
        ChangeKind::LineageChanged,
        "lineage.downstream",
        "downstream lineage changed",
        |p| &p.lineage.downstream,
    ),
    (
        ChangeKind::AccessChanged,
        "access.roles",
        "access roles changed",
        |p| &p.access.roles,
    ),
    (
        ChangeKind::AccessChanged,
        "access.policies",
        "access policies changed",
        |p| &p.access.policies,
    ),
];

/// The product's id, owner and status.
fn identity(old: &Product, new: &Product, out: &mut Vec<Change>) {
    if old.id != new.id {
        out.push(Change::new(
            ChangeKind::ProductIdChanged,
            Side::New,
            "id",
            Some(old.id.clone()),
            Some(new.id.clone()),
            format!("product id changed: `{}` → `{}`", old.id, new.id),
        ));
    }
    match (&old.owner, &new.owner) {
        (Some(a), None) => out.push(Change::new(
            ChangeKind::OwnerRemoved,
            Side::New,
            "owner",
            Some(a.clone()),
            None,
            format!("owner removed (was `{a}`)"),
        )),
        (a, Some(b)) if a.as_ref() != Some(b) => out.push(Change::new(
            ChangeKind::OwnerChanged,
            Side::New,
            "owner",
            a.clone(),
            Some(b.clone()),
            format!("owner changed: {} → `{b}`", shown(a.as_deref())),
        )),
        _ => {}
    }
    if old.status != new.status {
        out.push(Change::new(
            ChangeKind::StatusChanged,
            Side::New,
            "status",
            old.status.clone(),
            new.status.clone(),
            format!(
                "status changed: {} → {}",
                shown(old.status.as_deref()),
                shown(new.status.as_deref())
            ),
        ));
    }
}

/// The levels where a direction is worse: classification, retention, freshness,
/// availability.
fn levels(old: &Product, new: &Product, out: &mut Vec<Change>) {
    ranked(
        out,
        "classification",
        "classification",
        old.classification.as_deref(),
        new.classification.as_deref(),
        classification_rank,
        ChangeKind::ClassificationLowered,
        ChangeKind::ClassificationRaised,
    );
    duration(
        out,
        "retention",
        "retention",
        old.retention.as_ref().map(|r| &r.period),
        new.retention.as_ref().map(|r| &r.period),
        ChangeKind::RetentionLengthened,
        ChangeKind::RetentionShortened,
    );
    duration(
        out,
        "sla.freshness",
        "freshness",
        old.sla.freshness.as_ref(),
        new.sla.freshness.as_ref(),
        ChangeKind::FreshnessLengthened,
        ChangeKind::FreshnessShortened,
    );
    availability(old.sla.availability, new.sla.availability, out);
}

/// The quality checks, compared as a set.
fn quality(old: &Product, new: &Product, out: &mut Vec<Change>) {
    let checks = |p: &Product| {
        let mut all: Vec<String> = p.quality.iter().map(|q| format!("{q:?}")).collect();
        all.sort();
        all
    };
    if checks(old) != checks(new) {
        out.push(Change::new(
            ChangeKind::QualityChanged,
            Side::New,
            "quality",
            Some(old.quality.len().to_string()),
            Some(new.quality.len().to_string()),
            format!(
                "quality checks changed ({} → {} checks)",
                old.quality.len(),
                new.quality.len()
            ),
        ));
    }
}

fn availability(old: Option<f64>, new: Option<f64>, out: &mut Vec<Change>) {
    let (kind, verb) = match (old, new) {
        (Some(a), Some(b)) if b < a => (ChangeKind::AvailabilityLowered, "lowered"),
        (Some(a), Some(b)) if b > a => (ChangeKind::AvailabilityRaised, "raised"),
        (Some(_), None) => (ChangeKind::AvailabilityLowered, "removed"),
        (None, Some(_)) => (ChangeKind::AvailabilityRaised, "declared"),
        _ => return,
    };
    let show = |v: Option<f64>| v.map_or_else(|| "none".to_owned(), |v| format!("`{v}%`"));
    out.push(Change::new(
        kind,
        Side::New,
        "sla.availability",
        old.map(|v| v.to_string()),
        new.map(|v| v.to_string()),
        format!("availability {verb}: {} → {}", show(old), show(new)),
    ));
}

/// Field names to their first index.
/// Fields by their table and logical path (a column of one table is not the same-named
/// column of another), first occurrence.
fn by_name(fields: &[Field]) -> HashMap<String, usize> {
    let mut map = HashMap::with_capacity(fields.len());
    for (i, f) in fields.iter().enumerate() {
        map.entry(field_key(f)).or_insert(i);
    }
    map
}

fn field_key(f: &Field) -> String {
    format!("{}\u{0}{}", f.table, f.logical())
}

fn normalized_type(t: Option<&str>) -> Option<String> {
    t.map(|t| {
        t.chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_ascii_lowercase()
    })
}

fn fields(old: &Product, new: &Product, out: &mut Vec<Change>) {
    let old_index = by_name(&old.fields);
    let new_index = by_name(&new.fields);
    for (j, n) in new.fields.iter().enumerate() {
        if new_index.get(&field_key(n)) != Some(&j) {
            continue;
        }
        match old_index.get(&field_key(n)) {
            Some(&i) => field(&old.fields[i], n, j, out),
            None => out.push(Change::new(
                ChangeKind::FieldAdded,
                Side::New,
                format!("fields[{j}]"),
                None,
                Some(n.name.clone()),
                format!("field `{}` added", n.name),
            )),
        }
    }
    for (i, o) in old.fields.iter().enumerate() {
        if old_index.get(&field_key(o)) == Some(&i) && !new_index.contains_key(&field_key(o)) {
            out.push(Change::new(
                ChangeKind::FieldRemoved,
                Side::Old,
                format!("fields[{i}]"),
                Some(o.name.clone()),
                None,
                format!("field `{}` removed", o.name),
            ));
        }
    }
}

fn flag(
    out: &mut Vec<Change>,
    path: String,
    old: bool,
    new: bool,
    on: (ChangeKind, String),
    off: (ChangeKind, String),
) {
    let (kind, message) = match (old, new) {
        (false, true) => on,
        (true, false) => off,
        _ => return,
    };
    out.push(Change::new(
        kind,
        Side::New,
        path,
        Some(old.to_string()),
        Some(new.to_string()),
        message,
    ));
}

fn field(o: &Field, n: &Field, j: usize, out: &mut Vec<Change>) {
    let name = &n.name;
    let at = |key: &str| format!("fields[{j}].{key}");
    if normalized_type(o.data_type.as_deref()) != normalized_type(n.data_type.as_deref()) {
        out.push(Change::new(
            ChangeKind::FieldTypeChanged,
            Side::New,
            at("type"),
            o.data_type.clone(),
            n.data_type.clone(),
            format!(
                "field `{name}` type changed: {} → {}",
                shown(o.data_type.as_deref()),
                shown(n.data_type.as_deref())
            ),
        ));
    }
    flag(
        out,
        at("nullable"),
        o.nullable,
        n.nullable,
        (
            ChangeKind::FieldMadeNullable,
            format!("field `{name}` made nullable"),
        ),
        (
            ChangeKind::FieldMadeRequired,
            format!("field `{name}` made required (was nullable)"),
        ),
    );
    flag(
        out,
        at("unique"),
        o.unique,
        n.unique,
        (
            ChangeKind::UniquenessTightened,
            format!("field `{name}` made unique"),
        ),
        (
            ChangeKind::UniquenessRelaxed,
            format!("field `{name}` no longer unique"),
        ),
    );
    flag(
        out,
        at("pii"),
        o.pii,
        n.pii,
        (
            ChangeKind::PiiFlagAdded,
            format!("field `{name}` marked as personal data"),
        ),
        (
            ChangeKind::PiiFlagRemoved,
            format!("field `{name}` no longer marked as personal data"),
        ),
    );
    masking(o, n, &at("masking"), out);
    ranked(
        out,
        &at("classification"),
        &format!("field `{name}` classification"),
        o.classification.as_deref(),
        n.classification.as_deref(),
        classification_rank,
        ChangeKind::FieldClassificationLowered,
        ChangeKind::FieldClassificationRaised,
    );
    set_change(
        out,
        ChangeKind::FieldTagsChanged,
        &at("tags"),
        &format!("field `{name}` tags changed"),
        &o.tags,
        &n.tags,
    );
    if o.transform != n.transform {
        out.push(Change::new(
            ChangeKind::FieldTransformChanged,
            Side::New,
            at("transform"),
            o.transform.clone(),
            n.transform.clone(),
            format!(
                "field `{name}` transform changed: {} → {}",
                shown(o.transform.as_deref()),
                shown(n.transform.as_deref())
            ),
        ));
    }
}

fn masking(o: &Field, n: &Field, path: &str, out: &mut Vec<Change>) {
    let (old, new) = (o.masking.as_deref(), n.masking.as_deref());
    let kind = match (old, new) {
        (Some(a), Some(b)) if a.eq_ignore_ascii_case(b) => return,
        (None, None) => return,
        (Some(_), None) => ChangeKind::MaskingRemoved,
        (None, Some(_)) => ChangeKind::MaskingAdded,
        (Some(_), Some(_)) => match (masking_rank(old), masking_rank(new)) {
            (Some(a), Some(b)) if b > a => ChangeKind::MaskingStrengthened,
            _ => ChangeKind::MaskingWeakened,
        },
    };
    let verb = match kind {
        ChangeKind::MaskingRemoved => "removed",
        ChangeKind::MaskingAdded => "added",
        ChangeKind::MaskingStrengthened => "strengthened",
        _ if masking_rank(old).is_none() || masking_rank(new).is_none() => {
            "changed to or from a method that cannot be ranked (treated as weakened)"
        }
        _ => "weakened",
    };
    out.push(Change::new(
        kind,
        Side::New,
        path,
        text(old),
        text(new),
        format!(
            "field `{}` masking {verb}: {} → {}",
            n.name,
            shown(old),
            shown(new)
        ),
    ));
}

fn primary_key(old: &Product, new: &Product, out: &mut Vec<Change>) {
    let keys = |p: &Product| -> BTreeSet<String> {
        p.fields
            .iter()
            .filter(|f| f.primary_key)
            .map(|f| f.name.clone())
            .collect()
    };
    let (old_keys, new_keys) = (keys(old), keys(new));
    if old_keys == new_keys {
        return;
    }
    // Point at the first new field whose membership changed; else at the first old key
    // field that is gone altogether.
    let moved = new
        .fields
        .iter()
        .position(|f| f.primary_key != old_keys.contains(&f.name))
        .map(|j| (Side::New, format!("fields[{j}].primary_key")));
    let gone = || {
        old.fields
            .iter()
            .position(|f| f.primary_key && !new_keys.contains(&f.name))
            .map(|i| (Side::Old, format!("fields[{i}]")))
    };
    let (side, path) = moved
        .or_else(gone)
        .unwrap_or_else(|| (Side::New, "fields".to_owned()));
    let show = |keys: &BTreeSet<String>| keys.iter().cloned().collect::<Vec<_>>().join(", ");
    let (a, b) = (show(&old_keys), show(&new_keys));
    let quote = |s: &str| {
        if s.is_empty() {
            "none".to_owned()
        } else {
            format!("`{s}`")
        }
    };
    out.push(Change::new(
        ChangeKind::PrimaryKeyChanged,
        side,
        path,
        Some(a.clone()),
        Some(b.clone()),
        format!("primary key changed: {} → {}", quote(&a), quote(&b)),
    ));
}

fn interfaces(old: &Product, new: &Product, out: &mut Vec<Change>) {
    let key = |i: &crate::contract::Interface| {
        (i.kind.to_ascii_lowercase(), i.table.to_ascii_lowercase())
    };
    let old_keys: BTreeSet<_> = old.interfaces.iter().map(key).collect();
    let new_keys: BTreeSet<_> = new.interfaces.iter().map(key).collect();
    for (j, n) in new.interfaces.iter().enumerate() {
        if !old_keys.contains(&key(n)) {
            out.push(Change::new(
                ChangeKind::InterfaceAdded,
                Side::New,
                format!("interfaces[{j}]"),
                None,
                Some(n.table.clone()),
                format!("table `{}` ({}) added", n.table, n.kind),
            ));
        }
    }
    for (i, o) in old.interfaces.iter().enumerate() {
        if !new_keys.contains(&key(o)) {
            out.push(Change::new(
                ChangeKind::InterfaceRemoved,
                Side::Old,
                format!("interfaces[{i}]"),
                Some(o.table.clone()),
                None,
                format!("table `{}` ({}) removed", o.table, o.kind),
            ));
        }
    }
}
