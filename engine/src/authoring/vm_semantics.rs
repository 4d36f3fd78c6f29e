//! Where regorus's bytecode machine (RVM) and Rego part ways: a pack that could reach one
//! of those places keeps its contract rules in the interpreter.
//!
//! Rego makes some mistakes errors: a complete rule or a function with two different
//! values, an object (a comprehension, or a rule built key by key) with one key twice. OPA
//! and regorus's interpreter raise them, and Charter turns them into `policy/error`
//! findings. The bytecode machine of regorus 0.14 quietly answers undefined instead, or
//! keeps the last value: a finding would go missing, and nothing would say so. Whether a
//! pack can reach such an error depends on its input, so the check is on its shape: a
//! pack with none of these constructs cannot.

use std::collections::BTreeMap;

use regorus::unstable::{Expr, Rule, RuleHead};

use super::ast::{self, HeadKind, ParsedModule, Stmt};
use crate::pack::PolicyPack;

/// Packages whose rules never run with the contract rules: the repository-wide rules
/// (`charter.mesh`) and the access row filters (`charter.access`) run in the interpreter.
const ELSEWHERE: [&str; 2] = ["charter.mesh", "charter.access"];

/// Why the pack's contract rules must run in the interpreter to keep Rego's errors, with
/// the file and line of the first construct that could raise one; `None` when nothing can.
pub(crate) fn interpreter_only(pack: &PolicyPack) -> Option<String> {
    // (package, rule name) → (file:line of the first definition, definitions, any with a value)
    let mut definitions: BTreeMap<(String, String), (String, usize, bool)> = BTreeMap::new();
    for file in pack.rego().filter(|f| !f.path.ends_with("_test.rego")) {
        let Ok(module) = ParsedModule::parse(&file.path, &file.text) else {
            continue;
        };
        let package = module.package();
        if ELSEWHERE
            .iter()
            .any(|p| package == *p || package.starts_with(&format!("{p}.")))
        {
            continue;
        }
        if let Some(line) = object_comprehension(&module) {
            return Some(format!(
                "{}:{line}: an object comprehension can see one key twice",
                file.path
            ));
        }
        for rule in &module.module.policy {
            let Some((name, kind, span)) = ast::rule_head(rule) else {
                continue;
            };
            match kind {
                HeadKind::RefHead => {
                    return Some(format!(
                        "{}:{}: `{name}` is built key by key and can see one key twice",
                        file.path, span.line
                    ));
                }
                HeadKind::Complete | HeadKind::Function => {
                    let entry = definitions
                        .entry((package.clone(), name))
                        .or_insert_with(|| (format!("{}:{}", file.path, span.line), 0, false));
                    entry.1 += 1;
                    entry.2 |= has_value(rule);
                }
                HeadKind::PartialSet | HeadKind::Default => {}
            }
        }
    }
    definitions
        .into_iter()
        .find(|(_, (_, count, valued))| *count > 1 && *valued)
        .map(|((package, name), (at, count, _))| {
            format!("{at}: `{package}.{name}` has {count} definitions that can disagree")
        })
}

/// Whether a complete rule or function states its value (`:= v`), rather than being `true`.
fn has_value(rule: &Rule) -> bool {
    match rule {
        Rule::Spec {
            head: RuleHead::Compr { assign, .. } | RuleHead::Func { assign, .. },
            ..
        } => assign.is_some(),
        Rule::Spec { .. } | Rule::Default { .. } => false,
    }
}

/// The line of the module's first object comprehension, if it has one.
fn object_comprehension(module: &ParsedModule) -> Option<u32> {
    let mut found = None;
    ast::module_stmts(&module.module, &mut |stmt| {
        let (Stmt::Expr(expr) | Stmt::Not(expr, _)) = stmt;
        ast::walk_expr(expr, &mut |e| {
            if let Expr::ObjectCompr { span, .. } = e.as_ref() {
                found = found.or(Some(span.line));
            }
            true
        });
    });
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    fn verdict(rego: &str) -> Option<String> {
        let pack = PolicyPack::from_files([("rego/r.rego", rego)]).expect("loads");
        interpreter_only(&pack)
    }

    const HEADER: &str = "package charter.rules.r\n\nimport rego.v1\n\n";

    #[test]
    fn the_default_pack_runs_compiled() {
        let pack = PolicyPack::from_files(charter_policies::files()).expect("loads");
        assert_eq!(interpreter_only(&pack), None);
    }

    #[test]
    fn constructs_that_can_raise_an_error_keep_the_interpreter() {
        for (rego, expect) in [
            (
                "level := 1 if input.a\nlevel := 2 if input.b\n",
                "`charter.rules.r.level` has 2 definitions",
            ),
            (
                "f(x) := 1 if x > 0\nf(x) := 2 if x > 1\n",
                "`charter.rules.r.f` has 2 definitions",
            ),
            (
                "by_name[f.name] := f if some f in input.fields\n",
                "r.rego:5: `by_name` is built key by key",
            ),
            (
                "names := {f.name: f | some f in input.fields}\n",
                "r.rego:5: an object comprehension",
            ),
            (
                "deny_x contains m if {\n\tnot count({f.name: 1 | some f in input.fields}) == 1\n\tm := \"x\"\n}\n",
                "r.rego:6: an object comprehension",
            ),
        ] {
            let why = verdict(&format!("{HEADER}{rego}")).unwrap_or_else(|| panic!("{rego}"));
            assert!(why.contains(expect), "{rego}: {why}");
        }
    }

    #[test]
    fn constructs_that_cannot_raise_one_run_compiled() {
        for rego in [
            "named if input.a\nnamed if input.b\n",
            "default level := 0\nlevel := 1 if input.a\n",
            "level := 1 if input.a else := 2\n",
            "deny_x contains m if {\n\tsome f in input.fields\n\tm := f.name\n}\n",
            "names := {f.name | some f in input.fields}\n",
        ] {
            assert_eq!(verdict(&format!("{HEADER}{rego}")), None, "{rego}");
        }
    }

    #[test]
    fn repository_wide_and_access_packages_do_not_count() {
        let rego = "package charter.mesh.m\n\nimport rego.v1\n\nlevel := 1 if input.a\nlevel := 2 if input.b\n";
        assert_eq!(verdict(rego), None);
    }
}
