//! `charter export`: the decisions Charter would make, compiled for engines that cannot
//! call a decision service at query time (Snowflake, Databricks Unity Catalog, Apache
//! Ranger, OPA answering Trino).
//!
//! [`compile`] asks the access engine itself, for synthetic principals made of the roles
//! and groups that can matter (the contract's roles, its owner, the string literals of the
//! pack's Cedar policies, the exempt roles of the settings' attribute filters), what each
//! may read of every physical table, and reduces the answers to roles and groups
//! ([`ExportModel`]). Where the answers depend on anything else (the principal's id, an
//! attribute, the purpose), or are not monotone in roles and groups, or the row filters are
//! not the settings' attribute filters, the table is refused ([`Refusal`]) naming the
//! product and the policies: never a silently weaker policy. Renderers
//! ([`snowflake`], [`unity`], [`ranger`], [`trino_rego`]) turn the model into each
//! engine's policies, one file per table.

mod actions;
mod compile;
mod model;
mod probe;
pub mod ranger;
pub mod snowflake;
mod sql;
pub mod trino_rego;
pub mod unity;

pub use compile::{ExportError, compile, compile_with_directory};
pub use model::{
    AttributeFilter, ColumnExport, ExportModel, ExportedFile, Mask, Refusal, Rendered, TableExport,
    Term,
};
