//! One contract's bytes read and evaluated, as `charter check` does per file and the
//! service's `EvaluateContract` per request: a file that cannot be read is one
//! `contract/parse` finding at its line, rules that run out of time one `policy/timeout`,
//! a policy that fails one `policy/error`.

use crate::check::{PARSE_RULE, POLICY_ERROR_RULE, TIMEOUT_RULE};
use crate::contract::{self, Contract, ReaderSettings};
use crate::report::Severity;
use crate::rules::{EvalError, Evaluator};

/// A finding about one contract, before it is placed in a report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContractFinding {
    /// `<area>/<name>`.
    pub rule: String,
    /// Error or warning.
    pub severity: Severity,
    /// What is wrong.
    pub message: String,
    /// 1-based line in the file.
    pub line: u32,
    /// The model path the rule pointed at (`fields[2].masking`), if any.
    pub path: Option<String>,
}

/// What reading and evaluating one contract gave.
#[derive(Debug)]
pub struct Evaluation {
    /// The contract, when it could be read.
    pub contract: Option<Contract>,
    /// Its findings, in the rules' order (a file that cannot be read has one).
    pub findings: Vec<ContractFinding>,
    /// The rules ran out of time (a result that depends on the machine's load).
    pub timed_out: bool,
}

/// Reads `bytes` as the contract file `file` and evaluates the rules on it.
#[must_use]
pub fn evaluate_bytes(
    file: &str,
    bytes: &[u8],
    reader: &ReaderSettings,
    evaluator: &mut Evaluator,
) -> Evaluation {
    evaluate_hashed(file, bytes, blake3::hash(bytes), reader, evaluator)
}

/// [`evaluate_bytes`], with the bytes' hash already computed (the caller keyed a cache by it).
pub(crate) fn evaluate_hashed(
    file: &str,
    bytes: &[u8],
    hash: blake3::Hash,
    reader: &ReaderSettings,
    evaluator: &mut Evaluator,
) -> Evaluation {
    let one = |rule: &str, message: String, line: u32| ContractFinding {
        rule: rule.to_owned(),
        severity: Severity::Error,
        message,
        line,
        path: None,
    };
    let contract = match contract::read_bytes_hashed(file, bytes, reader, hash) {
        Ok(contract) => contract,
        Err(e) => {
            return Evaluation {
                contract: None,
                findings: vec![one(PARSE_RULE, e.message, e.line)],
                timed_out: false,
            };
        }
    };
    let (findings, timed_out) = match evaluator.evaluate_contract(&contract) {
        Ok(found) => (
            found
                .into_iter()
                .map(|(f, line)| ContractFinding {
                    rule: f.rule,
                    severity: f.severity,
                    message: f.message,
                    line,
                    path: f.path,
                })
                .collect(),
            false,
        ),
        Err(e @ EvalError::Timeout(_)) => (vec![one(TIMEOUT_RULE, e.to_string(), 1)], true),
        Err(e @ EvalError::Failed(_)) => (vec![one(POLICY_ERROR_RULE, e.to_string(), 1)], false),
    };
    Evaluation {
        contract: Some(contract),
        findings,
        timed_out,
    }
}
