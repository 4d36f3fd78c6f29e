//! The contract rules compiled to regorus's bytecode virtual machine (RVM).
//!
//! The interpreter walks the policy's syntax tree for every contract; the RVM runs the same
//! rules as bytecode compiled once per pack, about 2.3× faster on the default pack (274 µs
//! instead of 637 µs a contract on the 10,001-product benchmark mesh) with the same
//! findings. Each `deny_*`/`warn_*` rule is an entry point, run in the order the
//! interpreter's `data.charter.rules` object lists them, so findings come out in the same
//! order. A pack the compiler cannot take (it does not support every construct yet, e.g.
//! `with`) stays on the interpreter: see [`super::RuleEngine`].
//!
//! A contract normally runs one entry point, [`ALL_RULES`]: an array of every rule's value,
//! in that order, from a module Charter adds. The machine clears its rule cache at each
//! entry point, so one run computes the helper rules the pack's rules share (a contract's
//! field names, its settings) once instead of once per rule, and pays the entry's setup
//! once. When that array is undefined (a complete rule with no value makes it so) or the
//! run fails, the rules run one entry point each, as the array's own result cannot say
//! which rule it was: the findings and the error are those of the rule-by-rule run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use regorus::languages::rego::compiler::Compiler;
use regorus::rvm::RegoVM;
use regorus::rvm::program::Program;
use regorus::rvm::vm::VmError;
use regorus::{Engine, Value};

use super::eval::{EvalError, RawFinding, findings_of_rule};

/// The package of the module Charter adds to run every contract rule in one entry point.
const ALL_RULES_PACKAGE: &str = "charter_compiled_entry";
/// Its rule: the array of every contract rule's value, in the interpreter's order.
const ALL_RULES: &str = "data.charter_compiled_entry.all_rules";

/// The compiled program of a pack's contract rules, shared by every worker.
#[derive(Debug, Clone)]
pub(crate) struct CompiledRules {
    program: Arc<Program>,
    /// The rules' entry points: (package below the root, rule name), at index `first_rule + i`.
    entries: Arc<[(String, String)]>,
    /// Index of the first rule's entry point: 1 when entry point 0 is [`ALL_RULES`].
    first_rule: usize,
    data: Value,
}

impl CompiledRules {
    /// Compiles the rules `heads` ((package below `root`, rule name)) of the prepared
    /// `engine`, whose data is `data`.
    ///
    /// # Errors
    /// The compiler's message when it cannot compile the pack.
    pub(crate) fn compile(
        engine: &Engine,
        root: &str,
        heads: Vec<(String, String)>,
        data: Value,
    ) -> Result<Self, String> {
        // `heads` come in the interpreter's order (see `rule_heads`), and so do findings.
        let paths: Vec<String> = heads
            .iter()
            .map(|(area, rule)| format!("{root}.{area}.{rule}"))
            .collect();
        if paths.is_empty() {
            return Err("the pack has no contract rules".to_owned());
        }
        let (program, first_rule) = match all_rules_module(&paths)
            .and_then(|module| program(engine, Some(module), ALL_RULES, &paths).ok())
        {
            Some(program) => (program, 1),
            // A pack whose rule paths cannot be written as one array (or that defines the
            // package itself) runs one entry point per rule.
            None => (program(engine, None, &paths[0], &paths[1..])?, 0),
        };
        Ok(Self {
            program,
            entries: heads.into(),
            first_rule,
            data,
        })
    }

    /// A virtual machine for one worker.
    ///
    /// # Errors
    /// The machine refuses the data (it does not: the data is an object).
    pub(crate) fn machine(&self) -> Result<Machine, String> {
        let mut vm = RegoVM::new();
        let mut program = Program::clone(&self.program);
        program.literals = program.literals.iter().map(unshared).collect();
        vm.load_program(Arc::new(program));
        vm.set_data(unshared(&self.data))
            .map_err(|e| e.to_string())?;
        // Lenient builtins, as in the interpreter: a builtin given the wrong type is
        // undefined, not an error. The time budget bounds the work, not a count of
        // instructions (the machine's default of 25,000 is a few hundred fields).
        vm.set_strict_builtin_errors(false);
        vm.set_max_instructions(usize::MAX);
        Ok(Machine {
            vm,
            entries: self.entries.clone(),
            first_rule: self.first_rule,
        })
    }
}

/// `value`, sharing nothing with it: every string, array, set and object is allocated
/// again.
///
/// Each worker's machine gets its own literals and data. The machine clones a literal or a
/// part of the data each time it loads one, and a shared value's reference count, updated
/// by two cores, moves between their caches on every load.
fn unshared(value: &Value) -> Value {
    match value {
        Value::String(s) => Value::from(s.as_ref()),
        Value::Array(items) => Value::from(items.iter().map(unshared).collect::<Vec<_>>()),
        Value::Set(items) => Value::from(
            items
                .iter()
                .map(unshared)
                .collect::<std::collections::BTreeSet<_>>(),
        ),
        Value::Object(entries) => Value::from(
            entries
                .iter()
                .map(|(key, item)| (unshared(key), unshared(item)))
                .collect::<std::collections::BTreeMap<_, _>>(),
        ),
        Value::Null | Value::Bool(_) | Value::Number(_) | Value::Undefined => value.clone(),
    }
}

