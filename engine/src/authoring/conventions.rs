//! Charter's conventions for Rego modules, checked on the syntax tree:
//!
//! - packages live under `charter.rules.<area>` (contract rules), `charter.mesh.<area>`
//!   (repository-wide rules) or `charter.access*` (access decisions), and their `_test`
//!   packages; any other package needs an `--allow-package` opt-in;
//! - a `deny_<name>` or `warn_<name>` rule is a partial set whose elements are messages
//!   (strings) or `{msg, path?}` objects (`{msg, product?, file?, path?}` in
//!   `charter.mesh.*`, whose findings name the contract they belong to): a complete rule,
//!   an object rule or a function of that name would be silently ignored by the evaluator;
//! - each such rule is documented by a `# METADATA` block (title, description,
//!   `custom.remediation`), which `charter rules`, SARIF and the HTML report show.

use std::collections::{BTreeMap, BTreeSet};

use regorus::unstable::{AssignOp, Expr, Literal, Ref, Rule, RuleHead};

use super::ast::{self, HeadKind, ParsedModule};
use super::problem::{Check, Problem};
use crate::report::{RuleInfo, Severity};

/// Whether `package` is one of Charter's namespaces, or under an allowed prefix.
pub(crate) fn package_allowed(package: &str, allowed: &[String]) -> bool {
    let under = |prefix: &str| {
        package
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.len() > 1 && rest.starts_with('.'))
    };
    let access = package
        .strip_prefix("charter.access")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with(['.', '_']));
    under("charter.rules")
        || under("charter.mesh")
        || access
        || package == "charter.rules_test"
        || package == "charter.mesh_test"
        || allowed.iter().any(|prefix| {
            let prefix = prefix.trim_end_matches('.');
            package == prefix
                || package
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('.'))
        })
}

/// The area of a rule package (`pii` for `charter.rules.pii`), for packages whose
/// `deny_`/`warn_` rules are findings; `None` for test packages and everything else.
pub(crate) fn rule_area(package: &str) -> Option<&str> {
    let area = package
        .strip_prefix("charter.rules.")
        .or_else(|| package.strip_prefix("charter.mesh."))?;
    let test = area
        .rsplit('.')
        .next()
        .is_some_and(|last| last.ends_with("_test"));
    (!area.is_empty() && !test).then_some(area)
}

/// Checks every module's package, and the shape and documentation of its rules.
pub(crate) fn check(
    modules: &[ParsedModule],
    allowed: &[String],
    catalog: &BTreeMap<String, RuleInfo>,
) -> Vec<Problem> {
    let mut problems = Vec::new();
    let mut documented = BTreeSet::new();
    for module in modules {
        let package = module.package();
        if !package_allowed(&package, allowed) {
            let span = &module.module.package.span;
            problems.push(
                Problem::error(
                    Check::RegoPackage,
                    &module.path,
                    format!(
                        "package `{package}` is outside Charter's namespaces (`charter.rules.<area>`, `charter.mesh.<area>`, `charter.access`); move it, or allow it with `--allow-package {package}`"
                    ),
                )
                .at(span.line, Some(span.col)),
            );
        }
        let Some(area) = rule_area(&package) else {
            continue;
        };
        if module.is_test_file() {
            continue;
        }
        let keys: &[&str] = if package.starts_with("charter.mesh.") {
            &["msg", "product", "file", "path"]
        } else {
            &["msg", "path"]
        };
        for rule in &module.module.policy {
            let Some((name, kind, span)) = ast::rule_head(rule) else {
                continue;
            };
            let Some(rest) = name
                .strip_prefix("deny_")
                .or_else(|| name.strip_prefix("warn_"))
            else {
                continue;
            };
            let at = |problem: Problem| problem.at(span.line, Some(span.col));
            if let Some(message) = shape_problem(rule, &name, rest, area, &kind, keys) {
                problems.push(at(Problem::error(
                    Check::RegoRuleShape,
                    &module.path,
                    message,
                )));
            }
            let id = format!("{area}/{rest}");
            if !rest.is_empty()
                && documented.insert(id.clone())
                && let Some(message) = metadata_problem(&id, catalog.get(&id))
            {
                problems.push(at(Problem::warning(
                    Check::RegoMetadata,
                    &module.path,
                    message,
                )));
            }
            if let Some(message) = severity_problem(&name, &id, &module.text, span.line) {
                problems.push(at(Problem::error(
                    Check::RegoMetadata,
                    &module.path,
                    message,
                )));
            }
        }
    }
    problems
}

