//! Rego contract rules, evaluated with regorus.
//!
//! Conventions (Conftest's, which policy authors know): packages `charter.rules.<area>`,
//! rules `deny_<name>` (error) and `warn_<name>` (warning), each a set of messages or of
//! `{msg, path?}` objects; the rule id is `<area>/<name>`; the central settings are at
//! `data.charter.settings`. The pack is compiled once ([`RuleSet::compile`]); each worker
//! takes an [`Evaluator`] (a clone of the prepared engine) and evaluates the whole
//! `data.charter.rules` tree in one query per contract.

mod cases;
pub(crate) mod catalog;
mod compiled;
mod eval;
pub(crate) mod rego_value;

pub use cases::{CaseOutcome, CaseResult, RuleCaseFile, run_case_file};
pub(crate) use catalog::rule_heads;
pub use catalog::{catalog, catalog_of};
pub use eval::{EvalError, Evaluator, RawFinding, RuleEngine, RuleSet, RuleSetOptions};

pub(crate) use eval::{
    converted_input, eval_error, findings_of_rule, has_package, prepared_engine, timer,
};