/// Compiles `engine`'s rules, with `module` added, to a program whose entry points are
/// `first` and then `rest`.
fn program(
    engine: &Engine,
    module: Option<String>,
    first: &str,
    rest: &[String],
) -> Result<Arc<Program>, String> {
    let mut engine = engine.clone();
    if let Some(module) = module {
        engine
            .add_policy(format!("{ALL_RULES_PACKAGE}.rego"), module)
            .map_err(|e| e.to_string())?;
    }
    let policy = engine
        .compile_with_entrypoint(&first.into())
        .map_err(|e| e.to_string())?;
    let refs: Vec<&str> = std::iter::once(first)
        .chain(rest.iter().map(String::as_str))
        .collect();
    Compiler::compile_from_policy(&policy, &refs).map_err(|e| e.to_string())
}

/// The module defining [`ALL_RULES`] over the rules at `paths` (`data.charter.rules.<area>.<rule>`),
/// or `None` when a path is not a plain dotted reference (each part an identifier).
fn all_rules_module(paths: &[String]) -> Option<String> {
    let identifier = |part: &str| {
        let mut chars = part.chars();
        chars
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
    };
    let plain = |path: &str| {
        path.strip_prefix("data.")
            .is_some_and(|rest| rest.split('.').all(identifier))
    };
    if !paths.iter().all(|path| plain(path)) {
        return None;
    }
    Some(format!(
        "package {ALL_RULES_PACKAGE}\n\nall_rules := [\n\t{},\n]\n",
        paths.join(",\n\t")
    ))
}

/// One worker's virtual machine.
#[derive(Debug)]
pub(crate) struct Machine {
    vm: RegoVM,
    entries: Arc<[(String, String)]>,
    first_rule: usize,
}

impl Machine {
    /// Runs every rule on `input` within `timeout` (for all rules together).
    ///
    /// # Errors
    /// A policy error for this input, or the time budget ran out.
    pub(crate) fn evaluate(
        &mut self,
        input: Value,
        timeout: Duration,
    ) -> Result<Vec<RawFinding>, EvalError> {
        let start = Instant::now();
        self.vm.set_input(input);
        if self.first_rule == 1 {
            self.vm
                .set_execution_timer_config(Some(super::timer(timeout)));
            match self.vm.execute_entry_point_by_index(0) {
                Ok(Value::Array(values)) if values.len() == self.entries.len() => {
                    let mut found = Vec::new();
                    for ((area, rule), value) in self.entries.iter().zip(values.iter()) {
                        found.extend(findings_of_rule(area, rule, value.clone()));
                    }
                    return Ok(found);
                }
                Err(VmError::TimeLimitExceeded { .. }) => return Err(EvalError::Timeout(timeout)),
                // Undefined, or an error: rule by rule, for the same findings or error.
                _ => {}
            }
        }
        self.rule_by_rule(start, timeout)
    }

