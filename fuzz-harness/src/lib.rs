//! The fuzz targets' bodies, as plain functions that panic when an invariant breaks.
//!
//! `fuzz/fuzz_targets/*.rs` hand them the fuzzer's bytes; `tests/regressions.rs` replays
//! the seed corpus and every input a fuzzer ever found (`fuzz/regressions/`) through
//! them in the normal test suite, so a fixed crash stays fixed.
//!
//! Each target takes untrusted input the way Charter does in production: contract files
//! through the readers, access requests as protobuf bytes through the service's own
//! validation and snapshot, normalized contracts through the compiled default rules.

// A fuzz harness reports a broken invariant the way libFuzzer sees it: by panicking.
#![allow(clippy::panic)]

use std::cell::RefCell;
use std::path::PathBuf;
use std::sync::OnceLock;

use arbitrary::{Arbitrary, Unstructured};
use charter_cli::serve::convert;
use charter_cli::serve::snapshot::{Snapshot, Sources};
use charter_engine::contract::{Product, ReaderSettings, read_bytes};
use charter_engine::reading::Reading;
use charter_engine::rules::{EvalError, Evaluator, RuleEngine, RuleSet, RuleSetOptions};
use charter_proto::v1 as pb;
use prost::Message as _;

/// The most columns a fuzzed request may name (the service's default limit).
const MAX_COLUMNS: usize = 1000;

/// The repository root (the harness lives in `fuzz-harness/`).
#[must_use]
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A contract file's bytes through the readers: every file is a contract or a parse
/// error with a line inside the file, and a contract serializes and locates its values.
///
/// # Panics
/// When an invariant breaks (that is the point).
pub fn contract_read(data: &[u8]) {
    let settings = ReaderSettings::default();
    // YAML ends lines at LF, CR LF or a lone CR; counting every CR and LF bounds that.
    let lines = data.iter().filter(|&&b| b == b'\n' || b == b'\r').count() + 1;
    match read_bytes("fuzz.yaml", data, &settings) {
        Ok(contract) => {
            assert!(
                !contract.product.source.format.is_empty(),
                "a contract names its format"
            );
            assert_eq!(contract.product.source.file, "fuzz.yaml");
            let json = serde_json::to_value(&contract.product);
            assert!(json.is_ok(), "the product serializes: {json:?}");
            for (path, line) in contract.locations.all(&contract.product) {
                assert!(
                    (1..=lines).contains(&(line as usize)),
                    "{path} at line {line} of {lines}"
                );
            }
        }
        Err(e) => {
            assert!(!e.message.is_empty(), "a parse error says what is wrong");
            assert!(
                (1..=lines).contains(&(e.line as usize)),
                "parse error at line {} of {lines}: {}",
                e.line,
                e.message
            );
        }
    }
}

/// The service's snapshot of the sample mesh with the default pack, built once.
fn snapshot() -> &'static Snapshot {
    static SNAPSHOT: OnceLock<Snapshot> = OnceLock::new();
    SNAPSHOT.get_or_init(|| {
        let sources = Sources {
            mesh: repo().join("testdata/mesh"),
            policies: None,
            limits: Reading::default(),
            principals: None,
        };
        match charter_cli::serve::snapshot::build(&sources) {
            Ok(snapshot) => snapshot,
            Err(e) => panic!("the sample mesh does not load: {e:#}"),
        }
    })
}

/// Protobuf bytes through the path `CheckAccess` takes: decode, validate and convert,
/// decide (or explain) with the service's snapshot, convert back. A request is either
/// refused as malformed or decided; an allowed product never carries a denied column,
/// a masked column always has its SQL, and nothing allowed comes without a reason to
/// trust it (an unknown product or column is never allowed).
///
/// # Panics
/// When an invariant breaks.
pub fn access_decide(data: &[u8]) {
    let _ = access_decided(data);
}

