//! Column masks as SQL expressions a query engine can inline, per dialect.
//!
//! Every expression is built from the column's name (quoted as an identifier) and,
//! where the method needs it, the column's type mapped through a fixed list of SQL
//! types: nothing a contract writes is pasted into SQL as is.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The SQL dialect of mask expressions and row-filter predicates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// Trino (and Presto, Starburst, Athena).
    #[default]
    Trino,
    /// ANSI SQL as DuckDB speaks it.
    Ansi,
}

impl Dialect {
    /// Every dialect, in a fixed order.
    pub const ALL: [Dialect; 2] = [Dialect::Trino, Dialect::Ansi];

    /// The dialect's name as flags and JSON spell it.
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Trino => "trino",
            Dialect::Ansi => "ansi",
        }
    }

    pub(crate) fn index(self) -> usize {
        match self {
            Dialect::Trino => 0,
            Dialect::Ansi => 1,
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A dialect name that is not `trino`, `ansi` or `duckdb`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown SQL dialect `{0}` (expected `trino` or `ansi`)")]
pub struct UnknownDialect(pub String);

impl FromStr for Dialect {
    type Err = UnknownDialect;

    /// `trino`, `ansi` or `duckdb` (an alias of `ansi`), case-insensitive.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "trino" => Ok(Dialect::Trino),
            "ansi" | "duckdb" => Ok(Dialect::Ansi),
            _ => Err(UnknownDialect(s.to_owned())),
        }
    }
}

/// How a masked column's values are replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaskMethod {
    /// A SHA-256 hex digest of the value: joinable, not readable.
    Hash,
    /// A constant (`'****'` for text, `NULL` of the column's type otherwise).
    Redact,
    /// `NULL` of the column's type.
    Nullify,
    /// `****` followed by the value's last four characters.
    Last4,
}

impl MaskMethod {
    /// Every method, in a fixed order.
    pub const ALL: [MaskMethod; 4] = [
        MaskMethod::Hash,
        MaskMethod::Redact,
        MaskMethod::Nullify,
        MaskMethod::Last4,
    ];

    /// The method's canonical name (`hash`, `redact`, `nullify`, `last4`).
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            MaskMethod::Hash => "hash",
            MaskMethod::Redact => "redact",
            MaskMethod::Nullify => "nullify",
            MaskMethod::Last4 => "last4",
        }
    }

    /// The method of a canonical name, case-insensitive.
    #[must_use]
    pub fn from_canonical(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|m| m.as_str().eq_ignore_ascii_case(name.trim()))
    }

    /// The SQL expression that replaces column `column` (of contract type `data_type`,
    /// when known) in a query.
    ///
    /// ```
    /// use charter_engine::access::{Dialect, MaskMethod};
    /// assert_eq!(
    ///     MaskMethod::Hash.sql(Dialect::Trino, "email", Some("string")),
    ///     r#"to_hex(sha256(to_utf8(CAST("email" AS varchar))))"#,
    /// );
    /// assert_eq!(MaskMethod::Last4.sql(Dialect::Ansi, "iban", None), r#"'****' || right(CAST("iban" AS VARCHAR), 4)"#);
    /// assert_eq!(MaskMethod::Nullify.sql(Dialect::Ansi, "born", Some("date")), "CAST(NULL AS DATE)");
    /// ```
    #[must_use]
    pub fn sql(self, dialect: Dialect, column: &str, data_type: Option<&str>) -> String {
        let col = quote_identifier(column);
        let varchar = SqlType::Varchar.name(dialect);
        let sql_type = data_type.map(SqlType::from_contract);
        match (self, dialect) {
            (MaskMethod::Hash, Dialect::Trino) => {
                format!("to_hex(sha256(to_utf8(CAST({col} AS {varchar}))))")
            }
            (MaskMethod::Hash, Dialect::Ansi) => format!("sha256(CAST({col} AS {varchar}))"),
            (MaskMethod::Last4, Dialect::Trino) => {
                format!("concat('****', substr(CAST({col} AS {varchar}), -4))")
            }
            (MaskMethod::Last4, Dialect::Ansi) => {
                format!("'****' || right(CAST({col} AS {varchar}), 4)")
            }
            (MaskMethod::Redact, _) => match sql_type {
                // No type written: most such columns are text; a constant string is the redaction.
                None | Some(Some(SqlType::Varchar)) => format!("CAST('****' AS {varchar})"),
                Some(Some(other)) => format!("CAST(NULL AS {})", other.name(dialect)),
                Some(None) => "NULL".to_owned(),
            },
            (MaskMethod::Nullify, _) => match sql_type.flatten() {
                Some(t) => format!("CAST(NULL AS {})", t.name(dialect)),
                None => "NULL".to_owned(),
            },
        }
    }
}