/// What is wrong with the shape of the `deny_`/`warn_` rule `name` (`rest` after the
/// prefix), whose set elements may have `keys`.
fn shape_problem(
    rule: &Rule,
    name: &str,
    rest: &str,
    area: &str,
    kind: &HeadKind,
    keys: &[&str],
) -> Option<String> {
    if rest.is_empty() {
        return Some(format!(
            "`{name}` has no name after its prefix: the rule id would be `{area}/`; name it `{name}<what is wrong>`"
        ));
    }
    let fix = format!("write `{name} contains msg if {{ … }}`");
    Some(match kind {
        HeadKind::PartialSet => {
            let why = element_problem(rule, keys)?;
            let shape: Vec<String> = keys
                .iter()
                .map(|k| {
                    if *k == "msg" {
                        (*k).to_owned()
                    } else {
                        format!("{k}?")
                    }
                })
                .collect();
            format!(
                "`{name}`: {why}; its elements must be messages (strings) or `{{{}}}` objects",
                shape.join(", ")
            )
        }
        HeadKind::Complete => format!(
            "`{name}` is a complete rule, not a partial set: the evaluator reads deny_ and warn_ rules as sets of messages; {fix}"
        ),
        HeadKind::RefHead => format!(
            "`{name}` is an object (its head is a reference), not a partial set of messages; {fix}"
        ),
        HeadKind::Function => format!(
            "`{name}` is a function: deny_ and warn_ names are for sets of messages; rename it, or {fix}"
        ),
        HeadKind::Default => format!(
            "`default {name}` makes it a complete rule; remove it (a partial set is empty by default)"
        ),
    })
}

/// What is wrong with the `custom.severity` in the `# METADATA` above rule `name` (at
/// `line`), if anything: the prefix decides a rule's severity everywhere, so a severity that
/// contradicts it, or is neither `error` nor `warning`, would mislead the reader.
fn severity_problem(name: &str, id: &str, text: &str, line: u32) -> Option<String> {
    let (severity, rest) = crate::rules::catalog::severity_of(name)?;
    let declared = crate::rules::catalog::annotation_above(text, line)?
        .custom
        .severity?;
    let (said, other, what) = match severity {
        Severity::Error => ("error", "warn_", "an error"),
        Severity::Warning => ("warning", "deny_", "a warning"),
    };
    match declared.as_str() {
        d if d == said => None,
        "error" | "warning" => Some(format!(
            "rule `{id}` is named `{name}`, so it is {what}, but its `# METADATA` says `custom.severity: {declared}`; the prefix decides the severity: rename it `{other}{rest}`, or remove `custom.severity`"
        )),
        _ => Some(format!(
            "rule `{id}` has `custom.severity: {declared}`, which is neither `error` nor `warning`; the prefix decides the severity (`{name}` is {what}): remove it, or write `{said}`"
        )),
    }
}

/// What the `# METADATA` of rule `id` lacks, if anything.
fn metadata_problem(id: &str, info: Option<&RuleInfo>) -> Option<String> {
    let missing: Vec<&str> = [
        ("title", info.and_then(|i| i.title.as_ref())),
        ("description", info.and_then(|i| i.description.as_ref())),
        (
            "custom.remediation",
            info.and_then(|i| i.remediation.as_ref()),
        ),
    ]
    .into_iter()
    .filter(|(_, value)| value.is_none())
    .map(|(key, _)| key)
    .collect();
    (!missing.is_empty()).then(|| {
        format!(
            "rule `{id}` has no {} in a `# METADATA` block above it: `charter rules` and SARIF show them",
            missing.join(", ")
        )
    })
}

