//! An access request: who asks, for which product and columns, and why.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use super::mask::Dialect;

/// The principal of a request, as the query engine knows it.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(default)]
pub struct Principal {
    /// The principal's id (a user or service account name).
    pub id: String,
    /// Roles granted to the principal (`analyst`, `pii-reader`…).
    pub roles: Vec<String>,
    /// Groups the principal belongs to (`team-payments@acme.example`…).
    pub groups: Vec<String>,
    /// String attributes (`region` → `eu`…), Cedar tags of the `User` entity.
    pub attributes: BTreeMap<String, String>,
}

/// The product a request is about; serialized as `{"id": …}` or `{"table": …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "ProductRefDoc", into = "ProductRefDoc")]
pub enum ProductRef {
    /// By product id, e.g. `sales.orders`.
    Id(String),
    /// By physical table as a query engine knows it, `catalog.schema.table` (case-insensitive).
    Table(String),
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProductRefDoc {
    #[serde(skip_serializing_if = "Option::is_none", default)]
    id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none", default)]
    table: Option<String>,
}

impl TryFrom<ProductRefDoc> for ProductRef {
    type Error = &'static str;

    fn try_from(doc: ProductRefDoc) -> Result<Self, Self::Error> {
        match (doc.id, doc.table) {
            (Some(id), None) => Ok(ProductRef::Id(id)),
            (None, Some(table)) => Ok(ProductRef::Table(table)),
            _ => Err("expected exactly one of `id` and `table`"),
        }
    }
}

impl From<ProductRef> for ProductRefDoc {
    fn from(r: ProductRef) -> Self {
        match r {
            ProductRef::Id(id) => Self {
                id: Some(id),
                table: None,
            },
            ProductRef::Table(table) => Self {
                id: None,
                table: Some(table),
            },
        }
    }
}

impl fmt::Display for ProductRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ProductRef::Id(id) => write!(f, "product `{id}`"),
            ProductRef::Table(table) => write!(f, "table `{table}`"),
        }
    }
}

/// May `principal` read `columns` of `product`?
///
/// ```
/// use charter_engine::access::{AccessRequest, Principal, ProductRef};
/// let request = AccessRequest {
///     principal: Principal { id: "ana".into(), roles: vec!["analyst".into()], ..Principal::default() },
///     product: ProductRef::Table("lake.sales.orders".into()),
///     columns: vec!["order_id".into(), "email".into()],
///     purpose: Some("analytics".into()),
///     dialect: None,
/// };
/// assert!(request.check().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccessRequest {
    /// Who asks.
    pub principal: Principal,
    /// Which product.
    pub product: ProductRef,
    /// The columns the query touches; empty means every column of the product.
    #[serde(default)]
    pub columns: Vec<String>,
    /// Why (`analytics`, `support`…), given to policies as `context.purpose`.
    #[serde(default)]
    pub purpose: Option<String>,
    /// The dialect of mask expressions and row filters; the pack's default when `None`.
    #[serde(default)]
    pub dialect: Option<Dialect>,
}

/// A request that cannot be decided because it is malformed (`INVALID_ARGUMENT`, exit 2).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RequestError {
    /// The principal has no id.
    #[error("the principal has no id")]
    MissingPrincipal,
    /// The product reference is empty.
    #[error("the request names no product (give a product id or a table)")]
    MissingProduct,
    /// A column name is empty.
    #[error("column {0} of the request has an empty name")]
    EmptyColumn(usize),
    /// A principal attribute has an empty name.
    #[error("a principal attribute has an empty name")]
    EmptyAttribute,
    /// A role or group is empty.
    #[error("the principal has an empty {0} name")]
    EmptyName(&'static str),
}

impl AccessRequest {
    /// Checks the request is well formed (it says nothing about what it may read).
    ///
    /// # Errors
    /// An empty principal id, product reference, column, role, group or attribute name.
    pub fn check(&self) -> Result<(), RequestError> {
        if self.principal.id.trim().is_empty() {
            return Err(RequestError::MissingPrincipal);
        }
        let product = match &self.product {
            ProductRef::Id(s) | ProductRef::Table(s) => s,
        };
        if product.trim().is_empty() {
            return Err(RequestError::MissingProduct);
        }
        if let Some(i) = self.columns.iter().position(|c| c.is_empty()) {
            return Err(RequestError::EmptyColumn(i + 1));
        }
        if self.principal.roles.iter().any(String::is_empty) {
            return Err(RequestError::EmptyName("role"));
        }
        if self.principal.groups.iter().any(String::is_empty) {
            return Err(RequestError::EmptyName("group"));
        }
        if self.principal.attributes.keys().any(String::is_empty) {
            return Err(RequestError::EmptyAttribute);
        }
        Ok(())
    }
}
