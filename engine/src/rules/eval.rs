//! Compiling the pack once and evaluating contracts against it.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use regorus::{Engine, Value};

use super::compiled::{CompiledRules, Machine};
use crate::contract::{Contract, Locations, Product};
use crate::error::PackError;
use crate::pack::PolicyPack;
use crate::projection::Need;
use crate::report::{RuleInfo, Severity};

/// Limits for rule evaluation, and how rules run.
#[derive(Debug, Clone, Copy)]
pub struct RuleSetOptions {
    /// Wall-clock budget for evaluating one contract; past it the contract gets `policy/timeout`.
    pub timeout: Duration,
    /// Compiled to bytecode (the default) or interpreted.
    pub engine: RuleEngine,
}

impl Default for RuleSetOptions {
    fn default() -> Self {
        Self {
            timeout: Duration::from_secs(2),
            engine: RuleEngine::default(),
        }
    }
}

/// How the contract rules run. Both give the same findings (a differential test holds them
/// to it on every sample contract and rule case, and on generated products); the compiled
/// form is faster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum RuleEngine {
    /// Compiled once to regorus's bytecode virtual machine, or interpreted when the
    /// compiler cannot take the pack (see [`RuleSet::interpreted_because`]).
    #[default]
    Compiled,
    /// regorus's interpreter.
    Interpreter,
}

/// The compiled contract rules of a pack: parsed and prepared once, cloned per worker.
#[derive(Debug, Clone)]
pub struct RuleSet {
    engine: Engine,
    /// The rules as bytecode, when they are to run compiled and the compiler took them.
    compiled: Option<CompiledRules>,
    /// Why the rules run in the interpreter although the compiled form was asked for.
    interpreted_because: Option<String>,
    revision: String,
    has_rules: bool,
    catalog: BTreeMap<String, RuleInfo>,
    timeout: Duration,
    /// What the pack's rules read of a contract's product: its contract rules of `input`,
    /// its repository-wide rules of each product (see [`RuleSet::input_need`]). `None`
    /// when they may read all of it.
    input_need: Option<Arc<Need>>,
}

/// A worker's own evaluator (its own virtual machine, or a clone of the prepared engine).
#[derive(Debug)]
pub struct Evaluator {
    runner: Runner,
    has_rules: bool,
    timeout: Duration,
    /// The rule set's [`RuleSet::input_need`]: what a contract is converted to.
    input_need: Option<Arc<Need>>,
}

/// What runs the rules for one worker.
#[derive(Debug)]
enum Runner {
    Compiled(Machine),
    Interpreter(Engine),
}

/// One rule result before it is tied to a file: the rule, its message and the model path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFinding {
    /// `<area>/<name>`.
    pub rule: String,
    /// From the rule's prefix: `deny_` error, `warn_` warning.
    pub severity: Severity,
    /// The rule's message.
    pub message: String,
    /// The model path the rule pointed at (`fields[2].masking`), if any.
    pub path: Option<String>,
    /// The product a repository-wide rule is about (`{"product": …}`), if it names one.
    pub product: Option<String>,
    /// The file a repository-wide rule is about (`{"file": …}`), if it names one.
    pub file: Option<String>,
}

impl RawFinding {
    /// The 1-based line of this finding in the contract's file.
    #[must_use]
    pub fn line(&self, locations: &Locations) -> u32 {
        locations.line(self.located_at())
    }

    /// The model path the finding is placed at: its own, or the product id's.
    fn located_at(&self) -> &str {
        self.path.as_deref().unwrap_or("id")
    }
}

/// Evaluating one contract failed (an error in a policy, or the time budget ran out).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EvalError {
    /// The evaluation took longer than the budget.
    #[error("rule evaluation exceeded the time limit of {0:?}")]
    Timeout(Duration),
    /// A policy raised an error for this input.
    #[error("rule evaluation failed: {0}")]
    Failed(String),
}