/// What is statically wrong with the elements of a partial-set rule, if anything can be
/// told: a literal number, boolean, null, array or set, or an object without `msg` or with
/// keys other than `keys`. A variable is followed to its assignment in the body.
fn element_problem(rule: &Rule, keys: &[&str]) -> Option<String> {
    let Rule::Spec {
        head: RuleHead::Set { key: Some(key), .. },
        bodies,
        ..
    } = rule
    else {
        return None;
    };
    let mut element = key;
    for _ in 0..4 {
        match element.as_ref() {
            Expr::Var { span, .. } => {
                let name = span.text();
                element = bodies
                    .iter()
                    .find_map(|body| assigned(&body.query.stmts, name))?;
            }
            other => return literal_problem(other, keys),
        }
    }
    None
}

/// The expression assigned to `name` by a top-level `name := e` (or `name = e`) statement.
fn assigned<'a>(stmts: &'a [regorus::unstable::LiteralStmt], name: &str) -> Option<&'a Ref<Expr>> {
    stmts.iter().find_map(|stmt| match &stmt.literal {
        Literal::Expr { expr, .. } => match expr.as_ref() {
            Expr::AssignExpr {
                op: AssignOp::ColEq | AssignOp::Eq,
                lhs,
                rhs,
                ..
            } if matches!(lhs.as_ref(), Expr::Var { span, .. } if span.text() == name) => Some(rhs),
            _ => None,
        },
        _ => None,
    })
}

fn literal_problem(expr: &Expr, allowed: &[&str]) -> Option<String> {
    match expr {
        Expr::Number { .. } => Some("its elements are numbers".into()),
        Expr::Bool { .. } => Some("its elements are booleans".into()),
        Expr::Null { .. } => Some("its elements are null".into()),
        Expr::Array { .. } | Expr::ArrayCompr { .. } => Some("its elements are arrays".into()),
        Expr::Set { .. } | Expr::SetCompr { .. } => Some("its elements are sets".into()),
        Expr::Object { fields, .. } => {
            let mut keys = Vec::new();
            for (_, key, value) in fields {
                let (Expr::String { value: k, .. } | Expr::RawString { value: k, .. }) =
                    key.as_ref()
                else {
                    return None;
                };
                let k = k.as_string().ok()?.to_string();
                match k.as_str() {
                    "msg" if !could_be(value, Kind::String) => {
                        return Some("its `msg` is not a string".into());
                    }
                    "path" if !could_be(value, Kind::Path) => {
                        return Some(
                            "its `path` is neither a string (`fields[2].masking`) nor an array of keys and indexes"
                                .into(),
                        );
                    }
                    other if allowed.contains(&other) => {}
                    other => {
                        return Some(format!(
                            "its elements have a key `{other}` the evaluator ignores"
                        ));
                    }
                }
                keys.push(k);
            }
            (!keys.iter().any(|k| k == "msg"))
                .then(|| "its object elements have no `msg`".to_owned())
        }
        _ => None,
    }
}

enum Kind {
    String,
    Path,
}

