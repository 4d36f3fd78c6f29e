//! Policy authoring: what a central policy author runs before a pack is merged.
//!
//! - [`validate`]: the pack's Rego parses and compiles (each problem with file, line and
//!   column), follows Charter's conventions (packages, `deny_`/`warn_` rule shapes,
//!   `# METADATA`), means the same in regorus and OPA; its Cedar policies validate strictly
//!   against the schema; its settings have the shape the default pack reads. → [`Validation`]
//! - [`run_tests`]: Rego `test_*` rules (`todo_*` skipped), rule cases
//!   (`tests/rules/*.yaml`, see [`crate::rules::run_case_file`]) and access cases
//!   (`tests/access/*.yaml`, see [`AccessCaseFile`]), with Rego line [`Coverage`]. →
//!   [`TestReport`]
//! - both are documents of [`crate::render`], as is the rule catalogue
//!   ([`crate::render::Catalog`]).
//!
//! ```
//! use charter_engine::PolicyPack;
//! use charter_engine::authoring::{TestOptions, run_tests};
//!
//! let pack = PolicyPack::from_files([
//!     ("rego/rules/x.rego", "package charter.rules.x\n\ndouble(n) := n * 2\n"),
//!     (
//!         "rego/rules/x_test.rego",
//!         "package charter.rules.x_test\n\nimport data.charter.rules.x\n\ntest_double if x.double(2) == 4\n",
//!     ),
//! ])?;
//! let report = run_tests(&pack, &TestOptions::default())?;
//! assert_eq!(report.summary.rego.passed, 1);
//! assert!(report.passed());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod access_cases;
pub(crate) mod ast;
mod cedar_check;
mod conventions;
mod coverage;
mod diagnostic;
mod portability;
mod problem;
mod rego_check;
mod rego_tests;
mod rule_cases;
mod settings_shape;
mod suite;
mod test_report;
mod validate;
pub(crate) mod vm_semantics;

pub use access_cases::{AccessCase, AccessCaseFile, AccessExpect, ColumnExpect};
pub use coverage::{Coverage, FileCoverage};
pub use problem::{Check, Checked, Problem, ProblemCounts, VALIDATION_VERSION, Validation};
pub use suite::{TestError, TestOptions, run_tests};
pub use test_report::{
    TEST_REPORT_VERSION, TestCounts, TestKind, TestReport, TestResult, TestStatus, TestSummary,
};
pub use validate::{ValidateOptions, unloadable, validate};
