//! Repository-wide rules: Rego packages `charter.mesh.<area>` that see every normalized
//! contract at `data.charter.products` (duplicates, lineage, PII propagation).
//!
//! A rule's elements are `{msg, product?, file?, path?}` objects: `product` (an id) or
//! `file` (a path, for rules about one of several files with the same id) says which
//! contract the finding belongs to, `path` where in it.
//!
//! The rules are evaluated one by one, on every core, within one time limit for all. A rule
//! that fails (a policy error, such as an object comprehension that sees one key twice)
//! never takes the others down: it becomes a `policy/error` finding naming the rule and the
//! contracts its error names (or the policy file, when it names none).

mod cycles;

use std::collections::HashMap;
use std::time::{Duration, Instant};

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
    /// (package below `charter.mesh.`, `deny_*`/`warn_*` rule name), to evaluate one by one.
    heads: Vec<(String, String)>,
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
            heads: crate::rules::rule_heads(pack, "charter.mesh."),
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

    /// Evaluates the repository-wide rules over every contract of `mesh`. A rule that
    /// fails becomes a `policy/error` finding; the other rules' findings are kept.
    ///
    /// # Errors
    /// The products cannot be converted, or the time budget ran out.
    pub fn evaluate(&self, mesh: &Mesh) -> Result<Vec<Finding>, EvalError> {
        let start = Instant::now();
        let mut engine = self.engine.clone();
        // Converting ten thousand products is a third of the work: do it on every core.
        let products: Vec<Value> = mesh
            .contracts()
            .par_iter()
            .map(Contract::rego_input)
            .collect::<Result<_, _>>()
            .map_err(EvalError::Failed)?;
        let lineage = object([("on_cycle", on_cycle(mesh))]);
        let data = object([(
            "charter",
            object([("products", Value::from(products)), ("lineage", lineage)]),
        )]);
        engine
            .add_data(data)
            .map_err(|e| EvalError::Failed(e.to_string()))?;
        engine.set_input(Value::new_object());
        self.rule_by_rule(&engine, mesh, start)
    }

    /// Evaluates each rule alone (one failing rule costs only its own findings), in
    /// parallel, each within what is left of the time limit since `start`.
    fn rule_by_rule(
        &self,
        engine: &Engine,
        mesh: &Mesh,
        start: Instant,
    ) -> Result<Vec<Finding>, EvalError> {
        let results: Vec<Result<Value, EvalError>> = self
            .heads
            .par_iter()
            .map_init(
                || engine.clone(),
                |engine, (area, key)| {
                    let left = self.timeout.saturating_sub(start.elapsed());
                    if left.is_zero() {
                        return Err(EvalError::Timeout(self.timeout));
                    }
                    // Checked every 256 steps, not 64: these rules run long, over every product.
                    engine.set_execution_timer_config(
                        regorus::utils::limits::ExecutionTimerConfig {
                            check_interval: std::num::NonZeroU32::MIN.saturating_add(255),
                            ..crate::rules::timer(left)
                        },
                    );
                    engine
                        .eval_rule(format!("data.charter.mesh.{area}.{key}"))
                        .map_err(|e| crate::rules::eval_error(&e, self.timeout))
                },
            )
            .collect();
        let mut raw = Vec::new();
        let mut failed = Vec::new();
        for ((area, key), result) in self.heads.iter().zip(results) {
            match result {
                Ok(value) => raw.extend(crate::rules::findings_of_rule(area, key, value)),
                Err(EvalError::Timeout(limit)) => return Err(EvalError::Timeout(limit)),
                Err(EvalError::Failed(message)) => {
                    let name = key.get(5..).unwrap_or(key);
                    failed.push((format!("{area}/{name}"), message));
                }
            }
        }
        let mut findings = locate(mesh, raw);
        for (rule, message) in failed {
            findings.extend(rule_failure(mesh, &rule, &message));
        }
        Ok(findings)
    }
}

/// The ids on a cycle of upstream edges, as a Rego set (see [`cycles`]).
fn on_cycle(mesh: &Mesh) -> Value {
    let products: Vec<(&str, &[String])> = mesh
        .contracts()
        .iter()
        .map(|c| (c.product.id.as_str(), c.product.lineage.upstream.as_slice()))
        .collect();
    let ids: std::collections::BTreeSet<Value> = cycles::on_cycle(&products)
        .into_iter()
        .map(Value::from)
        .collect();
    Value::from(ids)
}

/// The `policy/error` findings of a repository-wide rule that failed: one per contract
/// whose product id or file its error names, or one at the policy's own location.
fn rule_failure(mesh: &Mesh, rule: &str, message: &str) -> Vec<Finding> {
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let named = |s: &str| quoted.iter().any(|q| q.trim_matches('"') == s || *q == s);
    let involved: Vec<&Contract> = mesh
        .contracts()
        .iter()
        .filter(|c| named(&c.product.id) || named(&c.product.source.file))
        .collect();
    let detail = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let files: Vec<&str> = involved
        .iter()
        .map(|c| c.product.source.file.as_str())
        .collect();
    let text = if files.is_empty() {
        format!("repository-wide rule `{rule}` failed, its findings are missing: {detail}")
    } else {
        format!(
            "repository-wide rule `{rule}` failed over {}, its findings are missing: {detail}",
            files.join(", ")
        )
    };
    let finding = |file: String, line, product, domain| Finding {
        rule: crate::check::POLICY_ERROR_RULE.to_owned(),
        severity: crate::report::Severity::Error,
        message: text.clone(),
        product,
        domain,
        file,
        line,
        waiver: None,
    };
    if involved.is_empty() {
        let (file, line) = policy_location(message);
        return vec![finding(file, line, None, None)];
    }
    involved
        .into_iter()
        .map(|c| {
            finding(
                c.product.source.file.clone(),
                c.locations.line("id"),
                Some(c.product.id.clone()),
                Some(c.product.domain.clone()),
            )
        })
        .collect()
}

/// The policy file and line a regorus error points at (`--> rego/mesh/x.rego:72:19`).
fn policy_location(message: &str) -> (String, u32) {
    message
        .split_whitespace()
        .skip_while(|w| *w != "-->")
        .nth(1)
        .and_then(|at| {
            let mut parts = at.rsplitn(3, ':');
            let _column = parts.next()?;
            let line = parts.next()?.parse().ok()?;
            Some((parts.next()?.to_owned(), line))
        })
        .unwrap_or_else(|| (String::new(), 1))
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
