//! Reports: findings gathered into one model, and one renderer per output format.

mod finding;
mod model;
pub mod plan;
#[cfg(feature = "render")]
pub mod render;

pub use finding::{Finding, Severity, Waived};
pub use model::{
    DomainSummary, ProductSummary, REPORT_VERSION, Report, RuleInfo, Summary, WaiverStatus,
};
#[cfg(feature = "render")]
pub use render::{Format, RenderOptions, render};
