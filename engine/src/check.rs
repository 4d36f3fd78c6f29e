//! Checking contracts: read every file, evaluate the contract rules in parallel, gather a report.

use rayon::prelude::*;

use crate::cache::{Cache, CacheConfig, CachedProduct, CachedResult};
use crate::contract::{self, ReaderSettings};
use crate::evaluation::{ContractFinding, evaluate_hashed};
use crate::mesh::ContractFile;
use crate::report::{Finding, Report, RuleInfo, Severity};
use crate::rules::RuleSet;

/// How a check runs.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// The result cache (its folder and key); `None` disables the cache.
    pub cache: Option<CacheConfig>,
}

/// Receives progress while contracts are checked (a progress bar, or nothing).
pub trait Progress: Sync {
    /// `total` files are about to be checked.
    fn start(&self, total: usize);
    /// One more file is done.
    fn advance(&self);
    /// All done.
    fn finish(&self);
}

/// No progress reporting.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn start(&self, _: usize) {}
    fn advance(&self) {}
    fn finish(&self) {}
}

/// The rule id of a file that is not a readable contract.
pub const PARSE_RULE: &str = "contract/parse";
/// The rule id of a contract whose evaluation ran out of time.
pub const TIMEOUT_RULE: &str = "policy/timeout";
/// The rule id of a contract whose evaluation failed in a policy.
pub const POLICY_ERROR_RULE: &str = "policy/error";

/// Checks `files` against the contract rules and builds the report.
#[must_use]
pub fn check_files(
    files: &[ContractFile],
    rules: &RuleSet,
    reader: &ReaderSettings,
    options: &CheckOptions,
    progress: &dyn Progress,
) -> Report {
    let (run, save) = check_unsaved::<()>(files, rules, reader, options, progress, None);
    PendingSave::write_now(save);
    run.report
}

/// The outcome of a check that keeps what a repository-wide stage needs.
#[derive(Debug)]
pub struct CheckRun<T = contract::Contract> {
    /// The report of the per-contract rules.
    pub report: Report,
    /// What was kept of each contract read in this run (files served from the cache were
    /// not read).
    pub contracts: Vec<T>,
    /// Contract files served from the cache, to read if a later stage needs them.
    pub cached: Vec<ContractFile>,
    /// A content hash of every file checked (paths and bytes): equal fingerprints, equal repositories.
    pub fingerprint: String,
}

/// As [`check_files`], keeping the contracts read and a fingerprint of the files, for the
/// repository-wide stages of `charter report`.
#[must_use]
pub fn check_files_keeping_contracts(
    files: &[ContractFile],
    rules: &RuleSet,
    reader: &ReaderSettings,
    options: &CheckOptions,
    progress: &dyn Progress,
) -> CheckRun {
    let (run, save) = check_unsaved(files, rules, reader, options, progress, Some(&|_, c| c));
    PendingSave::write_now(save);
    run
}

/// As [`check_files_keeping_contracts`], keeping only `keep(file, contract)` of each
/// contract read (while it is checked, on the thread that read it).
#[must_use]
pub fn check_files_keeping<T: Send>(
    files: &[ContractFile],
    rules: &RuleSet,
    reader: &ReaderSettings,
    options: &CheckOptions,
    progress: &dyn Progress,
    keep: &(dyn Fn(&ContractFile, contract::Contract) -> T + Sync),
) -> CheckRun<T> {
    let (run, save) = check_unsaved(files, rules, reader, options, progress, Some(keep));
    PendingSave::write_now(save);
    run
}

/// Results computed in a run, still to be written to the result cache.
#[derive(Debug)]
pub(crate) struct PendingSave {
    cache: Cache,
    fresh: Vec<(String, CachedResult)>,
}

impl PendingSave {
    /// Writes the results. A cache that cannot be written only makes the next run cold.
    pub(crate) fn write(self) {
        let _ = self.cache.save(self.fresh);
    }

    /// Writes `save`, if there is one.
    fn write_now(save: Option<Self>) {
        if let Some(save) = save {
            save.write();
        }
    }
}

/// The most files one task of the per-contract stage checks (or reads again, in
/// `charter report`). Without a bound, rayon hands a thread a run of files it cannot share
/// once the other threads are idle: on 10,000 files of the report bench, one core checked
/// the last ~300 of them alone (~100 ms). A task's own cost (a bytecode machine, a few
/// microseconds) is paid ~300 times.
pub(crate) const MAX_FILES_A_TASK: usize = 32;

/// What to keep of each contract read, if anything.
pub(crate) type Keep<'a, T> = Option<&'a (dyn Fn(&ContractFile, contract::Contract) -> T + Sync)>;

