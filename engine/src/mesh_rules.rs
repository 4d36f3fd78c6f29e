//! Repository-wide rules: Rego packages `charter.mesh.<area>` that see every normalized
//! contract at `data.charter.products` (duplicates, lineage, PII propagation).
//!
//! A rule's elements are `{msg, product?, file?, path?}` objects: `product` (an id) or
//! `file` (a path, for rules about one of several files with the same id) says which
//! contract the finding belongs to, `path` where in it.

use std::collections::HashMap;
use std::time::Duration;

use rayon::prelude::*;
use regorus::{Engine, Value};

use crate::contract::Contract;
use crate::error::PackError;
use crate::mesh::Mesh;
use crate::pack::PolicyPack;
use crate::report::Finding;
use crate::rules::{EvalError, RawFinding, RuleSet};

/// The compiled `charter.mesh.*` rules of a pack.
#[derive(Debug, Clone)]
pub struct MeshRules {
    engine: Engine,
    timeout: Duration,
    catalog: std::collections::BTreeMap<String, crate::report::RuleInfo>,
}

impl MeshRules {
    /// Compiles the pack's Rego modules for repository-wide evaluation; `None` when the
    /// pack has no `charter.mesh` package.
    ///
    /// # Errors
    /// A module that does not compile.
    pub fn compile(pack: &PolicyPack) -> Result<Option<Self>, PackError> {
        Self::from_engine(crate::rules::prepared_engine(pack)?, pack)
    }

    /// The repository-wide rules of the pack `rules` were compiled from, sharing its
    /// parsed modules (the pack is not parsed again).
    ///
    /// # Errors
    /// The package list cannot be read.
    pub fn from_rules(rules: &RuleSet, pack: &PolicyPack) -> Result<Option<Self>, PackError> {
        Self::from_engine(rules.engine().clone(), pack)
    }

    fn from_engine(engine: Engine, pack: &PolicyPack) -> Result<Option<Self>, PackError> {
        if !crate::rules::has_package(&engine, "data.charter.mesh")? {
            return Ok(None);
        }
        Ok(Some(Self {
            engine,
            timeout: Duration::from_secs(60),
            catalog: crate::rules::catalog_of(pack, "charter.mesh."),
        }))
    }

    /// The same rules with a time limit of `timeout` for one evaluation (default 60 s).
    #[must_use]
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Metadata of every repository-wide rule, by id.
    #[must_use]
    pub fn catalog(&self) -> &std::collections::BTreeMap<String, crate::report::RuleInfo> {
        &self.catalog
    }

    /// Evaluates the repository-wide rules over every contract of `mesh`.
    ///
    /// # Errors
    /// A policy error, or the time budget ran out.
    pub fn evaluate(&self, mesh: &Mesh) -> Result<Vec<Finding>, EvalError> {
        let mut engine = self.engine.clone();
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            limit: self.timeout,
            check_interval: std::num::NonZeroU32::MIN.saturating_add(255),
        });
        // Converting ten thousand products is a third of the work: do it on every core.
        let products: Vec<Value> = mesh
            .contracts()
            .par_iter()
            .map(Contract::rego_input)
            .collect::<Result<_, _>>()
            .map_err(EvalError::Failed)?;
        let data = object([("charter", object([("products", Value::from(products))]))]);
        engine
            .add_data(data)
            .map_err(|e| EvalError::Failed(e.to_string()))?;
        engine.set_input(Value::new_object());
        let results = engine
            .eval_query("data.charter.mesh".to_owned(), false)
            .map_err(|e| crate::rules::eval_error(&e, self.timeout))?;
        Ok(locate(mesh, crate::rules::findings_of(&results)))
    }
}

/// Ties each raw finding to its contract's file and line.
fn locate(mesh: &Mesh, raw: Vec<RawFinding>) -> Vec<Finding> {
    let by_file: HashMap<&str, &Contract> = mesh
        .contracts()
        .iter()
        .map(|c| (c.product.source.file.as_str(), c))
        .collect();
    raw.into_iter()
        .map(|f| {
            let contract = f
                .file
                .as_deref()
                .and_then(|file| by_file.get(file).copied())
                .or_else(|| f.product.as_deref().and_then(|id| mesh.contract(id)));
            let (file, line, product, domain) = match contract {
                Some(c) => (
                    c.product.source.file.clone(),
                    f.line(&c.locations),
                    Some(c.product.id.clone()),
                    Some(c.product.domain.clone()),
                ),
                None => (
                    f.file.clone().unwrap_or_default(),
                    1,
                    f.product.clone(),
                    None,
                ),
            };
            Finding {
                rule: f.rule,
                severity: f.severity,
                message: f.message,
                product,
                domain,
                file,
                line,
                waiver: None,
            }
        })
        .collect()
}

/// An object of string keys.
fn object<const N: usize>(entries: [(&str, Value); N]) -> Value {
    let mut value = Value::new_object();
    if let Ok(map) = value.as_object_mut() {
        for (key, item) in entries {
            map.insert(Value::from(key), item);
        }
    }
    value
}