impl fmt::Display for MaskMethod {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Quotes an SQL identifier: `"name"`, with `"` inside doubled.
///
/// ```
/// assert_eq!(charter_engine::access::quote_identifier(r#"we"ird"#), r#""we""ird""#);
/// ```
#[must_use]
pub fn quote_identifier(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 2);
    out.push('"');
    for c in name.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Quotes an SQL string literal: `'value'`, with `'` inside doubled.
///
/// ```
/// assert_eq!(charter_engine::access::quote_literal("eu' OR '1'='1"), "'eu'' OR ''1''=''1'");
/// ```
#[must_use]
pub fn quote_literal(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('\'');
    for c in value.chars() {
        if c == '\'' {
            out.push('\'');
        }
        out.push(c);
    }
    out.push('\'');
    out
}

/// The SQL types a contract type maps to; anything else is not cast to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SqlType {
    Varchar,
    Boolean,
    TinyInt,
    SmallInt,
    Integer,
    BigInt,
    Real,
    Double,
    Decimal(Option<(u8, u8)>),
    Date,
    Time,
    Timestamp,
    TimestampTz,
    Binary,
}

impl SqlType {
    /// The SQL type of a contract type (`string`, `decimal(10,2)`, `timestamp`…), or
    /// `None` for types with no safe cast (structs, arrays, unknown names).
    fn from_contract(data_type: &str) -> Option<Self> {
        let t = data_type.trim().to_ascii_lowercase();
        let base = t.split('(').next().unwrap_or_default().trim();
        Some(match base {
            "string" | "str" | "text" | "varchar" | "char" | "character varying" | "character"
            | "nvarchar" | "uuid" | "email" | "json" => SqlType::Varchar,
            "bool" | "boolean" => SqlType::Boolean,
            "tinyint" | "byte" | "int8" => SqlType::TinyInt,
            "smallint" | "short" | "int16" => SqlType::SmallInt,
            "int" | "integer" | "int32" => SqlType::Integer,
            "bigint" | "long" | "int64" => SqlType::BigInt,
            "real" | "float" | "float32" => SqlType::Real,
            "double" | "double precision" | "float64" => SqlType::Double,
            "decimal" | "numeric" | "number" => SqlType::Decimal(decimal_params(&t)?),
            "date" => SqlType::Date,
            "time" => SqlType::Time,
            "timestamp" | "datetime" | "timestamp_ntz" => SqlType::Timestamp,
            "timestamptz" | "timestamp with time zone" | "timestamp_tz" | "timestamp_ltz" => {
                SqlType::TimestampTz
            }
            "binary" | "bytes" | "varbinary" | "blob" | "bytea" => SqlType::Binary,
            _ => return None,
        })
    }

    fn name(self, dialect: Dialect) -> String {
        let trino = dialect == Dialect::Trino;
        let fixed =
            |lower: &'static str, upper: &'static str| if trino { lower } else { upper }.to_owned();
        match self {
            SqlType::Varchar => fixed("varchar", "VARCHAR"),
            SqlType::Boolean => fixed("boolean", "BOOLEAN"),
            SqlType::TinyInt => fixed("tinyint", "TINYINT"),
            SqlType::SmallInt => fixed("smallint", "SMALLINT"),
            SqlType::Integer => fixed("integer", "INTEGER"),
            SqlType::BigInt => fixed("bigint", "BIGINT"),
            SqlType::Real => fixed("real", "REAL"),
            SqlType::Double => fixed("double", "DOUBLE"),
            SqlType::Decimal(None) => fixed("decimal", "DECIMAL"),
            SqlType::Decimal(Some((p, s))) => {
                format!("{}({p},{s})", if trino { "decimal" } else { "DECIMAL" })
            }
            SqlType::Date => fixed("date", "DATE"),
            SqlType::Time => fixed("time", "TIME"),
            SqlType::Timestamp => fixed("timestamp", "TIMESTAMP"),
            SqlType::TimestampTz => fixed("timestamp with time zone", "TIMESTAMP WITH TIME ZONE"),
            SqlType::Binary => fixed("varbinary", "BLOB"),
        }
    }
}