impl RuleSet {
    /// Parses every `rego/**/*.rego` module of the pack and loads its settings.
    ///
    /// # Errors
    /// A module that does not parse or compile, with its file and line.
    pub fn compile(pack: &PolicyPack, options: RuleSetOptions) -> Result<Self, PackError> {
        let mut engine = prepared_engine(pack)?;
        engine.set_execution_timer_config(timer(options.timeout));
        let has_rules = has_package(&engine, "data.charter.rules")?;
        // Evaluate once on an empty product so that compile errors surface now, not per
        // contract; the engine keeps what that first evaluation prepared (the analysed
        // schedule, rules and functions), which every evaluator's clone then shares.
        if has_rules {
            let probe = super::rego_value::to_value(&Product::default())
                .map_err(EvalError::Failed)
                .and_then(|input| interpret(&mut engine, input, options.timeout));
            if let Err(EvalError::Failed(message)) = probe {
                return Err(PackError::Rego {
                    path: "rego/".into(),
                    message,
                });
            }
        }
        let (compiled, interpreted_because) = match options.engine {
            RuleEngine::Interpreter => (None, None),
            RuleEngine::Compiled => match bytecode(pack, &engine, has_rules) {
                Ok(compiled) => (compiled, None),
                Err(why) => (None, Some(why)),
            },
        };
        let input_need = input_need(&mut engine);
        Ok(Self {
            engine,
            compiled,
            interpreted_because,
            revision: pack.revision().to_owned(),
            has_rules,
            catalog: super::catalog_of(pack, "charter.rules."),
            timeout: options.timeout,
            input_need,
        })
    }

    /// What the pack's rules read of a contract's product, worked out from its Rego
    /// (`projection::reads`): the contract rules' reads of `input` and the
    /// repository-wide rules' reads of each product, which the projection kept for them
    /// is taken from. A contract is converted to only that much Rego input: the rules
    /// cannot tell it from the whole. `None` when they may read all of it.
    pub(crate) fn input_need(&self) -> Option<&Arc<Need>> {
        self.input_need.as_ref()
    }

    /// `contract`'s product as these rules' `input`: the part of it the pack's rules read
    /// (worked out from their Rego when the pack was compiled), converted once and kept
    /// with the contract. The rules cannot tell it from the whole product.
    ///
    /// # Errors
    /// The product holds a value Rego cannot represent.
    pub fn input_of(&self, contract: &Contract) -> Result<Value, String> {
        converted_input(contract, self.input_need.as_ref())
    }

    /// A fresh evaluator for one worker.
    #[must_use]
    pub fn evaluator(&self) -> Evaluator {
        // `compile` made a machine from the same program and data, so this one is made too.
        let machine = self.compiled.as_ref().and_then(|c| c.machine().ok());
        Evaluator {
            runner: machine.map_or_else(
                || Runner::Interpreter(self.engine.clone()),
                Runner::Compiled,
            ),
            has_rules: self.has_rules,
            timeout: self.timeout,
            input_need: self.input_need.clone(),
        }
    }

    /// Why the rules run in the interpreter although [`RuleEngine::Compiled`] was asked
    /// for: a construct that could raise an error the bytecode machine would not (with its
    /// file and line), or the compiler's message for one it does not take. `None` when they
    /// run as asked.
    #[must_use]
    pub fn interpreted_because(&self) -> Option<&str> {
        self.interpreted_because.as_deref()
    }

    /// How the rules run: [`RuleEngine::Compiled`] only when they were compiled.
    #[must_use]
    pub fn engine_kind(&self) -> RuleEngine {
        if self.compiled.is_some() {
            RuleEngine::Compiled
        } else {
            RuleEngine::Interpreter
        }
    }

    /// Metadata of every contract rule, by id.
    #[must_use]
    pub fn catalog(&self) -> &BTreeMap<String, RuleInfo> {
        &self.catalog
    }

    /// The compiled engine (for the repository-wide rules of the same pack).
    pub(crate) fn engine(&self) -> &Engine {
        &self.engine
    }

    /// The pack's revision.
    #[must_use]
    pub fn revision(&self) -> &str {
        &self.revision
    }
}

impl Evaluator {
    /// Evaluates every contract rule on one product.
    ///
    /// # Errors
    /// A policy error for this input, or the time budget ran out.
    pub fn evaluate(&mut self, product: &Product) -> Result<Vec<RawFinding>, EvalError> {
        if !self.has_rules {
            return Ok(Vec::new());
        }
        let input = super::rego_value::to_value(product).map_err(EvalError::Failed)?;
        self.evaluate_input(input)
    }

