//! The repository report as one plan: the per-contract rules over every file (with the
//! result cache), then the repository-wide rules over the whole mesh (their findings
//! cached per repository fingerprint), reading only what a stage needs.
//!
//! Comparing with a base revision needs the mesh too: ask for it with
//! [`ReportPlan::keep_mesh`] and compare it (with git, in the CLI); waivers are applied
//! last, to the finished report.

use std::time::Duration;

use rayon::prelude::*;

use crate::cache::MeshCache;
use crate::check::{CheckOptions, Progress, check_files, check_files_keeping_contracts};
use crate::contract::ReaderSettings;
use crate::mesh::{ContractFile, Loaded, Mesh, load_file};
use crate::mesh_rules::MeshRules;
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
        if self.mesh_rules.is_none() && !self.keep_mesh {
            let report = check_files(files, self.rules, self.reader, self.options, progress);
            return Ok(ReportRun { report, mesh: None });
        }
        let run =
            check_files_keeping_contracts(files, self.rules, self.reader, self.options, progress);
        let mut report = run.report;
        let mesh_cache = self
            .options
            .cache
            .as_ref()
            .map(|config| MeshCache::new(config, self.pack_revision, &run.fingerprint));
        let cached_mesh = mesh_cache
            .as_ref()
            .and_then(MeshCache::get)
            .filter(|_| !self.keep_mesh);
        let needs_mesh = self.keep_mesh || (self.mesh_rules.is_some() && cached_mesh.is_none());
        let mesh = needs_mesh.then(|| {
            // Contracts served from the result cache were not read; read them now.
            let mut loaded: Vec<Loaded> = run
                .contracts
                .into_iter()
                .map(|c| Loaded::Contract(Box::new(c)))
                .collect();
            loaded.extend(
                run.cached
                    .par_iter()
                    .map(|file| load_file(file, self.reader))
                    .collect::<Vec<_>>(),
            );
            Mesh::from_loaded(loaded)
        });
        if let Some(mesh_rules) = self.mesh_rules {
            let findings = match (cached_mesh, &mesh) {
                (Some(findings), _) => findings,
                (None, Some(mesh)) => {
                    let findings = mesh_rules.evaluate(mesh).map_err(|e| match e {
                        EvalError::Timeout(limit) => ReportError::MeshTimeout {
                            limit,
                            contracts: mesh.contracts().len(),
                        },
                        e => ReportError::MeshRules(e),
                    })?;
                    if let Some(cache) = &mesh_cache {
                        // A cache that cannot be written only makes the next run slower.
                        let _ = cache.put(&findings);
                    }
                    findings
                }
                (None, None) => Vec::new(),
            };
            report.add_findings(findings);
            report.rules.extend(mesh_rules.catalog().clone());
        }
        Ok(ReportRun {
            report,
            mesh: mesh.filter(|_| self.keep_mesh),
        })
    }
}
