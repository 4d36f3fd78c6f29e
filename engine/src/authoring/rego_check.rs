//! Does the pack's Rego parse and compile? Each module is parsed on its own, so that a
//! syntax error names its file, line and column; then the modules are compiled together
//! (one error at a time: the module at fault is set aside and the rest compiled again),
//! calls are resolved (regorus finds an unknown function only when it is called), and the
//! contract rules are compiled as `charter check` compiles them.

use std::collections::{BTreeMap, BTreeSet};

use regorus::unstable::{BUILTINS, Expr};
use regorus::{Engine, Value};

use super::ast::{self, ParsedModule, Stmt};
use super::diagnostic::Diagnostic;
use super::problem::{Check, Problem};
use crate::pack::PolicyPack;
use crate::rules::{RuleSet, RuleSetOptions};

/// Parses every `rego/**/*.rego` file of the pack on its own.
pub(crate) fn parse_all(pack: &PolicyPack) -> (Vec<ParsedModule>, Vec<Problem>) {
    let mut parsed = Vec::new();
    let mut problems = Vec::new();
    for file in pack.rego() {
        match ParsedModule::parse(&file.path, &file.text) {
            Ok(module) => parsed.push(module),
            Err(diagnostic) => {
                problems.push(Problem::from_diagnostic(Check::RegoParse, diagnostic))
            }
        }
    }
    (parsed, problems)
}

/// An engine holding `modules` and the pack's settings at `data.charter.settings`.
pub(crate) fn engine_with(
    pack: &PolicyPack,
    modules: &[&ParsedModule],
) -> Result<Engine, Diagnostic> {
    let mut engine = Engine::new();
    engine.set_strict_builtin_errors(false);
    for module in modules {
        engine
            .add_policy(module.path.clone(), module.text.clone())
            .map_err(|e| Diagnostic::from_regorus(&e.to_string(), &module.path))?;
    }
    let settings = serde_json::json!({ "charter": { "settings": pack.settings() } });
    engine
        .add_data(Value::from(settings))
        .map_err(|e| Diagnostic::at_file("data", format!("the settings cannot be loaded: {e}")))?;
    Ok(engine)
}

/// Compiles the parsed modules together: every compile error, each attributed to its file.
pub(crate) fn compile(pack: &PolicyPack, parsed: &[ParsedModule]) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut remaining: Vec<&ParsedModule> = parsed.iter().collect();
    while !remaining.is_empty() {
        let result = engine_with(pack, &remaining).and_then(|mut engine| {
            engine
                .eval_query("true".to_owned(), false)
                .map(|_| ())
                .map_err(|e| Diagnostic::from_regorus(&e.to_string(), "rego"))
        });
        let Err(diagnostic) = result else { break };
        let before = remaining.len();
        remaining.retain(|m| m.path != diagnostic.file);
        problems.push(Problem::from_diagnostic(Check::RegoCompile, diagnostic));
        if remaining.len() == before {
            break;
        }
    }
    problems.extend(unknown_functions(parsed));
    problems
}

/// Compiles the contract rules as `charter check` does (which also evaluates them once on
/// an empty product): what a clean compile of the modules can still hide.
pub(crate) fn compile_contract_rules(pack: &PolicyPack) -> Option<Problem> {
    let error = RuleSet::compile(pack, RuleSetOptions::default()).err()?;
    let (path, message) = match &error {
        crate::PackError::Rego { path, message } => (path.as_str(), message.clone()),
        other => ("rego", other.to_string()),
    };
    let mut diagnostic = Diagnostic::from_regorus(&message, path);
    if !diagnostic.message.starts_with("the contract rules") {
        diagnostic.message = format!(
            "the contract rules fail on an empty product: {}",
            diagnostic.message
        );
    }
    Some(Problem::from_diagnostic(Check::RegoCompile, diagnostic))
}