/// Checks `files`, keeping what `keep` says of each contract read, and leaves the results
/// to write to the cache to the caller, which can write them while it does other work
/// (`charter report`: while the repository-wide rules run, which keep only one core busy
/// towards their end).
pub(crate) fn check_unsaved<T: Send>(
    files: &[ContractFile],
    rules: &RuleSet,
    reader: &ReaderSettings,
    options: &CheckOptions,
    progress: &dyn Progress,
    keep: Keep<'_, T>,
) -> (CheckRun<T>, Option<PendingSave>) {
    let cache = options
        .cache
        .as_ref()
        .map(|config| Cache::open(config, &cache_revision(rules, reader)));
    progress.start(files.len());
    let results: Vec<Checked<T>> = files
        .par_iter()
        .with_max_len(MAX_FILES_A_TASK)
        .map_init(
            || rules.evaluator(),
            |evaluator, file| {
                let result = check_one(file, evaluator, reader, cache.as_ref(), keep);
                progress.advance();
                result
            },
        )
        .collect();
    progress.finish();

    let mut products = Vec::new();
    let mut findings = Vec::new();
    let mut unreadable = 0;
    let mut fresh = Vec::new();
    let mut contracts = Vec::new();
    let mut cached = Vec::new();
    let mut fingerprint = blake3::Hasher::new();
    for (checked, file_entry) in results.into_iter().zip(files) {
        let Checked {
            key,
            result,
            fresh: is_fresh,
            kept,
        } = checked;
        fingerprint.update(key.as_bytes());
        fingerprint.update(b"\n");
        if let Some(kept) = kept {
            contracts.push(kept);
        } else if keep.is_some() && result.product.is_some() {
            cached.push(file_entry.clone());
        }
        match &result.product {
            Some(p) => products.push(p.summary(&file_entry.display)),
            None => unreadable += 1,
        }
        if is_fresh && cache.is_some() {
            findings.extend(result.findings.iter().cloned());
            fresh.push((key, result));
        } else {
            findings.extend(result.findings);
        }
    }
    let save = cache.map(|cache| PendingSave { cache, fresh });
    let mut catalog = rules.catalog().clone();
    add_builtin_rules(&mut catalog);
    let run = CheckRun {
        report: Report::new(rules.revision(), products, findings, unreadable, catalog),
        contracts,
        cached,
        fingerprint: fingerprint.finalize().to_hex().to_string(),
    };
    (run, save)
}

/// What cached results depend on besides the file: the policies and the limits.
fn cache_revision(rules: &RuleSet, reader: &ReaderSettings) -> String {
    let l = &reader.limits;
    format!(
        "{}+limits:{}:{}:{}:{}",
        rules.revision(),
        l.max_file_size,
        l.max_line_length,
        l.max_depth,
        l.max_nodes
    )
}

/// What checking one file produced.
struct Checked<T> {
    /// The cache key: file and content hash.
    key: String,
    result: CachedResult,
    /// Computed now, rather than taken from the cache.
    fresh: bool,
    /// What the caller keeps of the contract, when it was read.
    kept: Option<T>,
}

/// Reads and evaluates one file (or takes its result from the cache).
fn check_one<T>(
    file: &ContractFile,
    evaluator: &mut crate::rules::Evaluator,
    reader: &ReaderSettings,
    cache: Option<&Cache>,
    keep: Keep<'_, T>,
) -> Checked<T> {
    let bytes = match crate::mesh::read_limited(file, &reader.limits) {
        Ok(bytes) => bytes,
        Err(message) => {
            let finding = ContractFinding {
                rule: PARSE_RULE.into(),
                severity: Severity::Error,
                message,
                line: 1,
                path: None,
            };
            return Checked {
                key: Cache::key(&file.display, ""),
                result: result(file, None, vec![finding]),
                fresh: false,
                kept: None,
            };
        }
    };
    let hash = blake3::hash(&bytes);
    let key = Cache::key(&file.display, hash.to_hex().as_str());
    if let Some(hit) = cache.and_then(|c| c.get(&key)) {
        return Checked {
            key,
            result: hit.clone(),
            fresh: false,
            kept: None,
        };
    }
    let evaluation = evaluate_hashed(&file.display, &bytes, hash, reader, evaluator);
    let product = evaluation.contract.as_ref().map(|c| &c.product);
    Checked {
        key,
        result: result(file, product, evaluation.findings),
        // A timeout depends on the machine's load as much as on the contract: never cached.
        fresh: !evaluation.timed_out,
        // A kept contract's lines are rarely asked again (only for a repository-wide
        // finding): its line index goes, and is rebuilt if they are.
        kept: keep.and_then(|keep| {
            evaluation.contract.map(|mut contract| {
                contract.locations.forget_index();
                keep(file, contract)
            })
        }),
    }
}

/// A file's result: its product (when it could be read) and its findings placed in it.
fn result(
    file: &ContractFile,
    product: Option<&contract::Product>,
    findings: Vec<ContractFinding>,
) -> CachedResult {
    CachedResult {
        product: product.map(|p| CachedProduct {
            id: p.id.clone(),
            domain: p.domain.clone(),
            format: p.source.format.clone(),
        }),
        findings: findings
            .into_iter()
            .map(|f| Finding {
                rule: f.rule,
                severity: f.severity,
                message: f.message,
                product: product.map(|p| p.id.clone()),
                domain: product.map(|p| p.domain.clone()),
                file: file.display.clone(),
                line: f.line,
                waiver: None,
            })
            .collect(),
    }
}

fn add_builtin_rules(catalog: &mut std::collections::BTreeMap<String, RuleInfo>) {
    let builtin = [
        (
            PARSE_RULE,
            "Contract cannot be read",
            "The file is not valid YAML, is not a known contract format, or has values of the wrong type.",
            "Fix the file at the reported line; `charter inspect FILE` shows how Charter reads it.",
        ),
        (
            TIMEOUT_RULE,
            "Rule evaluation timed out",
            "Evaluating the rules on this contract took longer than the time limit.",
            "Report it to the policy authors: a rule is too slow for this contract.",
        ),
        (
            POLICY_ERROR_RULE,
            "Rule evaluation failed",
            "A policy raised an error while evaluating this contract.",
            "Report it to the policy authors with the message.",
        ),
    ];
    for (id, title, description, remediation) in builtin {
        catalog.entry(id.to_owned()).or_insert_with(|| RuleInfo {
            id: id.to_owned(),
            severity: Some(Severity::Error),
            title: Some(title.to_owned()),
            description: Some(description.to_owned()),
            remediation: Some(remediation.to_owned()),
        });
    }
}
