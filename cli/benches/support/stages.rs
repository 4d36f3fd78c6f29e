//! Where a contract's CPU goes: the per-contract pipeline of `charter check`, stage by
//! stage, in this process on one thread. The files are read into memory first, so the
//! figures hold no file I/O.
//!
//! 1. **read**: bytes → model (format sniff, limits, YAML, normalization);
//! 2. **input**: model → the Rego `input` value (the part of it the pack reads);
//! 3. **rules**: every contract rule of the pack (the default one, or `CHARTER_BENCH_POLICIES`)
//!    on that input;
//! 4. **lines**: the lines of a contract's findings, looked up at once (only contracts with
//!    findings pay, and the file is parsed no further than the last path asked for).
//!
//! Then the second stage of `charter report`: what the repository-wide rules keep of each
//! contract (its projection, one thread), and those rules over all of them (in parallel,
//! on every core, as `report` runs them).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use charter_engine::PolicyPack;
use charter_engine::contract::{Contract, read_bytes};
use charter_engine::mesh::{LoadOptions, discover};
use charter_engine::mesh_rules::{MeshProduct, MeshRules};
use charter_engine::reading::Reading;
use charter_engine::rules::{RawFinding, RuleSet, RuleSetOptions};

/// The total time of each stage over every contract of a mesh.
pub struct Stages {
    pub contracts: usize,
    /// Contracts with at least one finding (those whose lines were looked up).
    pub with_findings: usize,
    pub findings: usize,
    pub read: Duration,
    pub input: Duration,
    pub rules: Duration,
    pub lines: Duration,
    /// Taking every contract's projection for the repository-wide rules.
    pub projection: Duration,
    /// The repository-wide rules over every projection (wall time, all cores).
    pub mesh_rules: Duration,
    pub mesh_findings: usize,
}

impl Stages {
    /// Microseconds a contract for a stage's total.
    pub fn per_contract(&self, total: Duration) -> f64 {
        total.as_secs_f64() * 1e6 / self.contracts.max(1) as f64
    }
}

/// Runs each stage over every contract under `root`, on this thread, with the default pack
/// or the pack in `policies`.
///
/// # Errors
/// The pack does not load, a file cannot be found or read, a contract does not read, or a
/// rule fails: the bench mesh has none of these, so it is a broken setup.
pub fn measure(root: &Path, policies: Option<&Path>) -> Result<Stages, String> {
    let pack = match policies {
        Some(dir) => PolicyPack::from_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?,
        None => {
            let files: BTreeMap<String, &str> = charter_policies::files().into_iter().collect();
            PolicyPack::from_files(files).map_err(|e| e.to_string())?
        }
    };
    let rules_set =
        RuleSet::compile(&pack, RuleSetOptions::default()).map_err(|e| e.to_string())?;
    let reading = Reading::default();
    let settings = reading.reader(pack.settings());
    let found = discover(root, &LoadOptions::default()).map_err(|e| e.to_string())?;
    let mut texts = Vec::with_capacity(found.len());
    for file in &found {
        let bytes = reading.read_file(&file.path)?;
        texts.push((file.display.clone(), bytes));
    }

    let start = Instant::now();
    let mut contracts: Vec<Contract> = Vec::with_capacity(texts.len());
    for (name, bytes) in &texts {
        contracts.push(read_bytes(name, bytes, &settings).map_err(|e| format!("{name}: {e}"))?);
    }
    let read = start.elapsed();

    let start = Instant::now();
    for contract in &contracts {
        rules_set.input_of(contract)?;
    }
    let input = start.elapsed();

    let mut evaluator = rules_set.evaluator();
    let start = Instant::now();
    let mut results: Vec<Vec<RawFinding>> = Vec::with_capacity(contracts.len());
    for contract in &contracts {
        let value = rules_set.input_of(contract)?;
        results.push(evaluator.evaluate_input(value).map_err(|e| e.to_string())?);
    }
    let rules = start.elapsed();

    let start = Instant::now();
    let mut last_line = 0;
    for (contract, found) in contracts.iter().zip(&results) {
        // As the report places them: a contract's findings at once.
        let paths: Vec<&str> = found
            .iter()
            .map(|f| f.path.as_deref().unwrap_or("id"))
            .collect();
        last_line = contract
            .locations
            .lines(&paths)
            .last()
            .copied()
            .unwrap_or(0);
    }
    let lines = start.elapsed();
    std::hint::black_box(last_line);

    let repository_rules = MeshRules::from_rules(&rules_set, &pack)
        .map_err(|e| e.to_string())?
        .ok_or("the pack has no repository-wide rules")?;
    let keeper = repository_rules.keeper();
    let start = Instant::now();
    let products: Vec<MeshProduct> = contracts.iter().map(|c| keeper.keep(c)).collect();
    let projection = start.elapsed();
    let start = Instant::now();
    let mesh_findings = repository_rules
        .evaluate_products(&products)
        .map_err(|e| e.to_string())?
        .len();
    let mesh_rules = start.elapsed();

    Ok(Stages {
        contracts: contracts.len(),
        with_findings: results.iter().filter(|f| !f.is_empty()).count(),
        findings: results.iter().map(Vec::len).sum(),
        read,
        input,
        rules,
        lines,
        projection,
        mesh_rules,
        mesh_findings,
    })
}
