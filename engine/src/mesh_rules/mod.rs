//! Repository-wide rules: Rego packages `charter.mesh.<area>` that see every normalized
//! contract at `data.charter.products` (duplicates, lineage, PII propagation), and what
//! Charter computes of them faster than a rule can: the ids on a lineage cycle
//! (`data.charter.lineage.on_cycle`) and each id's contracts (`data.charter.index.contracts`).
//!
//! A rule's elements are `{msg, product?, file?, path?}` objects: `product` (an id) or
//! `file` (a path, for rules about one of several files with the same id) says which
//! contract the finding belongs to, `path` where in it.
//!
//! The rules are evaluated one by one, each core taking the next as soon as it is free,
//! within one time limit for all. A rule
//! that fails (a policy error, such as an object comprehension that sees one key twice)
//! never takes the others down: it becomes a `policy/error` finding naming the rule and the
//! contracts its error names (or the policy file, when it names none).

mod cycles;
mod product;

pub use product::{Keeper, MeshProduct};

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use rayon::prelude::*;
use regorus::{Engine, Value};

use crate::error::PackError;
use crate::mesh::Mesh;
use crate::pack::PolicyPack;
use crate::projection::{Need, product_need};
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
    /// What the pack's rules can observe of each product.
    need: Need,
    /// What the rules of each package below `charter.mesh.` read of a product, to start
    /// those that read most first (see [`MeshRules::longest_first`]).
    reads: HashMap<String, Need>,
    /// What a contract's Rego input holds when its contract rules converted it (see
    /// `RuleSet::input_need`): the projection is taken from that. `None`: all of it.
    converted: Option<Arc<Need>>,
}

impl MeshRules {
    /// Compiles the pack's Rego modules for repository-wide evaluation; `None` when the
    /// pack has no `charter.mesh` package.
    ///
    /// # Errors
    /// A module that does not compile.
    pub fn compile(pack: &PolicyPack) -> Result<Option<Self>, PackError> {
        Self::from_engine(crate::rules::prepared_engine(pack)?, pack, None)
    }

    /// The repository-wide rules of the pack `rules` were compiled from, sharing its
    /// parsed modules (the pack is not parsed again).
    ///
    /// # Errors
    /// The package list cannot be read.
    pub fn from_rules(rules: &RuleSet, pack: &PolicyPack) -> Result<Option<Self>, PackError> {
        Self::from_engine(rules.engine().clone(), pack, rules.input_need().cloned())
    }