/// [`access_decide`], telling whether the input got as far as a decision whose
/// invariants were checked (a seed that stops short tests nothing).
///
/// # Panics
/// When an invariant breaks.
pub fn access_decided(data: &[u8]) -> bool {
    let Ok(message) = pb::AccessRequest::decode(data) else {
        return false;
    };
    let Ok(valid) = convert::access_request(message, MAX_COLUMNS, "") else {
        return false;
    };
    let snapshot = snapshot();
    let decided = if valid.explain {
        snapshot.access.explain(&valid.request)
    } else {
        snapshot.access.decide(&valid.request)
    };
    let Ok(decision) = decided else {
        return false;
    };
    let wire = convert::decision(decision, &snapshot.revision);
    assert!(!wire.decision_id.is_empty(), "every decision has an id");
    let effect = |c: &pb::ColumnDecision| pb::ColumnEffect::try_from(c.effect).ok();
    let denied = wire
        .columns
        .iter()
        .filter(|c| effect(c) == Some(pb::ColumnEffect::Deny))
        .count();
    match pb::Outcome::try_from(wire.decision) {
        Ok(pb::Outcome::Allow) => {
            assert!(!wire.product_id.is_empty(), "allowed, so known: {wire:?}");
            assert_eq!(denied, 0, "allowed with a denied column: {wire:?}");
        }
        Ok(pb::Outcome::Partial) => {
            assert!(
                !wire.product_id.is_empty(),
                "partly allowed, so known: {wire:?}"
            );
            assert!(
                denied > 0 && denied < wire.columns.len(),
                "partial means some columns and not others: {wire:?}"
            );
        }
        Ok(pb::Outcome::Deny) => {
            assert!(!wire.reasons.is_empty(), "a denial says why: {wire:?}");
            assert_eq!(
                denied,
                wire.columns.len(),
                "denied, yet a column is readable: {wire:?}"
            );
        }
        other => panic!("not an outcome: {other:?} in {wire:?}"),
    }
    for column in &wire.columns {
        match effect(column) {
            Some(pb::ColumnEffect::Mask) => assert!(
                !column.mask_method.is_empty() && !column.mask_expression.is_empty(),
                "a masked column says how: {column:?}"
            ),
            Some(pb::ColumnEffect::Deny) => {
                assert!(
                    !column.reasons.is_empty(),
                    "a denied column says why: {column:?}"
                );
            }
            Some(pb::ColumnEffect::Allow) => {}
            other => panic!("not a column effect: {other:?} in {column:?}"),
        }
        if !valid.request.columns.is_empty() {
            assert!(
                valid.request.columns.contains(&column.name),
                "only requested columns are answered: {column:?}"
            );
        }
    }
    true
}

/// The default contract rules, compiled once to bytecode and once for the interpreter.
fn rules() -> &'static (RuleSet, RuleSet) {
    static RULES: OnceLock<(RuleSet, RuleSet)> = OnceLock::new();
    RULES.get_or_init(|| {
        let pack = match charter_cli::policies::load(None, false) {
            Ok(pack) => pack,
            Err(e) => panic!("the default pack does not load: {e:#}"),
        };
        let compile = |engine| match RuleSet::compile(
            &pack,
            RuleSetOptions {
                engine,
                ..RuleSetOptions::default()
            },
        ) {
            Ok(rules) if rules.engine_kind() == engine => rules,
            Ok(_) => panic!("the default pack does not compile for {engine:?}"),
            Err(e) => panic!("the default pack does not compile: {e}"),
        };
        (
            compile(RuleEngine::Compiled),
            compile(RuleEngine::Interpreter),
        )
    })
}

/// An arbitrary normalized contract through the compiled default rules: the rules
/// either answer with findings of known rules, or fail with an error that becomes a
/// finding (`policy/error`, `policy/timeout`); they never panic. The bytecode machine and
/// the interpreter agree: the same findings in the same order, or both an error.
///
/// # Panics
/// When an invariant breaks.
pub fn rule_eval(data: &[u8]) {
    let Ok(product) = Product::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    thread_local! {
        static EVALUATORS: RefCell<(Evaluator, Evaluator)> =
            RefCell::new((rules().0.evaluator(), rules().1.evaluator()));
    }
    let known = rules().0.catalog();
    EVALUATORS.with_borrow_mut(|(compiled, interpreted)| {
        let fast = compiled.evaluate(&product);
        let slow = interpreted.evaluate(&product);
        match (&fast, &slow) {
            (Ok(fast), Ok(slow)) => {
                assert_eq!(
                    fast, slow,
                    "the compiled rules and the interpreter disagree"
                );
                for finding in fast {
                    assert!(
                        known.contains_key(&finding.rule),
                        "finding of an unknown rule `{}`",
                        finding.rule
                    );
                    assert!(!finding.message.is_empty(), "{finding:?}");
                }
            }
            // How long a rule takes depends on the machine's load.
            (Err(EvalError::Timeout(_)), _) | (_, Err(EvalError::Timeout(_))) => {}
            (Err(EvalError::Failed(_)), Err(EvalError::Failed(_))) => {}
            _ => panic!("the compiled rules give {fast:?}, the interpreter {slow:?}"),
        }
    });
}
