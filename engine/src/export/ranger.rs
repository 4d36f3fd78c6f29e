//! Apache Ranger: one policy-import file per table (the shape Ranger's "import policies"
//! takes: `metaDataInfo`, `policies`), for the Trino service definition or Hive's.
//!
//! - An access policy (`policyType` 0) allows `select` to the readers and denies everyone
//!   else (`public` in `denyPolicyItems`, the readers as `denyExceptions`), so a broader
//!   policy elsewhere in the service cannot widen it. A table nobody may read (a retired
//!   product) gets the deny only.
//! - A data-masking policy (1) per protected column: readers in clear get `MASK_NONE`,
//!   masked readers Ranger's mask type (`MASK_HASH`, `MASK_SHOW_LAST_4`, `MASK_NULL`, or
//!   `CUSTOM` with Charter's redaction as `valueExpr`), everyone else `MASK_NULL`; Ranger
//!   takes the first item that matches, as Charter prefers clear over masked over nothing.
//! - A row-filter policy (2) per table with attribute filters: the exempt roles get no
//!   filter, everyone else `"column" = '${{USER.attribute}}'`.
//!
//! Charter roles become Ranger roles, groups Ranger groups, and "anyone" the group
//! `public`. Ranger items are disjunctions: a reader who needs a role *and* a group cannot
//! be expressed, nor filters with different exemptions, nor a name Ranger would read as a
//! wildcard; such a table is refused, never exported weaker.

use serde_json::{Value, json};

use crate::access::{Dialect, MaskMethod};

pub use super::model::Rendered;
use super::model::{ExportModel, ExportedFile, Refusal, TableExport, Term};
use super::sql::Family;

/// The Ranger service definition the policies are written for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangerDialect {
    /// `trino`: resources `catalog`, `schema`, `table`, `column`.
    Trino,
    /// `hive`: resources `database`, `table`, `column` (the location's schema is the database).
    Hive,
}

impl RangerDialect {
    /// The service type's name, also the default service name.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            RangerDialect::Trino => "trino",
            RangerDialect::Hive => "hive",
        }
    }

    fn quote(self, column: &str) -> String {
        match self {
            RangerDialect::Trino => crate::access::quote_identifier(column),
            RangerDialect::Hive => format!("`{}`", column.replace('`', "``")),
        }
    }
}

/// One `ranger/<catalog.schema.table>.json` import file per exportable table.
#[must_use]
pub fn render(model: &ExportModel, dialect: RangerDialect) -> Rendered {
    let mut out = Rendered::default();
    for t in &model.tables {
        match policies(t, dialect) {
            Ok(policies) => out.files.push(ExportedFile {
                path: format!("ranger/{}.json", t.dotted()),
                table: t.dotted(),
                text: file(model, t, dialect, policies),
            }),
            Err(message) => out.refused.push(Refusal {
                product: t.product.clone(),
                location: t.dotted(),
                policies: Vec::new(),
                message: format!(
                    "product `{}`, table `{}`: {message}; not exported to Ranger (fail closed)",
                    t.product,
                    t.dotted()
                ),
            }),
        }
    }
    out
}

fn file(
    model: &ExportModel,
    t: &TableExport,
    dialect: RangerDialect,
    policies: Vec<Value>,
) -> String {
    let count = policies.len();
    let document = json!({
        "metaDataInfo": {
            "Exported by": format!("charter export --target ranger --dialect {}", dialect.as_str()),
            "Generated from": format!(
                "policies {} and mesh {}; do not edit",
                model.revision.policies, model.revision.mesh
            ),
            "Charter policies revision": model.revision.policies,
            "Charter mesh revision": model.revision.mesh,
            "Charter product": t.product,
            "Charter table": t.dotted(),
            "Ranger service type": dialect.as_str(),
        },
        "policies": policies,
        "startIndex": 0,
        "pageSize": count,
        "totalCount": count,
        "resultSize": count,
        "queryTimeMS": 0,
    });
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    text
}