    fn from_engine(
        mut engine: Engine,
        pack: &PolicyPack,
        converted: Option<Arc<Need>>,
    ) -> Result<Option<Self>, PackError> {
        if !crate::rules::has_package(&engine, "data.charter.mesh")? {
            return Ok(None);
        }
        let need = product_need(engine.get_modules());
        let heads = crate::rules::rule_heads(pack, "charter.mesh.");
        let reads = package_reads(engine.get_modules(), &heads);
        Ok(Some(Self {
            need,
            reads,
            converted,
            engine,
            timeout: Duration::from_secs(60),
            catalog: crate::rules::catalog_of(pack, "charter.mesh."),
            heads,
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

    /// What these rules keep of the contracts of one repository: the part of each
    /// product they can observe (worked out from the policies when they were compiled),
    /// with what products have in common stored once, and where it was read.
    #[must_use]
    pub fn keeper(&self) -> Keeper<'_> {
        Keeper::new(&self.need, self.converted.as_ref())
    }

    /// Evaluates the repository-wide rules over every contract of `mesh`. A rule that
    /// fails becomes a `policy/error` finding; the other rules' findings are kept.
    ///
    /// # Errors
    /// The products cannot be converted, or the time budget ran out.
    pub fn evaluate(&self, mesh: &Mesh) -> Result<Vec<Finding>, EvalError> {
        // Converting ten thousand products is a third of the work: do it on every core.
        let keeper = self.keeper();
        let products: Vec<MeshProduct> = mesh
            .contracts()
            .par_iter()
            .map(|c| keeper.keep(c))
            .collect();
        self.evaluate_products(&products)
    }

    /// As [`MeshRules::evaluate`], over what a [`Keeper`] kept of each contract, in
    /// file order.
    ///
    /// # Errors
    /// See [`MeshRules::evaluate`].
    pub fn evaluate_products(&self, products: &[MeshProduct]) -> Result<Vec<Finding>, EvalError> {
        let start = Instant::now();
        let mut engine = self.engine.clone();
        let inputs: Vec<Value> = products
            .iter()
            .map(|p| p.input.clone())
            .collect::<Result<_, _>>()
            .map_err(EvalError::Failed)?;
        let lineage = object([("on_cycle", on_cycle(products))]);
        let index = object([("contracts", contracts_by_id(products))]);
        let data = object([(
            "charter",
            object([
                ("products", Value::from(inputs)),
                ("lineage", lineage),
                ("index", index),
            ]),
        )]);
        engine
            .add_data(data)
            .map_err(|e| EvalError::Failed(e.to_string()))?;
        engine.set_input(Value::new_object());
        self.rule_by_rule(&engine, products, start)
    }

    /// Evaluates each rule alone (one failing rule costs only its own findings), in
    /// parallel, each within what is left of the time limit since `start`.
    ///
    /// Every core takes the next rule as soon as it is free, in the order of
    /// [`MeshRules::longest_first`]: the rules' costs differ tenfold, and a split of the
    /// list fixed in advance can leave one core idle while the other runs the longest rule
    /// last. The findings are in the pack's order whatever the order of evaluation.
    fn rule_by_rule(
        &self,
        engine: &Engine,
        products: &[MeshProduct],
        start: Instant,
    ) -> Result<Vec<Finding>, EvalError> {
        let order = self.longest_first(products);
        let next = AtomicUsize::new(0);
        let slots: Vec<OnceLock<Result<Value, EvalError>>> =
            self.heads.iter().map(|_| OnceLock::new()).collect();
        rayon::broadcast(|_| {
            let mut engine = engine.clone();
            while let Some(((area, key), slot)) = {
                let index = order.get(next.fetch_add(1, Ordering::Relaxed));
                index.and_then(|&i| self.heads.get(i).zip(slots.get(i)))
            } {
                let _ = slot.set(self.evaluate_rule(&mut engine, area, key, start));
            }
        });
        let results = slots.into_iter().map(|slot| {
            slot.into_inner()
                .unwrap_or_else(|| Err(EvalError::Failed("the rule was not evaluated".into())))
        });
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
        let mut findings = locate(products, raw);
        for (rule, message) in failed {
            findings.extend(rule_failure(products, &rule, &message));
        }
        Ok(findings)
    }

    /// The indices of the rules, heaviest first: by how much their package reads of the
    /// products ([`Need::weight`], on a sample of them), ties in the pack's order.
    ///
    /// The longest rule should start first, or one core runs it alone at the end while the
    /// others idle: on the bench mesh the PII rule, last in the pack's order, takes as
    /// long as all the others together. What a rule reads is what can be known of its
    /// cost before it runs; it is known per package (a package's rules share its helpers,
    /// and the analysis is of the package's modules), which ranks a package's rules
    /// together.
    fn longest_first(&self, products: &[MeshProduct]) -> Vec<usize> {
        let step = (products.len() / WEIGHT_SAMPLE).max(1);
        let weights: HashMap<&str, usize> = self
            .reads
            .iter()
            .map(|(area, need)| {
                let weight = products
                    .iter()
                    .step_by(step)
                    .filter_map(|p| p.input.as_ref().ok())
                    .map(|input| need.weight(input))
                    .sum();
                (area.as_str(), weight)
            })
            .collect();
        let mut order: Vec<usize> = (0..self.heads.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(weights.get(self.heads[i].0.as_str())));
        order
    }

    /// Evaluates one rule on `engine` (whose data holds the products) within what is left
    /// of the time limit since `start`.
    fn evaluate_rule(
        &self,
        engine: &mut Engine,
        area: &str,
        key: &str,
        start: Instant,
    ) -> Result<Value, EvalError> {
        let left = self.timeout.saturating_sub(start.elapsed());
        if left.is_zero() {
            return Err(EvalError::Timeout(self.timeout));
        }
        // Checked every 256 steps, not 64: these rules run long, over every product.
        engine.set_execution_timer_config(regorus::utils::limits::ExecutionTimerConfig {
            check_interval: std::num::NonZeroU32::MIN.saturating_add(255),
            ..crate::rules::timer(left)
        });
        engine
            .eval_rule(format!("data.charter.mesh.{area}.{key}"))
            .map_err(|e| crate::rules::eval_error(&e, self.timeout))
    }
}

/// How many products [`MeshRules::longest_first`] weighs, spread over all of them.
const WEIGHT_SAMPLE: usize = 256;

/// What the rules of each package below `charter.mesh.` that has rules in `heads` read of a
/// product, each package's modules analysed on their own (see [`product_need`]).
fn package_reads(
    modules: &[regorus::unstable::Ref<regorus::unstable::Module>],
    heads: &[(String, String)],
) -> HashMap<String, Need> {
    let mut reads = HashMap::new();
    for (area, _) in heads {
        if reads.contains_key(area) {
            continue;
        }
        let package: Vec<String> = ["charter", "mesh"]
            .into_iter()
            .map(str::to_owned)
            .chain(area.split('.').map(str::to_owned))
            .collect();
        let own: Vec<_> = modules
            .iter()
            .filter(|m| crate::authoring::ast::ref_path(&m.package.refr).as_ref() == Some(&package))
            .cloned()
            .collect();
        reads.insert(area.clone(), product_need(&own));
    }
    reads
}

/// The ids on a cycle of upstream edges, as a Rego set (see [`cycles`]).
fn on_cycle(products: &[MeshProduct]) -> Value {
    let edges: Vec<(&str, &[String])> = products
        .iter()
        .map(|p| (p.id.as_str(), p.upstream.as_slice()))
        .collect();
    let ids: std::collections::BTreeSet<Value> = cycles::on_cycle(&edges)
        .into_iter()
        .map(Value::from)
        .collect();
    Value::from(ids)
}

/// Per product id, the indices of its contracts in `data.charter.products` (one, unless the
/// id is duplicated), as a Rego object of sets: what the rules would otherwise build with
/// a partial rule over every product, once per rule that needs it.
fn contracts_by_id(products: &[MeshProduct]) -> Value {
    let mut by_id: std::collections::BTreeMap<&str, std::collections::BTreeSet<Value>> =
        std::collections::BTreeMap::new();
    for (index, product) in products.iter().enumerate() {
        by_id
            .entry(product.id.as_str())
            .or_default()
            .insert(Value::from(index));
    }
    Value::from(
        by_id
            .into_iter()
            .map(|(id, at)| (Value::from(id), Value::from(at)))
            .collect::<std::collections::BTreeMap<_, _>>(),
    )
}

/// The `policy/error` findings of a repository-wide rule that failed: one per contract
/// whose product id or file its error names, or one at the policy's own location.
fn rule_failure(products: &[MeshProduct], rule: &str, message: &str) -> Vec<Finding> {
    let quoted: Vec<&str> = message.split('`').skip(1).step_by(2).collect();
    let named = |s: &str| quoted.iter().any(|q| q.trim_matches('"') == s || *q == s);
    let involved: Vec<&MeshProduct> = products
        .iter()
        .filter(|p| named(&p.id) || named(&p.file))
        .collect();
    let detail = message.split_whitespace().collect::<Vec<_>>().join(" ");
    let files: Vec<&str> = involved.iter().map(|p| p.file.as_str()).collect();
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
        .map(|p| {
            finding(
                p.file.clone(),
                p.locations().line("id"),
                Some(p.id.clone()),
                Some(p.domain.clone()),
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
fn locate(products: &[MeshProduct], raw: Vec<RawFinding>) -> Vec<Finding> {
    let by_file: HashMap<&str, usize> = products
        .iter()
        .enumerate()
        .map(|(i, p)| (p.file.as_str(), i))
        .collect();
    let mut by_id: HashMap<&str, usize> = HashMap::new();
    for (i, p) in products.iter().enumerate() {
        // The first contract of an id (in file order) stands for it, as in `Mesh::contract`.
        by_id.entry(p.id.as_str()).or_insert(i);
    }
    // Each contract's lines are resolved once, for its first finding.
    let mut lines: HashMap<usize, std::borrow::Cow<'_, crate::contract::Locations>> =
        HashMap::new();
    raw.into_iter()
        .map(|f| {
            let contract = f
                .file
                .as_deref()
                .and_then(|file| by_file.get(file).copied())
                .or_else(|| f.product.as_deref().and_then(|id| by_id.get(id).copied()));
            let (file, line, product, domain) = match contract {
                Some(i) => {
                    let p = &products[i];
                    let locations = lines.entry(i).or_insert_with(|| p.locations());
                    (
                        p.file.clone(),
                        f.line(locations),
                        Some(p.id.clone()),
                        Some(p.domain.clone()),
                    )
                }
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ReaderSettings;
    use crate::mesh::LoadOptions;

    /// A mesh of `n` products with lineage among them (cycles, missing backlinks, unknown
    /// and external references), duplicate ids, deprecated upstreams and PII fields with
    /// and without a removing transform, so that every repository-wide rule fires.
    fn tangled_mesh(n: usize) -> (tempfile::TempDir, Vec<String>) {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let mut files = Vec::new();
        for i in 0..n {
            let id = format!("sales.p{}", i % (n - 2));
            let up = [(i * 7 + 3) % n, (i * 5 + 1) % n].map(|u| format!("\"sales.p{u}\""));
            let upstream = match i % 4 {
                0 => format!("[{}, \"raw.events\"]", up.join(", ")),
                1 => format!("[{}, \"ghost.{i}\"]", up[0]),
                _ => format!("[{}]", up[1]),
            };
            let downstream = format!("[\"sales.p{}\"]", (i * 3 + 2) % n);
            let status = ["active", "deprecated", "retired", "active"][i % 4];
            let mut fields = String::new();
            for (f, name) in ["email", "phone", "total", "region"].iter().enumerate() {
                let pii = (i + f) % 3 == 0;
                let transform =
                    ["", "        transform: hash\n", "        transform: copy\n"][(i * f) % 3];
                fields.push_str(&format!(
                    "      - name: {name}\n        type: string\n        description: the {name}\n        constraints: {{ pii: {pii} }}\n{transform}"
                ));
            }
            let yaml = format!(
                "apiVersion: datamesh.io/v1\nkind: DataProduct\nmetadata:\n  name: {id}\n  domain: sales\n  version: 1.0.{i}\nspec:\n  owner: team@acme.example\n  status: {status}\n  schema:\n    fields:\n{fields}  lineage:\n    upstream: {upstream}\n    downstream: {downstream}\n"
            );
            let file = format!("sales/p{i}.yaml");
            std::fs::create_dir_all(dir.path().join("sales")).expect("a folder");
            std::fs::write(dir.path().join(&file), yaml).expect("a contract");
            files.push(file);
        }
        (dir, files)
    }

    /// The default pack's repository-wide rules, and a tangled mesh of 40 products (with
    /// the folder that holds it).
    fn default_rules_on_a_tangled_mesh() -> (MeshRules, Mesh, tempfile::TempDir) {
        let pack = PolicyPack::from_files(charter_policies::files()).expect("the default pack");
        let rules = MeshRules::compile(&pack)
            .expect("it compiles")
            .expect("it has repository-wide rules");
        let (dir, _) = tangled_mesh(40);
        let reader = ReaderSettings::from_settings(pack.settings());
        let mesh = Mesh::load(dir.path(), &LoadOptions::default(), &reader).expect("a mesh");
        (rules, mesh, dir)
    }

    #[test]
    fn projected_products_give_the_findings_of_whole_products() {
        let (rules, mesh, _dir) = default_rules_on_a_tangled_mesh();
        assert!(mesh.failures().is_empty(), "{:?}", mesh.failures());

        let projected = rules.evaluate(&mesh).expect("the rules run");
        let mut whole = rules.clone();
        whole.need = Need::whole();
        assert_eq!(projected, whole.evaluate(&mesh).expect("the rules run"));

        let fired: std::collections::BTreeSet<&str> =
            projected.iter().map(|f| f.rule.as_str()).collect();
        for rule in [
            "identity/duplicate_product_id",
            "lineage/unresolved_reference",
            "lineage/lineage_cycle",
            "lineage/missing_backlink",
            "lineage/deprecated_upstream",
            "pii/unmarked_upstream_pii",
        ] {
            assert!(fired.contains(rule), "{rule} did not fire: {fired:?}");
        }

        // And the projection is a fraction of the product: no owner, version, description.
        let contract = &mesh.contracts()[0];
        let kept = rules.keeper().keep(contract).input.expect("converted");
        let full = contract.rego_input().expect("converted");
        let size = |v: &Value| v.to_json_str().map(|s| s.len()).unwrap_or_default();
        assert!(size(&kept) * 2 < size(&full), "{kept}");
        assert!(
            kept["owner"] == Value::Undefined
                && kept["fields"][0]["description"] == Value::Undefined
        );
    }

    #[test]
    fn the_rules_that_read_most_of_the_products_start_first() {
        let (rules, mesh, _dir) = default_rules_on_a_tangled_mesh();
        let keeper = rules.keeper();
        let products: Vec<MeshProduct> = mesh.contracts().iter().map(|c| keeper.keep(c)).collect();

        let order = rules.longest_first(&products);
        let areas: Vec<&str> = order.iter().map(|&i| rules.heads[i].0.as_str()).collect();
        // The PII rule reads every field of every product; lineage reads a few ids of each,
        // and identity two keys.
        assert_eq!(areas.first(), Some(&"pii"), "{areas:?}");
        assert_eq!(areas.last(), Some(&"identity"), "{areas:?}");
        let mut sorted = order.clone();
        sorted.sort_unstable();
        assert_eq!(sorted, (0..rules.heads.len()).collect::<Vec<_>>());
        // Rules of one package keep the pack's order.
        let lineage: Vec<usize> = order
            .iter()
            .copied()
            .filter(|&i| rules.heads[i].0 == "lineage")
            .collect();
        assert!(lineage.len() > 1 && lineage.is_sorted(), "{lineage:?}");
    }
}
