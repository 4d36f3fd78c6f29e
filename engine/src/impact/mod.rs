//! The policy impact preview: what a change to the policies does to the report of a whole
//! repository, before it is merged.
//!
//! [`Impact::compare`] takes the report of one repository under the old policies and under the
//! new ones, and lists the findings that appear, disappear or change severity, per domain and
//! per rule, with totals. [`render`](crate::render::render) writes it as `text` (optionally coloured), `json` (a
//! stable document, [`IMPACT_VERSION`]) or `markdown` (a pull-request comment).
//!
//! ```
//! use std::collections::BTreeMap;
//! use charter_engine::impact::Impact;
//! use charter_engine::render::{Format, Options, render};
//! use charter_engine::report::Report;
//!
//! let old = Report::new("old", Vec::new(), Vec::new(), 0, BTreeMap::new());
//! let new = Report::new("new", Vec::new(), Vec::new(), 0, BTreeMap::new());
//! let impact = Impact::compare(&old, &new);
//! let mut out = Vec::new();
//! render(&impact, Format::Text, &Options::default(), &mut out)?;
//! assert!(String::from_utf8_lossy(&out).contains("no finding added, removed or re-graded"));
//! # Ok::<(), charter_engine::render::RenderError>(())
//! ```

mod model;

pub use model::{
    Change, ChangeKind, Counts, DomainImpact, Figures, IMPACT_VERSION, Impact, RuleImpact, Totals,
};
