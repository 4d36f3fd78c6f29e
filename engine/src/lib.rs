//! Charter's engine: everything that decides, and nothing that serves or prints to a terminal.
//!
//! - [`contract`]: data-product contracts read from their formats into one model;
//! - [`fsread`]: reading files of an untrusted tree (regular files only, bounded, confined);
//! - [`mesh`]: a repository of contracts, loaded and indexed;
//! - [`pack`]: the policy pack (Rego, Cedar, central settings) and its revision;
//! - [`rules`]: Rego contract rules evaluated with regorus into findings;
//! - [`access`]: Cedar access decisions with column masks and row filters;
//! - [`snapshot`]: a pack and a mesh built into the engines that answer requests, once per
//!   revision;
//! - [`bundle`]: policy bundles (OPA's format), signed and verified;
//! - [`report`]: findings gathered into a report;
//! - [`render`] (feature `render`): every document above written as text, JSON, SARIF, JUnit
//!   XML, GitHub annotations, Markdown or HTML.
#![deny(missing_docs)]

pub mod access;
pub mod authoring;
pub mod bundle;
pub mod cache;
pub mod check;
pub mod contract;
pub mod diff;
pub mod error;
pub mod evaluation;
pub mod export;
pub mod fsread;
pub mod impact;
pub mod mesh;
pub mod mesh_rules;
pub mod pack;
pub(crate) mod projection;
pub mod reading;
#[cfg(feature = "render")]
pub mod render;
pub mod report;
pub mod rules;
pub mod snapshot;
pub mod waiver;

// A dependency only for the features regorus needs of it (see Cargo.toml).
use regex as _;

pub use error::PackError;
pub use pack::PolicyPack;
