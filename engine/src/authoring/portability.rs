//! Rego that means something else in regorus than in OPA.
//!
//! The two engines disagree on a negated call, membership or comparison over a reference
//! that may be undefined: `not is_number(input.x)` and `not input.x in S` are true in
//! regorus when `input.x` is missing, and undefined in OPA. A pack meant to run in both
//! reads such values with a default, `object.get(input, "x", null)`, which is defined in
//! both. A bare `not input.x` ("x is missing or false") means the same in both, and is left
//! alone.

use regorus::unstable::{Expr, Ref};

use super::ast::{self, ParsedModule, Stmt};
use super::problem::{Check, Problem};

/// Builtins whose results differ between regorus and OPA on some inputs, and why.
const DIVERGENT_BUILTINS: &[(&str, &str)] = &[(
    "semver.is_valid",
    "OPA's accepts versions such as `v1.2.3` and `01.2.3` that regorus' refuses; match semver.org's strict pattern with `regex.match` instead",
)];

/// A warning for every `not` followed by a call, membership or comparison that reads
/// `input.` directly, and for every call of a builtin the two engines answer differently.
pub(crate) fn check(modules: &[ParsedModule]) -> Vec<Problem> {
    let mut problems = Vec::new();
    for module in modules {
        divergent_calls(module, &mut problems);
        ast::module_stmts(&module.module, &mut |stmt| {
            let Stmt::Not(expr, span) = stmt else { return };
            if !matches!(
                expr.as_ref(),
                Expr::Call { .. } | Expr::Membership { .. } | Expr::BoolExpr { .. }
            ) {
                return;
            }
            let refs = input_refs(expr);
            let Some(first) = refs.first() else { return };
            let statement = span.text().lines().next().unwrap_or_default().trim();
            let reference = first.span().text();
            let portable = refs
                .iter()
                .map(|r| (r.span().text(), portable_form(r)))
                .try_fold(statement.to_owned(), |text, (from, to)| {
                    to.map(|to| text.replace(from, &to))
                });
            let fix = match portable {
                Some(portable) => format!("write `{portable}`"),
                None => format!(
                    "read `{reference}` with a default first (`object.get(input, [\"key\", …], null)`)"
                ),
            };
            problems.push(
                Problem::warning(
                    Check::RegoPortability,
                    &module.path,
                    format!(
                        "`{statement}` negates an expression over `{reference}`, which may be undefined: regorus makes it true when `{reference}` is missing, OPA undefined; {fix} so that both engines agree"
                    ),
                )
                .at(span.line, Some(span.col)),
            );
        });
    }
    problems
}

/// A warning at every call of a [`DIVERGENT_BUILTINS`] builtin in `module`.
fn divergent_calls(module: &ParsedModule, problems: &mut Vec<Problem>) {
    ast::module_stmts(&module.module, &mut |stmt| {
        let (Stmt::Expr(expr) | Stmt::Not(expr, _)) = stmt;
        ast::walk_expr(expr, &mut |e| {
            if let Expr::Call { fcn, span, .. } = e.as_ref()
                && let Some(name) = ast::ref_path(fcn).map(|p| p.join("."))
                && let Some((_, why)) = DIVERGENT_BUILTINS.iter().find(|(b, _)| *b == name)
            {
                problems.push(
                    Problem::warning(
                        Check::RegoPortability,
                        &module.path,
                        format!("`{name}` means something else in regorus than in OPA: {why}"),
                    )
                    .at(span.line, Some(span.col)),
                );
            }
            true
        });
    });
}

/// The outermost references rooted at `input` (with at least one key) in `expr`.
fn input_refs(expr: &Ref<Expr>) -> Vec<&Ref<Expr>> {
    let mut refs = Vec::new();
    ast::walk_expr(expr, &mut |e| match e.as_ref() {
        Expr::RefDot { .. } | Expr::RefBrack { .. }
            if ast::ref_root(e).is_some_and(|root| root.text() == "input") =>
        {
            refs.push(e);
            false
        }
        _ => true,
    });
    refs
}

/// `object.get(input, "x", null)` for `input.x`, `object.get(input, ["a", "b"], null)` for
/// `input.a.b`; `None` when a key is not a literal string (`input.fields[i]`).
fn portable_form(reference: &Expr) -> Option<String> {
    let path = ast::ref_path(reference)?;
    let keys = path.get(1..).filter(|keys| !keys.is_empty())?;
    let quoted: Vec<String> = keys.iter().map(|k| format!("{k:?}")).collect();
    let keys = match quoted.as_slice() {
        [one] => one.clone(),
        many => format!("[{}]", many.join(", ")),
    };
    Some(format!("object.get(input, {keys}, null)"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn warnings(body: &str) -> Vec<String> {
        let text = format!("package charter.rules.t\n\nx if {{\n\t{body}\n}}\n");
        let module = ParsedModule::parse("rego/t.rego", &text).unwrap();
        check(&[module]).into_iter().map(|p| p.message).collect()
    }

    #[test]
    fn negated_calls_and_memberships_over_input_are_warned() {
        let w = warnings("not is_number(input.x)");
        assert_eq!(w.len(), 1);
        assert!(
            w[0].contains("write `not is_number(object.get(input, \"x\", null))`"),
            "{w:?}"
        );
        let w = warnings("not input.spec.status in {\"a\"}");
        assert!(
            w[0].contains("`not object.get(input, [\"spec\", \"status\"], null) in {\"a\"}`"),
            "{w:?}"
        );
        let w = warnings("not startswith(input.fields[i].name, \"x\")");
        assert!(w[0].contains("with a default first"), "{w:?}");
        assert_eq!(warnings("not input.x == 1").len(), 1);
    }

    #[test]
    fn builtins_the_engines_answer_differently_are_warned() {
        let w = warnings("semver.is_valid(input.version)");
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(
            w[0].contains("`semver.is_valid`") && w[0].contains("v1.2.3"),
            "{w:?}"
        );
        let w = warnings("v := input.version\n\tnot semver.is_valid(v)");
        assert_eq!(w.len(), 1, "negated too: {w:?}");
        assert!(warnings("semver.compare(\"1.0.0\", \"2.0.0\") < 0").is_empty());
    }

    #[test]
    fn portable_forms_are_not_warned() {
        assert!(warnings("not input.x").is_empty());
        assert!(warnings("not is_number(object.get(input, \"x\", null))").is_empty());
        assert!(warnings("y := input.x\n\tnot is_number(y)").is_empty());
        assert!(warnings("is_number(input.x)").is_empty());
    }
}
