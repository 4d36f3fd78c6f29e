//! Snowflake: masking policies per method and type, a row access policy per table that
//! holds both who may read and the attribute row filters, and grants.
//!
//! Snowflake knows roles only: Charter roles and groups both become Snowflake roles
//! (`IS_ROLE_IN_SESSION`). Principal attributes are read from the mapping table
//! `<database>.<schema>.CHARTER_PRINCIPAL_ATTRIBUTES (PRINCIPAL, ATTRIBUTE, VALUE)`, keyed
//! by `CURRENT_USER()`; a reader with no such row is not filtered, as in Charter.

use std::fmt::Write as _;

use crate::access::MaskMethod;

use super::model::{ExportModel, ExportedFile, TableExport};
use super::sql::{Family, condition, header, method_name, safe_name};

/// Quotes a Snowflake identifier: `"name"`, `"` doubled.
#[must_use]
pub fn ident(name: &str) -> String {
    crate::access::quote_identifier(name)
}

/// Quotes a Snowflake string literal: `'…'`, `'` doubled and `\` escaped (Snowflake reads
/// backslash escapes in single-quoted literals).
#[must_use]
pub fn literal(value: &str) -> String {
    format!("'{}'", value.replace('\\', "\\\\").replace('\'', "''"))
}

/// One `.sql` file per exported table.
#[must_use]
pub fn render(model: &ExportModel) -> Vec<ExportedFile> {
    model
        .tables
        .iter()
        .map(|t| ExportedFile {
            path: format!("snowflake/{}.sql", t.dotted()),
            table: t.dotted(),
            text: format!("{}{}", header(model, "snowflake", "--"), table(t)),
        })
        .collect()
}

fn role(r: &str) -> String {
    format!("IS_ROLE_IN_SESSION({})", literal(r))
}

fn sql_type(family: Family) -> &'static str {
    match family {
        Family::Text => "VARCHAR",
        Family::Integer | Family::Decimal => "NUMBER",
        Family::Float => "FLOAT",
        Family::Boolean => "BOOLEAN",
        Family::Date => "DATE",
        Family::Timestamp => "TIMESTAMP_NTZ",
    }
}

/// The masked value; a method the type cannot carry (a hash of a number) is `NULL`.
fn masked(method: Option<MaskMethod>, family: Family) -> String {
    match (method, family) {
        (Some(MaskMethod::Hash), Family::Text) => "SHA2(val, 256)".into(),
        (Some(MaskMethod::Last4), Family::Text) => "'****' || RIGHT(val, 4)".into(),
        (Some(MaskMethod::Redact), Family::Text) => "'****'".into(),
        _ => format!("CAST(NULL AS {})", sql_type(family)),
    }
}

fn table(t: &TableExport) -> String {
    let names = Names::of(t);
    let mut out = format!("-- product {}, table {}\n", t.product, t.dotted());
    let _ = writeln!(
        out,
        "ALTER TABLE {} DROP ALL ROW ACCESS POLICIES;",
        names.qualified
    );
    masking(t, &names, &mut out);
    row_access(t, &names, &mut out);
    let mut grantees: Vec<&String> = t
        .readers
        .iter()
        .flat_map(|r| r.roles.iter().chain(&r.groups))
        .collect();
    grantees.sort();
    grantees.dedup();
    for g in grantees {
        let _ = writeln!(
            out,
            "GRANT SELECT ON TABLE {} TO ROLE {};",
            names.qualified,
            ident(g)
        );
    }
    out
}

/// The table's quoted names, and those of the objects Charter creates beside it.
struct Names<'a> {
    db: &'a str,
    schema: &'a str,
    name: &'a str,
    qualified: String,
}

impl<'a> Names<'a> {
    fn of(t: &'a TableExport) -> Self {
        let [db, schema, name] = &t.location;
        Self {
            db,
            schema,
            name,
            qualified: format!("{}.{}.{}", ident(db), ident(schema), ident(name)),
        }
    }

    /// A schema-level object of this table (`charter_<table>_<suffix>`).
    fn object(&self, suffix: &str) -> String {
        self.in_schema(&safe_name(&["charter", self.name, suffix]))
    }

    fn in_schema(&self, name: &str) -> String {
        format!("{}.{}.{}", ident(self.db), ident(self.schema), ident(name))
    }
}

