//! The repository report as one plan: the per-contract rules over every file (with the
//! result cache), then the repository-wide rules over the whole mesh (their findings
//! cached per repository fingerprint), reading only what a stage needs. Between the two
//! stages each contract is held only as what the repository-wide rules can observe of it
//! (see [`crate::mesh_rules::Keeper`]), not as the contract.
//!
//! Comparing with a base revision needs the mesh too: ask for it with
//! [`ReportPlan::keep_mesh`] and compare it (with git, in the CLI); waivers are applied
//! last, to the finished report.

use std::time::Duration;

use rayon::prelude::*;

use crate::cache::MeshCache;
use crate::check::{
    CheckOptions, CheckRun, MAX_FILES_A_TASK, PendingSave, Progress, check_files, check_unsaved,
};
use crate::contract::Contract;
use crate::contract::ReaderSettings;
use crate::mesh::{ContractFile, Loaded, Mesh, load_file};
use crate::mesh_rules::{MeshProduct, MeshRules};
use crate::report::Report;
use crate::rules::{EvalError, RuleSet};

/// What a repository report runs.
#[derive(Debug, Clone, Copy)]
pub struct ReportPlan<'a> {
    /// The compiled per-contract rules.
    pub rules: &'a RuleSet,
    /// How contracts are read.
    pub reader: &'a ReaderSettings,
    /// The result cache.
    pub options: &'a CheckOptions,
    /// The pack's revision (the repository-wide findings are cached under it).
    pub pack_revision: &'a str,
    /// The repository-wide rules, when the pack has any.
    pub mesh_rules: Option<&'a MeshRules>,
    /// Return the whole mesh (every contract read) with the report.
    pub keep_mesh: bool,
}

/// A finished plan.
#[derive(Debug)]
pub struct ReportRun {
    /// Findings of the per-contract and repository-wide rules, with their catalogue.
    pub report: Report,
    /// The mesh, when [`ReportPlan::keep_mesh`] asked for it.
    pub mesh: Option<Mesh>,
}

/// Why the repository-wide rules gave no findings.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// They ran out of time.
    #[error("the repository-wide rules did not finish within {} over {contracts} contracts", humantime::format_duration(*limit))]
    MeshTimeout {
        /// The time limit.
        limit: Duration,
        /// The contracts they ran over.
        contracts: usize,
    },
    /// They failed.
    #[error("the repository-wide rules failed")]
    MeshRules(#[source] EvalError),
}