    /// Evaluates every contract rule on a raw input document (used by rule-case tests).
    ///
    /// # Errors
    /// A policy error for this input, or the time budget ran out.
    pub fn evaluate_input(&mut self, input: Value) -> Result<Vec<RawFinding>, EvalError> {
        match &mut self.runner {
            Runner::Compiled(machine) => machine.evaluate(input, self.timeout),
            Runner::Interpreter(engine) => interpret(engine, input, self.timeout),
        }
    }

    /// Evaluates a contract and ties the findings to its file and lines.
    ///
    /// # Errors
    /// As [`Evaluator::evaluate`].
    pub fn evaluate_contract(
        &mut self,
        contract: &Contract,
    ) -> Result<Vec<(RawFinding, u32)>, EvalError> {
        let found = if self.has_rules {
            let input = converted_input(contract, self.input_need.as_ref());
            self.evaluate_input(input.map_err(EvalError::Failed)?)?
        } else {
            Vec::new()
        };
        let paths: Vec<&str> = found.iter().map(RawFinding::located_at).collect();
        let lines = contract.locations.lines(&paths);
        drop(paths);
        Ok(found.into_iter().zip(lines).collect())
    }
}

/// `contract`'s product as Rego input: what `need` keeps of it, or all of it.
pub(crate) fn converted_input(
    contract: &Contract,
    need: Option<&Arc<Need>>,
) -> Result<Value, String> {
    match need {
        Some(need) => contract.rego_input_projected(need),
        None => contract.rego_input(),
    }
}

/// What the rules of `engine` read of a contract's product (see [`RuleSet::input_need`]).
fn input_need(engine: &mut Engine) -> Option<Arc<Need>> {
    let modules = engine.get_modules();
    let need =
        crate::projection::input_need(modules).union(&crate::projection::product_need(modules));
    (!need.is_whole()).then(|| Arc::new(need))
}

/// A regorus engine with every non-test module of the pack and its settings at
/// `data.charter.settings`: what contract and repository-wide rules both start from.
pub(crate) fn prepared_engine(pack: &PolicyPack) -> Result<Engine, PackError> {
    let mut engine = Engine::new();
    engine.set_strict_builtin_errors(false);
    for file in pack.rego().filter(|f| !f.path.ends_with("_test.rego")) {
        engine
            .add_policy(file.path.clone(), file.text.clone())
            .map_err(|e| PackError::Rego {
                path: file.path.clone(),
                message: e.to_string(),
            })?;
    }
    engine
        .add_data(settings_data(pack))
        .map_err(|e| PackError::Rego {
            path: "data/".into(),
            message: e.to_string(),
        })?;
    Ok(engine)
}

/// The contract rules compiled to bytecode (`None` without rules), or why they cannot be:
/// the pack could reach an error the machine would not raise, or the compiler refuses it.
fn bytecode(
    pack: &PolicyPack,
    engine: &Engine,
    has_rules: bool,
) -> Result<Option<CompiledRules>, String> {
    if !has_rules {
        return Ok(None);
    }
    if let Some(why) = crate::authoring::vm_semantics::interpreter_only(pack) {
        return Err(format!(
            "{why}; Rego makes that an error, which the bytecode machine would not raise"
        ));
    }
    let heads = super::rule_heads(pack, "charter.rules.");
    let compiled = CompiledRules::compile(engine, "data.charter.rules", heads, settings_data(pack))
        .map_err(|e| format!("the bytecode compiler refuses the pack: {e}"))?;
    // A machine that cannot be made now could not be made per worker either.
    compiled.machine()?;
    Ok(Some(compiled))
}

/// Evaluates the whole `data.charter.rules` tree in the interpreter.
fn interpret(
    engine: &mut Engine,
    input: Value,
    timeout: Duration,
) -> Result<Vec<RawFinding>, EvalError> {
    engine.set_input(input);
    let results = engine
        .eval_query("data.charter.rules".to_owned(), false)
        .map_err(|e| eval_error(&e, timeout))?;
    Ok(findings_of(&results))
}

/// A wall-clock limit of `limit` for regorus, checked every 64 steps.
pub(crate) fn timer(limit: Duration) -> regorus::utils::limits::ExecutionTimerConfig {
    regorus::utils::limits::ExecutionTimerConfig {
        limit,
        check_interval: std::num::NonZeroU32::MIN.saturating_add(63),
    }
}

/// The pack's settings as rules see them: `data.charter.settings`.
fn settings_data(pack: &PolicyPack) -> Value {
    Value::from(serde_json::json!({ "charter": { "settings": pack.settings() } }))
}