/// Masking policies, one per (method, type, who reads in clear, who reads masked), and
/// each protected column unset then set to its policy.
fn masking(t: &TableExport, names: &Names<'_>, out: &mut String) {
    let qualified = &names.qualified;
    let mut policies: Vec<(String, String)> = Vec::new();
    let mut attach = String::new();
    for c in t.columns.iter().filter(|c| c.is_protected(&t.readers)) {
        let family = Family::of(c.data_type.as_deref());
        let method = c.mask.as_ref().map(|m| m.method);
        let clear = condition(&c.clear, &role, &role);
        let mask = c
            .mask
            .as_ref()
            .map_or_else(|| "FALSE".into(), |m| condition(&m.terms, &role, &role));
        let body = format!(
            "AS (val {ty}) RETURNS {ty} ->\n  CASE WHEN {clear} THEN val WHEN {mask} THEN {} ELSE CAST(NULL AS {ty}) END",
            masked(method, family),
            ty = sql_type(family)
        );
        let kind = format!("{}_{}", method_name(method), family.suffix());
        let policy = if let Some((name, _)) = policies.iter().find(|(_, b)| *b == body) {
            name.clone()
        } else {
            let same = policies.iter().filter(|(n, _)| n.contains(&kind)).count();
            let name = names.object(&format!("{kind}_{same}"));
            policies.push((name.clone(), body));
            name
        };
        let column = ident(&c.name);
        let _ = writeln!(
            out,
            "ALTER TABLE {qualified} MODIFY COLUMN {column} UNSET MASKING POLICY;"
        );
        let _ = writeln!(
            attach,
            "ALTER TABLE {qualified} MODIFY COLUMN {column} SET MASKING POLICY {policy};"
        );
    }
    for (name, body) in &policies {
        let _ = writeln!(out, "CREATE OR REPLACE MASKING POLICY {name} {body};");
    }
    out.push_str(&attach);
}

/// Who may read, and the attribute row filters, in one row access policy on the table.
fn row_access(t: &TableExport, names: &Names<'_>, out: &mut String) {
    let attributes = names.in_schema("CHARTER_PRINCIPAL_ATTRIBUTES");
    let mut args = Vec::new();
    let mut predicate = format!("({})", condition(&t.readers, &role, &role));
    for (i, f) in t.row_filters.iter().enumerate() {
        args.push((format!("filter_{i}"), f.column.clone()));
        let exempt: Vec<String> = f.exempt_roles.iter().map(|r| role(r)).collect();
        let mine = format!(
            "SELECT VALUE FROM {attributes} WHERE PRINCIPAL = CURRENT_USER() AND ATTRIBUTE = {}",
            literal(&f.attribute)
        );
        let mut alternatives = exempt;
        alternatives.push(format!("NOT EXISTS ({mine})"));
        alternatives.push(format!("filter_{i} IN ({mine})"));
        let _ = write!(predicate, "\n    AND ({})", alternatives.join(" OR "));
    }
    let first = t.columns.first();
    let (signature, on) = if args.is_empty() {
        let family = Family::of(first.and_then(|c| c.data_type.as_deref()));
        (
            format!("(charter_any {})", sql_type(family)),
            first.map(|c| ident(&c.name)).unwrap_or_default(),
        )
    } else {
        (
            format!(
                "({})",
                args.iter()
                    .map(|(a, _)| format!("{a} VARCHAR"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            args.iter()
                .map(|(_, c)| ident(c))
                .collect::<Vec<_>>()
                .join(", "),
        )
    };
    if !t.row_filters.is_empty() {
        let _ = writeln!(
            out,
            "CREATE TABLE IF NOT EXISTS {attributes} (PRINCIPAL VARCHAR, ATTRIBUTE VARCHAR, VALUE VARCHAR);"
        );
    }
    let rows = names.object("rows");
    let _ = writeln!(
        out,
        "CREATE OR REPLACE ROW ACCESS POLICY {rows} AS {signature} RETURNS BOOLEAN ->\n  {predicate};"
    );
    if !on.is_empty() {
        let _ = writeln!(
            out,
            "ALTER TABLE {} ADD ROW ACCESS POLICY {rows} ON ({on});",
            names.qualified
        );
    }
}