impl ReportPlan<'_> {
    /// Runs the plan over `files`, reporting progress of the per-contract stage.
    ///
    /// # Errors
    /// The repository-wide rules time out or fail (a contract that cannot be read is a
    /// finding, not an error).
    pub fn run(
        &self,
        files: &[ContractFile],
        progress: &dyn Progress,
    ) -> Result<ReportRun, ReportError> {
        match (self.mesh_rules, self.keep_mesh) {
            (None, false) => {
                let report = check_files(files, self.rules, self.reader, self.options, progress);
                Ok(ReportRun { report, mesh: None })
            }
            (mesh_rules, true) => self.run_keeping_mesh(files, progress, mesh_rules),
            (Some(mesh_rules), false) => self.run_projected(files, progress, mesh_rules),
        }
    }

    /// Keeps only what the repository-wide rules can observe of each contract between the
    /// stages (see [`MeshRules::keeper`]): a fraction of the contracts in memory.
    fn run_projected(
        &self,
        files: &[ContractFile],
        progress: &dyn Progress,
        mesh_rules: &MeshRules,
    ) -> Result<ReportRun, ReportError> {
        let keeper = mesh_rules.keeper();
        let (run, save) = self.check(files, progress, &|file, contract| {
            keeper.keep_file(file, &contract, &self.reader.limits)
        });
        let mut report = run.report;
        let (kept, cached) = (run.contracts, run.cached);
        let products = move || {
            // Contracts served from the result cache were not read; read them now.
            let mut products = kept;
            products.extend(
                cached
                    .par_iter()
                    .with_max_len(MAX_FILES_A_TASK)
                    .filter_map(|file| match load_file(file, self.reader) {
                        Loaded::Contract(contract) => {
                            Some(keeper.keep_file(file, &contract, &self.reader.limits))
                        }
                        Loaded::Failure(_) => None,
                    })
                    .collect::<Vec<_>>(),
            );
            products.sort_by(|a, b| a.file().cmp(b.file()));
            products
        };
        while_saving(save, || {
            self.add_mesh_findings(&mut report, mesh_rules, &run.fingerprint, true, products)
        })?;
        Ok(ReportRun { report, mesh: None })
    }

    /// Reads the whole mesh (for a comparison with a base revision), and evaluates the
    /// repository-wide rules over it when the pack has any. The mesh keeps each contract's
    /// model and text, not its Rego input: the rules get their projection of it, taken
    /// while the contract is checked.
    fn run_keeping_mesh(
        &self,
        files: &[ContractFile],
        progress: &dyn Progress,
        mesh_rules: Option<&MeshRules>,
    ) -> Result<ReportRun, ReportError> {
        let keeper = mesh_rules.map(MeshRules::keeper);
        let keep = |mut contract: Contract| {
            let kept = keeper.as_ref().map(|k| k.keep(&contract));
            contract.forget_rego_input();
            (contract, kept)
        };
        let (run, save) = self.check(files, progress, &|_, contract| keep(contract));
        let mut report = run.report;
        let mesh = while_saving(save, || {
            // Contracts served from the result cache were not read; read them now.
            let mut loaded: Vec<Loaded> = Vec::new();
            let mut products: Vec<MeshProduct> = Vec::new();
            let cached = run
                .cached
                .par_iter()
                .with_max_len(MAX_FILES_A_TASK)
                .map(|file| match load_file(file, self.reader) {
                    Loaded::Contract(contract) => {
                        let (contract, kept) = keep(*contract);
                        (Loaded::Contract(Box::new(contract)), kept)
                    }
                    failure @ Loaded::Failure(_) => (failure, None),
                });
            let fresh = run
                .contracts
                .into_iter()
                .map(|(contract, kept)| (Loaded::Contract(Box::new(contract)), kept));
            for (item, kept) in fresh.chain(cached.collect::<Vec<_>>()) {
                loaded.push(item);
                products.extend(kept);
            }
            let mesh = Mesh::from_loaded(loaded);
            if let Some(mesh_rules) = mesh_rules {
                products.sort_by(|a, b| a.file().cmp(b.file()));
                self.add_mesh_findings(&mut report, mesh_rules, &run.fingerprint, false, || {
                    products
                })?;
            }
            Ok::<_, ReportError>(mesh)
        })?;
        Ok(ReportRun {
            report,
            mesh: Some(mesh),
        })
    }

    /// The per-contract stage, keeping `keep(file, contract)` of each contract read.
    fn check<T: Send>(
        &self,
        files: &[ContractFile],
        progress: &dyn Progress,
        keep: &(dyn Fn(&ContractFile, Contract) -> T + Sync),
    ) -> (CheckRun<T>, Option<PendingSave>) {
        check_unsaved(
            files,
            self.rules,
            self.reader,
            self.options,
            progress,
            Some(keep),
        )
    }

    /// Adds to `report` the repository-wide rules and their findings for the repository
    /// `fingerprint`: from the cache (when `cached` allows), or evaluated over
    /// `products()` and cached.
    fn add_mesh_findings(
        &self,
        report: &mut Report,
        mesh_rules: &MeshRules,
        fingerprint: &str,
        cached: bool,
        products: impl FnOnce() -> Vec<MeshProduct>,
    ) -> Result<(), ReportError> {
        let cache = self
            .options
            .cache
            .as_ref()
            .map(|config| MeshCache::new(config, self.pack_revision, fingerprint));
        let findings = match cache.as_ref().filter(|_| cached).and_then(MeshCache::get) {
            Some(findings) => findings,
            None => {
                let products = products();
                let findings = mesh_rules
                    .evaluate_products(&products)
                    .map_err(|e| match e {
                        EvalError::Timeout(limit) => ReportError::MeshTimeout {
                            limit,
                            contracts: products.len(),
                        },
                        e => ReportError::MeshRules(e),
                    })?;
                if let Some(cache) = &cache {
                    // A cache that cannot be written only makes the next run slower.
                    let _ = cache.put(&findings);
                }
                findings
            }
        };
        report.add_findings(findings);
        report.rules.extend(mesh_rules.catalog().clone());
        Ok(())
    }
}

/// Runs `work` while `save` writes the per-contract results to the cache, on a thread of
/// its own: the repository-wide stage that follows keeps both cores busy only part of the
/// time (its longest rule runs alone at the end), and writing ~10,000 results takes
/// tens of milliseconds. Without a thread, the results are written first.
fn while_saving<R>(save: Option<PendingSave>, work: impl FnOnce() -> R) -> R {
    let Some(save) = save else {
        return work();
    };
    let pending = std::sync::Mutex::new(Some(save));
    let write = || {
        if let Some(save) = pending.lock().ok().and_then(|mut slot| slot.take()) {
            save.write();
        }
    };
    std::thread::scope(|scope| {
        let writer = std::thread::Builder::new()
            .name("charter-cache-save".into())
            .spawn_scoped(scope, write);
        if writer.is_err() {
            write();
        }
        work()
    })
}