    /// Runs each rule's own entry point on the input set, within what is left of
    /// `timeout` since `start`.
    fn rule_by_rule(
        &mut self,
        start: Instant,
        timeout: Duration,
    ) -> Result<Vec<RawFinding>, EvalError> {
        let mut found = Vec::new();
        for (index, (area, rule)) in self.entries.iter().enumerate() {
            // The machine restarts its timer for each entry point: give each what is left.
            let left = timeout.saturating_sub(start.elapsed());
            if left.is_zero() {
                return Err(EvalError::Timeout(timeout));
            }
            self.vm.set_execution_timer_config(Some(super::timer(left)));
            match self
                .vm
                .execute_entry_point_by_index(self.first_rule + index)
            {
                Ok(Value::Undefined) => {}
                Ok(value) => found.extend(findings_of_rule(area, rule, value)),
                Err(VmError::TimeLimitExceeded { .. }) => return Err(EvalError::Timeout(timeout)),
                Err(e) => return Err(EvalError::Failed(e.to_string())),
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::PolicyPack;

    fn compiled(rego: &str) -> CompiledRules {
        let pack = PolicyPack::from_files([("rego/rules.rego", rego)]).expect("loads");
        let engine = crate::rules::prepared_engine(&pack).expect("prepares");
        let heads = crate::rules::rule_heads(&pack, "charter.rules.");
        CompiledRules::compile(&engine, "data.charter.rules", heads, Value::new_object())
            .expect("compiles")
    }

    fn rules_found(machine: &mut Machine, id: &str) -> Vec<String> {
        let input = Value::from(serde_json::json!({ "id": id }));
        let found = machine
            .evaluate(input, Duration::from_secs(5))
            .expect("evaluates");
        found
            .into_iter()
            .map(|f| format!("{} {}", f.rule, f.message))
            .collect()
    }

    #[test]
    fn a_machine_shares_no_literal_with_another() {
        let value = Value::from_json_str(
            r#"{"pattern": "^[a-z]+$", "list": ["a", {"b": [1, true, null]}]}"#,
        )
        .expect("JSON");
        let copy = unshared(&value);
        assert_eq!(copy, value);
        let (Value::String(a), Value::String(b)) = (&value["pattern"], &copy["pattern"]) else {
            panic!("strings");
        };
        assert!(!Arc::ptr_eq(a, b), "the copy's strings are its own");
        let (Value::Array(a), Value::Array(b)) = (&value["list"], &copy["list"]) else {
            panic!("arrays");
        };
        assert!(!Arc::ptr_eq(a, b), "and so are its arrays");
    }

    #[test]
    fn every_rule_runs_in_one_entry_point_and_an_undefined_rule_falls_back() {
        let rules = compiled(
            "package charter.rules.a\n\nshared := upper(input.id)\n\ndeny_x contains \"x\" if shared == \"P\"\n\nwarn_y contains \"y\" if shared != \"P\"\n\n# A complete rule: undefined unless the id is q.\ndeny_maybe := {\"maybe\"} if input.id == \"q\"\n",
        );
        assert_eq!(rules.first_rule, 1, "the rules compile to one entry point");
        let mut machine = rules.machine().expect("a machine");
        // `deny_maybe` is undefined: the array is too, and each rule runs on its own.
        assert_eq!(rules_found(&mut machine, "p"), ["a/x x"]);
        assert_eq!(rules_found(&mut machine, "q"), ["a/maybe maybe", "a/y y"]);
    }

    #[test]
    fn the_default_pack_runs_in_one_entry_point() {
        let pack = PolicyPack::from_files(charter_policies::files()).expect("the default pack");
        let engine = crate::rules::prepared_engine(&pack).expect("prepares");
        let heads = crate::rules::rule_heads(&pack, "charter.rules.");
        let rules =
            CompiledRules::compile(&engine, "data.charter.rules", heads, Value::new_object())
                .expect("compiles");
        assert_eq!(rules.first_rule, 1);
        assert!(rules.entries.len() > 20, "{} rules", rules.entries.len());
    }

    #[test]
    fn a_rule_path_that_is_not_plain_runs_rule_by_rule() {
        let paths = |p: &[&str]| p.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let module = all_rules_module(&paths(&[
            "data.charter.rules.a.deny_x",
            "data.charter.rules.b_2.warn_y",
        ]))
        .expect("plain paths");
        assert!(
            module.contains("\tdata.charter.rules.a.deny_x,\n\tdata.charter.rules.b_2.warn_y,\n"),
            "{module}"
        );
        assert_eq!(
            all_rules_module(&paths(&["data.charter.rules.a-b.deny_x"])),
            None
        );
        assert_eq!(
            all_rules_module(&paths(&["data.charter.rules.2a.deny_x"])),
            None
        );
        assert_eq!(
            all_rules_module(&paths(&["data.charter.rules..deny_x"])),
            None
        );
    }

    /// A known difference of regorus 0.14's bytecode machine, documented for pack authors
    /// (README, `--rego-engine`): an assignment from a reference that is undefined
    /// succeeds, and an array comprehension keeps an element whose value is undefined,
    /// where the interpreter (and OPA) stop. When this test fails, regorus has fixed it:
    /// drop the caveat.
    #[test]
    fn the_machine_keeps_an_undefined_value_where_the_interpreter_stops() {
        let rego = "package charter.rules.probe\n\nimport rego.v1\n\n\
            deny_assigned contains \"a\" if { v := input.missing; m := sprintf(\"%v\", [v]) }\n\n\
            deny_listed contains \"b\" if count([x.y | some x in input.list]) > 0\n\n\
            deny_collected contains \"c\" if count({x.y | some x in input.list}) > 0\n\n\
            deny_compared contains \"d\" if input.missing != null\n";
        let rules = compiled(rego);
        let mut machine = rules.machine().expect("a machine");
        let input = serde_json::json!({ "id": "p", "list": [{"a": 1}, {"a": 2}] });
        let found: Vec<String> = machine
            .evaluate(Value::from(input.clone()), Duration::from_secs(5))
            .expect("evaluates")
            .into_iter()
            .map(|f| f.rule)
            .collect();
        assert_eq!(found, ["probe/assigned", "probe/listed"]);

        let pack = PolicyPack::from_files([("rego/rules.rego", rego)]).expect("loads");
        let mut engine = crate::rules::prepared_engine(&pack).expect("prepares");
        engine.set_input(Value::from(input));
        let results = engine
            .eval_query("data.charter.rules".into(), false)
            .expect("evaluates");
        assert!(
            super::super::eval::findings_of(&results).is_empty(),
            "the interpreter finds nothing"
        );
    }
}
