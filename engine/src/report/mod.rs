//! Reports: findings gathered into one model ([`crate::render`] writes it in every format).

mod finding;
mod model;
pub mod plan;

pub use finding::{Finding, Severity, Waived};
pub use model::{
    DomainSummary, ProductSummary, REPORT_VERSION, Report, RuleInfo, Summary, WaiverStatus,
};