/// What a failed evaluation was: the execution timer running out (`limit`), or a policy error.
pub(crate) fn eval_error(error: &impl std::fmt::Display, limit: Duration) -> EvalError {
    let message = error.to_string();
    if message.contains("execution exceeded") || message.contains("time limit") {
        EvalError::Timeout(limit)
    } else {
        EvalError::Failed(message)
    }
}

/// The `deny_*`/`warn_*` findings of an evaluated `data.charter.<tree>` query.
pub(crate) fn findings_of(results: &regorus::QueryResults) -> Vec<RawFinding> {
    let mut out = Vec::new();
    for result in &results.result {
        for expr in &result.expressions {
            collect(&expr.value, "", &mut out);
        }
    }
    out
}

/// The findings of one evaluated rule `key` (`deny_x`/`warn_x`) of package `area`.
pub(crate) fn findings_of_rule(area: &str, key: &str, value: Value) -> Vec<RawFinding> {
    let mut object = Value::new_object();
    if let Ok(map) = object.as_object_mut() {
        map.insert(Value::from(key), value);
    }
    let mut out = Vec::new();
    collect(&object, area, &mut out);
    out
}

/// Whether the engine has the package `root` or one below it.
pub(crate) fn has_package(engine: &Engine, root: &str) -> Result<bool, PackError> {
    let below = format!("{root}.");
    Ok(engine
        .get_packages()
        .map_err(|e| PackError::Rego {
            path: "rego/".into(),
            message: e.to_string(),
        })?
        .iter()
        .any(|p| p == root || p.starts_with(&below)))
}

/// Walks the `data.charter.rules` object: packages (possibly nested) hold `deny_*`/`warn_*` sets.
///
/// Matches on `Value` variants rather than calling regorus' `as_*` accessors: those build an
/// error (with a backtrace, when enabled) for every mismatch, which cost a quarter of a run.
fn collect(value: &Value, area: &str, out: &mut Vec<RawFinding>) {
    let Value::Object(object) = value else { return };
    for (key, value) in object.iter() {
        let Value::String(key) = key else { continue };
        let key: &str = key;
        let (severity, name) = if let Some(name) = key.strip_prefix("deny_") {
            (Severity::Error, name)
        } else if let Some(name) = key.strip_prefix("warn_") {
            (Severity::Warning, name)
        } else {
            if matches!(value, Value::Object(_)) {
                let nested = if area.is_empty() {
                    key.to_owned()
                } else {
                    format!("{area}.{key}")
                };
                collect(value, &nested, out);
            }
            continue;
        };
        let rule = format!("{area}/{name}");
        let mut push = |item: &Value| {
            if let Some(found) = message_of(item) {
                out.push(RawFinding {
                    rule: rule.clone(),
                    severity,
                    message: found.message,
                    path: found.path,
                    product: found.product,
                    file: found.file,
                });
            }
        };
        match value {
            Value::Set(set) => set.iter().for_each(&mut push),
            Value::Array(array) => array.iter().for_each(&mut push),
            _ => {}
        }
    }
}

/// What one element of a `deny_`/`warn_` set says.
struct Message {
    message: String,
    path: Option<String>,
    product: Option<String>,
    file: Option<String>,
}

fn message_of(item: &Value) -> Option<Message> {
    match item {
        Value::String(s) => Some(Message {
            message: s.to_string(),
            path: None,
            product: None,
            file: None,
        }),
        Value::Object(object) => {
            let get = |k: &str| object.get(&Value::from(k));
            let text = |k: &str| match get(k) {
                Some(Value::String(s)) => Some(s.to_string()),
                _ => None,
            };
            Some(Message {
                message: text("msg")?,
                path: get("path").and_then(path_of),
                product: text("product"),
                file: text("file"),
            })
        }
        _ => None,
    }
}

/// A path given as `"fields[2].masking"` or as `["fields", 2, "masking"]`.
fn path_of(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.to_string()),
        Value::Array(parts) => {
            let mut path = String::new();
            for part in parts.iter() {
                match part {
                    Value::String(s) => {
                        if !path.is_empty() {
                            path.push('.');
                        }
                        path.push_str(s);
                    }
                    Value::Number(n) => path.push_str(&format!("[{}]", n.as_u64()?)),
                    _ => return None,
                }
            }
            Some(path)
        }
        _ => None,
    }
}