/// `decimal` → `Some(None)`; `decimal(10,2)` / `decimal(10)` → `Some(Some((10, 2)))`;
/// anything else in the parentheses → `None` (no safe cast).
fn decimal_params(t: &str) -> Option<Option<(u8, u8)>> {
    let Some(open) = t.find('(') else {
        return Some(None);
    };
    let inner = t[open + 1..].strip_suffix(')')?;
    let mut parts = inner.split(',').map(str::trim);
    let precision: u8 = parts.next()?.parse().ok()?;
    let scale: u8 = match parts.next() {
        Some(s) => s.parse().ok()?,
        None => 0,
    };
    if parts.next().is_some() || precision == 0 || precision > 38 || scale > precision {
        return None;
    }
    Some(Some((precision, scale)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_per_dialect() {
        assert_eq!(
            MaskMethod::Hash.sql(Dialect::Trino, "customer_id", Some("string")),
            r#"to_hex(sha256(to_utf8(CAST("customer_id" AS varchar))))"#
        );
        assert_eq!(
            MaskMethod::Hash.sql(Dialect::Ansi, "customer_id", Some("string")),
            r#"sha256(CAST("customer_id" AS VARCHAR))"#
        );
    }

    #[test]
    fn last4_per_dialect() {
        assert_eq!(
            MaskMethod::Last4.sql(Dialect::Trino, "card", Some("string")),
            r#"concat('****', substr(CAST("card" AS varchar), -4))"#
        );
        assert_eq!(
            MaskMethod::Last4.sql(Dialect::Ansi, "card", None),
            r#"'****' || right(CAST("card" AS VARCHAR), 4)"#
        );
    }

    #[test]
    fn redact_keeps_the_type_where_it_can() {
        assert_eq!(
            MaskMethod::Redact.sql(Dialect::Trino, "email", Some("string")),
            "CAST('****' AS varchar)"
        );
        assert_eq!(
            MaskMethod::Redact.sql(Dialect::Ansi, "email", None),
            "CAST('****' AS VARCHAR)"
        );
        assert_eq!(
            MaskMethod::Redact.sql(Dialect::Trino, "born", Some("date")),
            "CAST(NULL AS date)"
        );
        assert_eq!(
            MaskMethod::Redact.sql(Dialect::Ansi, "address", Some("struct<street:string>")),
            "NULL"
        );
    }

    #[test]
    fn nullify_casts_known_types_only() {
        assert_eq!(
            MaskMethod::Nullify.sql(Dialect::Trino, "amount", Some("decimal(10,2)")),
            "CAST(NULL AS decimal(10,2))"
        );
        assert_eq!(
            MaskMethod::Nullify.sql(Dialect::Ansi, "amount", Some("DECIMAL(10, 2)")),
            "CAST(NULL AS DECIMAL(10,2))"
        );
        assert_eq!(
            MaskMethod::Nullify.sql(Dialect::Ansi, "ts", Some("timestamp")),
            "CAST(NULL AS TIMESTAMP)"
        );
        assert_eq!(MaskMethod::Nullify.sql(Dialect::Trino, "x", None), "NULL");
        // A type that would smuggle SQL is not cast to.
        assert_eq!(
            MaskMethod::Nullify.sql(
                Dialect::Trino,
                "x",
                Some("decimal(1) AS int); DROP TABLE t; --")
            ),
            "NULL"
        );
        assert_eq!(
            MaskMethod::Nullify.sql(Dialect::Trino, "x", Some("varchar); DROP")),
            "NULL"
        );
        assert_eq!(
            MaskMethod::Nullify.sql(Dialect::Trino, "x", Some("varchar(255)")),
            "CAST(NULL AS varchar)"
        );
    }

    #[test]
    fn identifiers_and_literals_are_quoted() {
        assert_eq!(quote_identifier("a\"b"), "\"a\"\"b\"");
        assert_eq!(
            MaskMethod::Hash.sql(Dialect::Ansi, "x\") FROM t; --", None),
            "sha256(CAST(\"x\"\") FROM t; --\" AS VARCHAR))"
        );
        assert_eq!(quote_literal("eu' OR '1'='1"), "'eu'' OR ''1''=''1'");
        assert_eq!(quote_literal(""), "''");
    }

    #[test]
    fn dialect_names() {
        assert_eq!("DuckDB".parse::<Dialect>(), Ok(Dialect::Ansi));
        assert_eq!("trino".parse::<Dialect>(), Ok(Dialect::Trino));
        assert!("mysql".parse::<Dialect>().is_err());
    }
}
