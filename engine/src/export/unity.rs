//! Databricks Unity Catalog: masking functions per method and type (`ALTER COLUMN … SET
//! MASK`), a row filter function per table that holds both who may read and the attribute
//! row filters (`SET ROW FILTER`), and grants.
//!
//! Unity Catalog knows account groups: Charter roles and groups both become groups
//! (`is_account_group_member`). Principal attributes are read from the mapping table
//! `<catalog>.<schema>.charter_principal_attributes (principal, attribute, value)`, keyed by
//! `current_user()`; a reader with no such row is not filtered, as in Charter.

use std::fmt::Write as _;

use crate::access::MaskMethod;

use super::model::{ExportModel, ExportedFile, TableExport};
use super::sql::{Family, condition, header, method_name, safe_name};

/// Quotes a Databricks identifier: `` `name` ``, `` ` `` doubled.
#[must_use]
pub fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Quotes a Databricks string literal: `'…'` with `\` and `'` escaped by a backslash.
#[must_use]
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// One `.sql` file per exported table.
#[must_use]
pub fn render(model: &ExportModel) -> Vec<ExportedFile> {
    model
        .tables
        .iter()
        .map(|t| ExportedFile {
            path: format!("unity/{}.sql", t.dotted()),
            table: t.dotted(),
            text: format!("{}{}", header(model, "unity", "--"), table(t)),
        })
        .collect()
}

fn member(g: &str) -> String {
    format!("is_account_group_member({})", literal(g))
}

fn sql_type(family: Family) -> &'static str {
    match family {
        Family::Text => "STRING",
        Family::Integer => "BIGINT",
        Family::Decimal => "DECIMAL(38,9)",
        Family::Float => "DOUBLE",
        Family::Boolean => "BOOLEAN",
        Family::Date => "DATE",
        Family::Timestamp => "TIMESTAMP",
    }
}

fn masked(method: Option<MaskMethod>, family: Family) -> String {
    match (method, family) {
        (Some(MaskMethod::Hash), Family::Text) => "sha2(val, 256)".into(),
        (Some(MaskMethod::Last4), Family::Text) => "concat('****', right(val, 4))".into(),
        (Some(MaskMethod::Redact), Family::Text) => "'****'".into(),
        _ => format!("CAST(NULL AS {})", sql_type(family)),
    }
}

fn table(t: &TableExport) -> String {
    let [catalog, schema, name] = &t.location;
    let qualified = format!("{}.{}.{}", ident(catalog), ident(schema), ident(name));
    let object = |suffix: &str| {
        format!(
            "{}.{}.{}",
            ident(catalog),
            ident(schema),
            ident(&safe_name(&["charter", name, suffix]))
        )
    };
    let mut out = format!("-- product {}, table {}\n", t.product, t.dotted());
    let mut functions: Vec<(String, String)> = Vec::new();
    let mut attach = String::new();
    for c in t.columns.iter().filter(|c| c.is_protected(&t.readers)) {
        let family = Family::of(c.data_type.as_deref());
        let method = c.mask.as_ref().map(|m| m.method);
        let clear = condition(&c.clear, &member, &member);
        let mask = c
            .mask
            .as_ref()
            .map_or_else(|| "FALSE".into(), |m| condition(&m.terms, &member, &member));
        let body = format!(
            "(val {ty}) RETURNS {ty}\n  RETURN CASE WHEN {clear} THEN val WHEN {mask} THEN {} ELSE CAST(NULL AS {ty}) END",
            masked(method, family),
            ty = sql_type(family)
        );
        let kind = format!("{}_{}", method_name(method), family.suffix());
        let function = if let Some((name, _)) = functions.iter().find(|(_, b)| *b == body) {
            name.clone()
        } else {
            let same = functions.iter().filter(|(n, _)| n.contains(&kind)).count();
            let name = object(&format!("{kind}_{same}"));
            functions.push((name.clone(), body));
            name
        };
        let _ = writeln!(
            attach,
            "ALTER TABLE {qualified} ALTER COLUMN {} SET MASK {function};",
            ident(&c.name)
        );
    }
    for (name, body) in &functions {
        let _ = writeln!(out, "CREATE OR REPLACE FUNCTION {name}{body};");
    }
    out.push_str(&attach);
    let attributes = object("principal_attributes").replace(
        &ident(&safe_name(&["charter", name, "principal_attributes"])),
        &ident("charter_principal_attributes"),
    );
    let mut predicate = format!("({})", condition(&t.readers, &member, &member));
    let mut params = Vec::new();
    for (i, f) in t.row_filters.iter().enumerate() {
        params.push(format!("filter_{i} STRING"));
        let mine = format!(
            "SELECT value FROM {attributes} WHERE principal = current_user() AND attribute = {}",
            literal(&f.attribute)
        );
        let mut alternatives: Vec<String> = f.exempt_roles.iter().map(|r| member(r)).collect();
        alternatives.push(format!("NOT EXISTS ({mine})"));
        alternatives.push(format!("filter_{i} IN ({mine})"));
        let _ = write!(predicate, "\n    AND ({})", alternatives.join(" OR "));
    }
    if !t.row_filters.is_empty() {
        let _ = writeln!(
            out,
            "CREATE TABLE IF NOT EXISTS {attributes} (principal STRING, attribute STRING, value STRING);"
        );
    }
    let rows = object("rows");
    let on: Vec<String> = t.row_filters.iter().map(|f| ident(&f.column)).collect();
    let _ = writeln!(
        out,
        "CREATE OR REPLACE FUNCTION {rows}({}) RETURNS BOOLEAN\n  RETURN {predicate};",
        params.join(", ")
    );
    let _ = writeln!(
        out,
        "ALTER TABLE {qualified} SET ROW FILTER {rows} ON ({});",
        on.join(", ")
    );
    let mut grantees: Vec<&String> = t
        .readers
        .iter()
        .flat_map(|r| r.roles.iter().chain(&r.groups))
        .collect();
    grantees.sort();
    grantees.dedup();
    for g in grantees {
        let _ = writeln!(out, "GRANT SELECT ON TABLE {qualified} TO {};", ident(g));
    }
    out
}