/// A name Ranger's resource matcher would not take literally: empty, a wildcard (`*`, `?`)
/// or a token to replace (`{USER}`, with `\` as its escape).
fn wildcard(name: &str) -> bool {
    name.is_empty() || name.contains(['*', '?', '{', '}', '\\'])
}

/// An attribute name that can stand in `${{USER.name}}`.
fn macro_safe(attribute: &str) -> bool {
    let mut chars = attribute.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn policies(t: &TableExport, dialect: RangerDialect) -> Result<Vec<Value>, String> {
    if let Some(part) = t.location.iter().find(|p| wildcard(p)) {
        return Err(format!(
            "location part `{part}` would be read by Ranger as a wildcard or a `{{token}}`"
        ));
    }
    let mut out = vec![access(t, dialect)?];
    if t.readers.is_empty() {
        // Nobody reads: masks and filters would never apply.
        return Ok(out);
    }
    for c in t.columns.iter().filter(|c| c.is_protected(&t.readers)) {
        if wildcard(&c.name) {
            return Err(format!(
                "column `{}` would be read by Ranger as a wildcard or a `{{token}}`",
                c.name
            ));
        }
        let inexpressible = |who: &str| {
            format!(
                "who reads column `{}` {who} is not a list of single roles or groups among the readers, which Ranger mask items cannot express",
                c.name
            )
        };
        let mut items = Vec::new();
        if !c.clear.is_empty() {
            let terms =
                among_readers(&c.clear, &t.readers).ok_or_else(|| inexpressible("in clear"))?;
            for term in &terms {
                items.push(mask_item(term, json!({"dataMaskType": "MASK_NONE"}))?);
            }
        }
        if let Some(mask) = &c.mask {
            let info = mask_info(mask.method, c.data_type.as_deref(), dialect);
            let terms =
                among_readers(&mask.terms, &t.readers).ok_or_else(|| inexpressible("masked"))?;
            for term in &terms {
                items.push(mask_item(term, info.clone())?);
            }
        }
        let everyone = mask_item(&Term::default(), json!({"dataMaskType": "MASK_NULL"}))?;
        if !items.iter().any(|i| i["groups"] == everyone["groups"]) {
            items.push(everyone);
        }
        let name = format!("charter: {}: mask {}", t.dotted(), c.name);
        let description = format!(
            "Charter: column `{}` of product `{}` in clear for its clear readers, masked for its masked readers, NULL otherwise",
            c.name, t.product
        );
        out.push(policy(
            t,
            dialect,
            1,
            &name,
            &description,
            Some(&c.name),
            json!({"dataMaskPolicyItems": items}),
        ));
    }
    if let Some(filter) = row_filter(t, dialect)? {
        out.push(filter);
    }
    Ok(out)
}

fn access(t: &TableExport, dialect: RangerDialect) -> Result<Value, String> {
    let select = json!([{"type": "select", "isAllowed": true}]);
    let allowed: Vec<Value> = t
        .readers
        .iter()
        .map(|term| item(term, &select))
        .collect::<Result<_, _>>()?;
    let everyone = item(&Term::default(), &select)?;
    let (name, description) = if allowed.is_empty() {
        (
            format!("charter: {}: nobody may read", t.dotted()),
            format!(
                "Charter: product `{}` may be read by nobody (a retired product or no reader)",
                t.product
            ),
        )
    } else {
        (
            format!("charter: {}: readers", t.dotted()),
            format!(
                "Charter: the readers of product `{}` may select; everyone else is denied",
                t.product
            ),
        )
    };
    Ok(policy(
        t,
        dialect,
        0,
        &name,
        &description,
        Some("*"),
        json!({
            "policyItems": allowed.clone(),
            "denyPolicyItems": [everyone],
            "denyExceptions": allowed,
        }),
    ))
}

fn row_filter(t: &TableExport, dialect: RangerDialect) -> Result<Option<Value>, String> {
    let Some(first) = t.row_filters.first() else {
        return Ok(None);
    };
    if t.readers.is_empty() {
        return Ok(None);
    }
    if t.row_filters
        .iter()
        .any(|f| f.exempt_roles != first.exempt_roles)
    {
        return Err(
            "the attribute row filters exempt different roles, which one Ranger row filter cannot express"
                .into(),
        );
    }
    let mut conditions = Vec::new();
    for f in &t.row_filters {
        if !macro_safe(&f.attribute) {
            return Err(format!(
                "attribute `{}` cannot be named in a Ranger user-attribute macro",
                f.attribute
            ));
        }
        conditions.push(format!(
            "{} = '${{{{USER.{}}}}}'",
            dialect.quote(&f.column),
            f.attribute
        ));
    }
    let mut items = Vec::new();
    for role in &first.exempt_roles {
        let term = Term {
            roles: vec![role.clone()],
            groups: Vec::new(),
        };
        items.push(filter_item(&term, "")?);
    }
    items.push(filter_item(&Term::default(), &conditions.join(" AND "))?);
    let name = format!("charter: {}: rows by principal attribute", t.dotted());
    let description = format!(
        "Charter: rows of product `{}` whose {} equal the reader's attribute; exempt roles see every row",
        t.product,
        t.row_filters
            .iter()
            .map(|f| format!("`{}`", f.column))
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(Some(policy(
        t,
        dialect,
        2,
        &name,
        &description,
        None,
        json!({"rowFilterPolicyItems": items}),
    )))
}

fn mask_info(method: MaskMethod, data_type: Option<&str>, dialect: RangerDialect) -> Value {
    let text = Family::of(data_type) == Family::Text;
    match method {
        MaskMethod::Hash if text => json!({"dataMaskType": "MASK_HASH"}),
        MaskMethod::Last4 if text => json!({"dataMaskType": "MASK_SHOW_LAST_4"}),
        MaskMethod::Redact if text => {
            let expr = match dialect {
                RangerDialect::Trino => {
                    MaskMethod::Redact.sql(Dialect::Trino, "charter", data_type)
                }
                RangerDialect::Hive => "CAST('****' AS STRING)".to_owned(),
            };
            json!({"dataMaskType": "CUSTOM", "valueExpr": expr})
        }
        // A hash or the last four of a number is no number: NULL, as the other targets.
        _ => json!({"dataMaskType": "MASK_NULL"}),
    }
}

type AtomSet = std::collections::BTreeSet<(bool, String)>;

fn atoms(term: &Term) -> AtomSet {
    term.roles
        .iter()
        .map(|r| (true, r.clone()))
        .chain(term.groups.iter().map(|g| (false, g.clone())))
        .collect()
}

fn minimize(mut sets: Vec<AtomSet>) -> Vec<AtomSet> {
    sets.sort_by_key(std::collections::BTreeSet::len);
    let mut out: Vec<AtomSet> = Vec::new();
    for set in sets {
        if !out.iter().any(|m| m.is_subset(&set)) {
            out.push(set);
        }
    }
    out.sort();
    out
}

/// `terms` as Ranger can say them to someone the access policy already let in: single
/// roles or groups (or `public`), such that every reader satisfies one of them exactly when
/// they satisfy one of `terms`. `None` when no such list exists.
fn among_readers(terms: &[Term], readers: &[Term]) -> Option<Vec<Term>> {
    let readers: Vec<AtomSet> = readers.iter().map(atoms).collect();
    let terms: Vec<AtomSet> = terms.iter().map(atoms).collect();
    // What each reader term still needs.
    let needed: Vec<Vec<AtomSet>> = readers
        .iter()
        .map(|r| {
            minimize(
                terms
                    .iter()
                    .map(|t| t.difference(r).cloned().collect())
                    .collect(),
            )
        })
        .collect();
    if needed.iter().all(|n| n.iter().any(AtomSet::is_empty)) {
        return Some(vec![Term::default()]);
    }
    let mut singles = AtomSet::new();
    for (r, n) in readers.iter().zip(&needed) {
        for set in n {
            match set.len() {
                0 if r.len() == 1 => singles.extend(r.iter().cloned()),
                0 => return None,
                1 => singles.extend(set.iter().cloned()),
                _ => return None,
            }
        }
    }
    let exact = readers.iter().zip(&needed).all(|(r, n)| {
        let got = minimize(
            singles
                .iter()
                .map(|a| {
                    std::iter::once(a.clone())
                        .filter(|a| !r.contains(a))
                        .collect()
                })
                .collect(),
        );
        got == *n
    });
    exact.then(|| {
        singles
            .into_iter()
            .map(|(role, name)| {
                if role {
                    Term {
                        roles: vec![name],
                        groups: Vec::new(),
                    }
                } else {
                    Term {
                        roles: Vec::new(),
                        groups: vec![name],
                    }
                }
            })
            .collect()
    })
}

/// The principals of a term as a Ranger policy item's `users`/`groups`/`roles`.
fn principals(term: &Term) -> Result<(Vec<String>, Vec<String>), String> {
    match (term.roles.as_slice(), term.groups.as_slice()) {
        ([], []) => Ok((Vec::new(), vec!["public".to_owned()])),
        ([role], []) => Ok((vec![role.clone()], Vec::new())),
        ([], [group]) => Ok((Vec::new(), vec![group.clone()])),
        _ => Err(format!(
            "a reader needs all of {}, which a Ranger policy item (any of its users, groups, roles) cannot express",
            term.roles
                .iter()
                .chain(&term.groups)
                .map(|a| format!("`{a}`"))
                .collect::<Vec<_>>()
                .join(", ")
        )),
    }
}

fn item(term: &Term, accesses: &Value) -> Result<Value, String> {
    let (roles, groups) = principals(term)?;
    Ok(json!({
        "accesses": accesses,
        "users": [],
        "groups": groups,
        "roles": roles,
        "conditions": [],
        "delegateAdmin": false,
    }))
}

fn mask_item(term: &Term, info: Value) -> Result<Value, String> {
    let mut value = item(term, &json!([{"type": "select", "isAllowed": true}]))?;
    if let Some(map) = value.as_object_mut() {
        map.insert("dataMaskInfo".into(), info);
    }
    Ok(value)
}

fn filter_item(term: &Term, expr: &str) -> Result<Value, String> {
    let mut value = item(term, &json!([{"type": "select", "isAllowed": true}]))?;
    if let Some(map) = value.as_object_mut() {
        map.insert("rowFilterInfo".into(), json!({"filterExpr": expr}));
    }
    Ok(value)
}

fn resource(value: &str) -> Value {
    json!({"values": [value], "isExcludes": false, "isRecursive": false})
}

fn policy(
    t: &TableExport,
    dialect: RangerDialect,
    policy_type: u8,
    name: &str,
    description: &str,
    column: Option<&str>,
    items: Value,
) -> Value {
    let [catalog, schema, table] = &t.location;
    let mut resources = serde_json::Map::new();
    if dialect == RangerDialect::Trino {
        resources.insert("catalog".into(), resource(catalog));
        resources.insert("schema".into(), resource(schema));
    } else {
        resources.insert("database".into(), resource(schema));
    }
    resources.insert("table".into(), resource(table));
    if let Some(column) = column {
        resources.insert("column".into(), resource(column));
    }
    let mut value = json!({
        "service": dialect.as_str(),
        "name": name,
        "policyType": policy_type,
        "policyPriority": 0,
        "description": description,
        "isAuditEnabled": true,
        "resources": resources,
        "policyItems": [],
        "denyPolicyItems": [],
        "allowExceptions": [],
        "denyExceptions": [],
        "dataMaskPolicyItems": [],
        "rowFilterPolicyItems": [],
        "options": {},
        "validitySchedules": [],
        "policyLabels": ["charter"],
        "isEnabled": true,
        "version": 1,
    });
    if let (Some(map), Some(items)) = (value.as_object_mut(), items.as_object()) {
        for (k, v) in items {
            map.insert(k.clone(), v.clone());
        }
    }
    value
}