/// Whether `expr` may be of `kind` (anything that is not a literal of another type may).
fn could_be(expr: &Expr, kind: Kind) -> bool {
    match expr {
        Expr::String { .. } | Expr::RawString { .. } => true,
        Expr::Array { .. } | Expr::ArrayCompr { .. } => matches!(kind, Kind::Path),
        Expr::Number { .. }
        | Expr::Bool { .. }
        | Expr::Null { .. }
        | Expr::Object { .. }
        | Expr::ObjectCompr { .. }
        | Expr::Set { .. }
        | Expr::SetCompr { .. } => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems_of(text: &str, allowed: &[String]) -> Vec<Problem> {
        let module = ParsedModule::parse("rego/x.rego", text).unwrap();
        check(&[module], allowed, &BTreeMap::new())
            .into_iter()
            .filter(|p| p.check != Check::RegoMetadata)
            .collect()
    }

    #[test]
    fn packages_outside_the_namespaces_need_an_opt_in() {
        for ok in [
            "charter.rules.pii",
            "charter.rules.pii_test",
            "charter.mesh.lineage",
            "charter.access",
            "charter.access.row_filters",
            "charter.access_test",
            "charter.rules_test",
        ] {
            assert!(package_allowed(ok, &[]), "{ok}");
        }
        for bad in [
            "charter.rules",
            "charter.lib",
            "acme.rules.pii",
            "charter.accessx",
        ] {
            assert!(!package_allowed(bad, &[]), "{bad}");
        }
        assert!(package_allowed("acme.lib.strings", &["acme.lib".into()]));
        assert!(!package_allowed("acme.library", &["acme.lib".into()]));
        let problems = problems_of("package acme.lib\n\nx := 1\n", &[]);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].message.contains("--allow-package acme.lib"));
        assert!(problems_of("package acme.lib\n\nx := 1\n", &["acme".into()]).is_empty());
    }

    #[test]
    fn deny_and_warn_rules_must_be_sets_of_messages() {
        let text = r#"package charter.rules.t

deny_ok contains msg if { msg := "x" }
deny_object_ok contains {"msg": m, "path": "id"} if { m := "x" }
deny_via_var contains f if { f := {"msg": "x", "path": ["fields", 1]} }
deny_call contains sprintf("%v", [1]) if { true }
deny_complete := {"x"}
deny_bool if { true }
deny_object[k] := v if { k := "a"; v := "b" }
deny_fn(x) := x
warn_numbers contains 1 if { true }
warn_no_msg contains {"message": "x"} if { true }
warn_bad_msg contains {"msg": 3} if { true }
warn_var_number contains n if { n := 4 }
helper := 1
"#;
        let problems = problems_of(text, &[]);
        let lines: Vec<u32> = problems.iter().filter_map(|p| p.line).collect();
        assert_eq!(lines, [7, 8, 9, 10, 11, 12, 13, 14], "{problems:#?}");
        assert!(problems[0].message.contains("complete rule"));
        assert!(problems[2].message.contains("object"));
        assert!(problems[3].message.contains("function"));
        assert!(problems[5].message.contains("`message`"));
        assert!(problems[6].message.contains("`msg` is not a string"));
    }

    #[test]
    fn mesh_rules_may_name_their_product_or_file() {
        let text = "package charter.mesh.lineage\n\ndeny_a contains {\"msg\": \"m\", \"product\": \"p\", \"file\": \"f\"} if { true }\ndeny_b contains {\"msg\": \"m\", \"owner\": \"o\"} if { true }\n";
        let problems = problems_of(text, &[]);
        assert_eq!(problems.len(), 1, "{problems:#?}");
        assert!(
            problems[0]
                .message
                .contains("`{msg, product?, file?, path?}`")
        );
    }

    #[test]
    fn test_packages_and_files_are_not_rule_packages() {
        assert_eq!(rule_area("charter.rules.pii"), Some("pii"));
        assert_eq!(rule_area("charter.rules.pii_test"), None);
        assert_eq!(rule_area("charter.access"), None);
        assert!(problems_of("package charter.rules.t_test\n\ndeny_x := 1\n", &[]).is_empty());
    }

    #[test]
    fn undocumented_rules_are_warnings() {
        let module = ParsedModule::parse(
            "rego/x.rego",
            "package charter.rules.t\n\ndeny_x contains \"m\" if { true }\n",
        )
        .unwrap();
        let problems = check(&[module], &[], &BTreeMap::new());
        assert_eq!(problems.len(), 1);
        assert_eq!(problems[0].check, Check::RegoMetadata);
        assert!(problems[0].message.contains("`t/x`"));
    }
}
