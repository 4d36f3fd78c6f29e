//! Breaking changes: what changed between two versions of a product, classified, and the
//! versioning findings the changes call for.
//!
//! [`diff`] compares two normalized [`Product`](crate::contract::Product)s and returns one
//! [`Change`] per difference, each of a [`ChangeKind`] with a stable snake_case id and a
//! [`ChangeClass`]:
//!
//! - **breaking** — consumers' queries or assumptions break: a field removed, its type
//!   changed, a nullable field made required, the primary key changed, uniqueness
//!   tightened, a physical table removed, the product id changed;
//! - **governance** — the product protects its data less well than it promised: a PII
//!   flag removed, masking removed or weakened, the product's or a field's classification
//!   lowered, retention lengthened (or removed), freshness lengthened (or removed),
//!   availability lowered (or removed), the owner removed;
//! - **compatible** — additions and relaxations: a field added, made nullable, its
//!   uniqueness relaxed; PII flags, masking and classification added or strengthened;
//!   retention, freshness and availability tightened or declared; the owner, status, tags,
//!   lineage, access, quality checks, a field's tags or transform changed; a table added.
//!
//! Fields are matched by name (a rename is a removal and an addition) and field order is
//! not a change. Orders of strength used for "lowered" and "weakened" (case-insensitive):
//!
//! - masking: `nullify` > `redact` > `hash` > `last4` > none. `nullify` reveals nothing,
//!   `redact` a placeholder, `hash` keeps values joinable, `last4` shows part of the value;
//! - classification: `restricted` > `confidential` > `internal` > `public` > none.
//!
//! A masking method or classification outside these orders cannot be ranked: a change to or
//! from one is classified as weakened / lowered (fail closed).
//!
//! [`versioning_findings`] turns the changes into `versioning/*` findings (see
//! [`RULE_BREAKING_WITHOUT_MAJOR`] and its siblings) at the changed key's line of the new
//! file, and [`compare_with_base`] does it for a whole mesh against the files of a base
//! revision (the caller reads them, e.g. with `git`).
//!
//! ```
//! use charter_engine::contract::{Field, Product};
//! use charter_engine::diff::{ChangeClass, ChangeKind, diff};
//!
//! let field = |name: &str, nullable| Field { name: name.into(), nullable, ..Field::default() };
//! let old = Product { fields: vec![field("id", false), field("email", true)], ..Product::default() };
//! let new = Product { fields: vec![field("id", false)], ..Product::default() };
//! let changes = diff(&old, &new);
//! assert_eq!(changes[0].kind, ChangeKind::FieldRemoved);
//! assert_eq!(changes[0].class, ChangeClass::Breaking);
//! assert_eq!(changes[0].path, "fields[1]");
//! ```

mod base;
mod change;
mod classify;
mod document;
mod versioning;

pub use base::{BaseFile, compare_with_base};
pub use change::{Change, ChangeClass, ChangeKind, Side, UnknownChangeKind};
pub use classify::{classification_rank, diff, masking_rank};
pub use document::{DiffDocument, DiffSummary, LocatedChange, VersionOf};
pub use versioning::{
    Bump, RULE_BREAKING_WITHOUT_MAJOR, RULE_CHANGE_WITHOUT_BUMP, RULE_PRODUCT_REMOVED,
    RULE_VERSION_DECREASED, bump, removal_finding, rules, versioning_findings,
};
