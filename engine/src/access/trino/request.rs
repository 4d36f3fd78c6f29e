//! The requests Trino's `trino-opa` access-control plugin sends:
//! `{"input": {"context": {"identity": {"user", "groups"}, "softwareStack", "queryId"?},
//! "action": {"operation", "resource"?, "filterResources"?, "targetResource"?, "grantee"?}}}`.
//! Unknown fields are ignored (the plugin adds some between versions); a missing or empty
//! identity is malformed.

use serde::Deserialize;

use super::super::request::Principal;

/// The body Trino posts.
#[derive(Debug, Clone, Deserialize)]
pub struct TrinoRequest {
    /// The policy input.
    pub input: TrinoInput,
}

/// Who asks (`context`) and what for (`action`).
#[derive(Debug, Clone, Deserialize)]
pub struct TrinoInput {
    /// The caller.
    pub context: TrinoContext,
    /// The operation and its resources.
    pub action: TrinoAction,
}

/// The request context.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrinoContext {
    /// The caller's identity.
    pub identity: TrinoIdentity,
    /// The query, when the call belongs to one.
    #[serde(default)]
    pub query_id: Option<String>,
}

/// The caller as Trino knows it.
#[derive(Debug, Clone, Deserialize)]
pub struct TrinoIdentity {
    /// The user name.
    pub user: String,
    /// Its groups.
    #[serde(default)]
    pub groups: Vec<String>,
}

/// The operation asked.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrinoAction {
    /// `SelectFromColumns`, `FilterTables`, `GetRowFilters`…
    pub operation: String,
    /// The resource, for single requests.
    #[serde(default)]
    pub resource: Option<TrinoResource>,
    /// The resources, for batched filter and mask requests.
    #[serde(default)]
    pub filter_resources: Vec<TrinoResource>,
    /// The new name, for renames.
    #[serde(default)]
    pub target_resource: Option<TrinoResource>,
}

/// One resource; exactly one of its fields is set by Trino.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrinoResource {
    /// A table (with the columns, for column operations).
    #[serde(default)]
    pub table: Option<TrinoTable>,
    /// A column (mask requests).
    #[serde(default)]
    pub column: Option<TrinoColumn>,
    /// A catalog.
    #[serde(default)]
    pub catalog: Option<TrinoCatalog>,
    /// A schema.
    #[serde(default)]
    pub schema: Option<TrinoSchema>,
    /// A function or procedure.
    #[serde(default)]
    pub function: Option<TrinoFunction>,
    /// A user (query ownership, impersonation).
    #[serde(default)]
    pub user: Option<TrinoUser>,
}

/// `{catalogName, schemaName, tableName, columns?}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrinoTable {
    /// Catalog.
    pub catalog_name: String,
    /// Schema.
    pub schema_name: String,
    /// Table.
    pub table_name: String,
    /// The columns, for column operations.
    #[serde(default)]
    pub columns: Option<Vec<String>>,
}

impl TrinoTable {
    /// `catalog.schema.table`, the physical table contracts declare.
    #[must_use]
    pub fn qualified(&self) -> String {
        format!(
            "{}.{}.{}",
            self.catalog_name, self.schema_name, self.table_name
        )
    }
}

/// `{catalogName, schemaName, tableName, columnName, columnType}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrinoColumn {
    /// Catalog.
    pub catalog_name: String,
    /// Schema.
    pub schema_name: String,
    /// Table.
    pub table_name: String,
    /// Column.
    pub column_name: String,
    /// Trino's type of the column.
    #[serde(default)]
    pub column_type: Option<String>,
}

impl TrinoColumn {
    /// `catalog.schema.table` of the column.
    #[must_use]
    pub fn qualified_table(&self) -> String {
        format!(
            "{}.{}.{}",
            self.catalog_name, self.schema_name, self.table_name
        )
    }
}

/// `{name}`.
#[derive(Debug, Clone, Deserialize)]
pub struct TrinoCatalog {
    /// Catalog.
    pub name: String,
}

/// `{catalogName, schemaName}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrinoSchema {
    /// Catalog.
    pub catalog_name: String,
    /// Schema.
    pub schema_name: String,
}

/// `{catalogName?, schemaName?, functionName}`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TrinoFunction {
    /// Catalog.
    #[serde(default)]
    pub catalog_name: Option<String>,
    /// Schema.
    #[serde(default)]
    pub schema_name: Option<String>,
    /// Function.
    pub function_name: String,
}

/// `{user, groups?}`.
#[derive(Debug, Clone, Deserialize)]
pub struct TrinoUser {
    /// User name.
    pub user: String,
}

/// A request Trino's plugin would not send: answered 400.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("malformed Trino request: {0}")]
pub struct MalformedRequest(pub String);

impl TrinoRequest {
    /// Parses a request body.
    ///
    /// # Errors
    /// Not JSON, not the plugin's shape, or an empty user.
    pub fn parse(body: &[u8]) -> Result<Self, MalformedRequest> {
        let request: Self =
            serde_json::from_slice(body).map_err(|e| MalformedRequest(e.to_string()))?;
        if request.input.context.identity.user.trim().is_empty() {
            return Err(MalformedRequest(
                "input.context.identity.user: must not be empty".into(),
            ));
        }
        if request.input.action.operation.trim().is_empty() {
            return Err(MalformedRequest(
                "input.action.operation: must not be empty".into(),
            ));
        }
        Ok(request)
    }

    /// The caller as a principal (before the directory completes it).
    #[must_use]
    pub fn principal(&self) -> Principal {
        let identity = &self.input.context.identity;
        Principal {
            id: identity.user.clone(),
            groups: identity
                .groups
                .iter()
                .filter(|g| !g.is_empty())
                .cloned()
                .collect(),
            ..Principal::default()
        }
    }
}