/// Calls of functions that are neither regorus builtins nor defined in the pack.
fn unknown_functions(parsed: &[ParsedModule]) -> Vec<Problem> {
    let mut defined = BTreeSet::new();
    for module in parsed {
        let package = format!("data.{}", module.package());
        for rule in &module.module.policy {
            if let Some(name) = ast::function_name(rule) {
                defined.insert(format!("{package}.{name}"));
            }
        }
    }
    let mut problems = Vec::new();
    for module in parsed {
        let package = format!("data.{}", module.package());
        let imports: BTreeMap<String, String> = module
            .module
            .imports
            .iter()
            .filter_map(|import| {
                let target = ast::ref_path(&import.refr)?;
                let alias = match &import.r#as {
                    Some(span) => span.text().to_owned(),
                    None => target.last()?.clone(),
                };
                Some((alias, target.join(".")))
            })
            .collect();
        let resolves = |name: &str| -> bool {
            if name == "print" || BUILTINS.contains_key(name) {
                return true;
            }
            if defined.contains(&format!("{package}.{name}")) || defined.contains(name) {
                return true;
            }
            let (head, rest) = name.split_once('.').unwrap_or((name, ""));
            imports.get(head).is_some_and(|target| {
                let full = if rest.is_empty() {
                    target.clone()
                } else {
                    format!("{target}.{rest}")
                };
                defined.contains(&full)
            })
        };
        let mut check = |expr: &regorus::unstable::Ref<Expr>| {
            ast::walk_expr(expr, &mut |e| {
                if let Expr::Call { fcn, span, .. } = e.as_ref()
                    && let Some(parts) = ast::ref_path(fcn)
                {
                    let name = parts.join(".");
                    if !resolves(&name) {
                        problems.push(
                            Problem::error(
                                Check::RegoCompile,
                                &module.path,
                                format!(
                                    "unknown function `{name}`: neither a builtin regorus knows nor a function of the pack"
                                ),
                            )
                            .at(span.line, Some(span.col)),
                        );
                    }
                }
                true
            });
        };
        ast::module_stmts(&module.module, &mut |stmt| match stmt {
            Stmt::Expr(expr) | Stmt::Not(expr, _) => check(expr),
        });
    }
    problems
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pack(files: &[(&str, &str)]) -> PolicyPack {
        PolicyPack::from_files(files.iter().map(|(p, t)| (*p, *t))).unwrap()
    }

    #[test]
    fn a_syntax_error_names_file_line_and_column() {
        let pack = pack(&[
            ("rego/a.rego", "package charter.rules.a\n\nx := 1 +\n"),
            ("rego/b.rego", "package charter.rules.b\n\ny := 2\n"),
        ]);
        let (parsed, problems) = parse_all(&pack);
        assert_eq!(parsed.len(), 1);
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].file, "rego/a.rego");
        assert_eq!(problems[0].line, Some(4));
        assert_eq!(problems[0].check, Check::RegoParse);
    }

    #[test]
    fn compile_errors_are_attributed_to_each_module() {
        let pack = pack(&[
            (
                "rego/a.rego",
                "package charter.rules.a\n\nx if { y == 1 }\n",
            ),
            (
                "rego/b.rego",
                "package charter.rules.b\n\nz if { w == 1 }\n",
            ),
            ("rego/c.rego", "package charter.rules.c\n\nok := 1\n"),
        ]);
        let (parsed, _) = parse_all(&pack);
        let problems = compile(&pack, &parsed);
        let files: Vec<&str> = problems.iter().map(|p| p.file.as_str()).collect();
        assert_eq!(files, ["rego/a.rego", "rego/b.rego"]);
        assert!(problems[0].message.contains("`y`"), "{problems:?}");
    }

    #[test]
    fn unknown_functions_are_errors_and_imports_resolve() {
        let pack = pack(&[
            (
                "rego/a.rego",
                "package charter.rules.a\n\nimport data.charter.lib\n\nx if { lib.helper(1) }\ny if { nope(1) }\nz if { is_number(1); local(2); data.charter.lib.helper(3) }\nlocal(v) := v\n",
            ),
            ("rego/lib.rego", "package charter.lib\n\nhelper(x) := x\n"),
        ]);
        let (parsed, _) = parse_all(&pack);
        let problems = compile(&pack, &parsed);
        assert_eq!(problems.len(), 1, "{problems:?}");
        assert!(problems[0].message.contains("`nope`"));
        assert_eq!(problems[0].line, Some(6));
    }
}
