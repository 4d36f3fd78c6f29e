//! Access decisions: Cedar ABAC over the mesh, with column masks and row filters.
//!
//! A query engine asks: may this principal read these columns of this data product;
//! which come back in clear, which masked and how, which not at all; which row
//! filter applies? The answer is a [`Decision`].
//!
//! - [`AccessPolicies`]: the pack's Cedar schema and policies (strictly validated,
//!   each with an `@id`), access settings and the compiled row-filter rule, prepared
//!   once per pack revision;
//! - [`AccessEngine`]: those policies plus Cedar entities for every domain, product
//!   and column of a mesh, built once per mesh revision; `Send + Sync`. Building also
//!   plans each question (Cedar partial evaluation with the principal unknown), so that
//!   a request asks Cedar only what depends on its principal;
//! - [`AccessRequest`] → [`AccessEngine::decide`] → [`Decision`].
//!
//! Anything that cannot be decided (an unknown product or column, a PII column
//! without a masking method, a masking method Charter cannot express, a Cedar
//! evaluation error, a row-filter rule that fails, runs past its time limit or returns
//! something else than filters) is denied, with a reason.
//!
//! The Cedar model (see `policies/cedar/charter.cedarschema`): `Domain`,
//! `DataProduct in [Domain]`, `Column in [DataProduct]`, `User` (roles and groups as
//! attributes, request attributes as tags); actions `query` (on a product), `read`
//! and `readMasked` (on a column). Row filters come from the Rego rule
//! `data.charter.access.row_filters`.

mod ask;
pub mod authzen;
mod cedar_direct;
mod decision;
mod directory;
mod engine;
mod entities;
mod error;
mod evaluate;
mod mask;
mod policies;
mod product_action;
mod request;
mod row_filter;
mod row_filter_input;
mod row_filter_memo;
mod settings;
pub mod trino;

pub use cedar_direct::OtherResource;
pub use decision::{
    ColumnDecision, ColumnEffect, Decision, Evaluation, Explanation, Outcome, PolicyEvaluation,
    PolicyOutcome, ProductDecision, ProductEffect, Reason, Revision, RowFilter,
};
pub use directory::{Directory, DirectoryError, DirectoryGroup, DirectoryUser};
pub use engine::AccessEngine;
pub use error::AccessError;
pub use mask::{Dialect, MaskMethod, UnknownDialect, quote_identifier, quote_literal};
pub use policies::{AccessPolicies, PolicyInfo};
pub use product_action::ActionDecision;
pub use request::{AccessRequest, Principal, ProductRef, RequestError};
pub use row_filter::ROW_FILTERS_RULE;
