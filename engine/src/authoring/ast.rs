//! Reading regorus' syntax tree: parsed modules, package paths, rule heads, and walks over
//! expressions and queries. Everything regorus-specific the authoring checks need is here;
//! none of its types leave the `authoring` module.

use regorus::Engine;
use regorus::unstable::{Expr, Literal, Module, Query, Ref, Rule, RuleHead, Span};

use super::diagnostic::Diagnostic;

/// One Rego file of the pack, parsed.
pub(crate) struct ParsedModule {
    /// The file, relative to the pack (`rego/rules/pii.rego`).
    pub path: String,
    /// Its text.
    pub text: String,
    /// The syntax tree.
    pub module: Ref<Module>,
}

impl std::fmt::Debug for ParsedModule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParsedModule")
            .field("path", &self.path)
            .finish_non_exhaustive()
    }
}

impl ParsedModule {
    /// Parses one file on its own (so that a syntax error names this file).
    pub fn parse(path: &str, text: &str) -> Result<Self, Diagnostic> {
        let mut engine = Engine::new();
        engine
            .add_policy(path.to_owned(), text.to_owned())
            .map_err(|e| Diagnostic::from_regorus(&e.to_string(), path))?;
        let module = engine
            .get_modules()
            .last()
            .cloned()
            .ok_or_else(|| Diagnostic::at_file(path, "the module is empty"))?;
        Ok(Self {
            path: path.to_owned(),
            text: text.to_owned(),
            module,
        })
    }

    /// The package path without `data.` (`charter.rules.pii`).
    pub fn package(&self) -> String {
        ref_path(&self.module.package.refr).map_or_else(
            || self.module.package.refr.span().text().to_owned(),
            |parts| parts.join("."),
        )
    }

    /// Whether this is a test file (`*_test.rego`): loaded by `charter test`, never to
    /// judge contracts.
    pub fn is_test_file(&self) -> bool {
        self.path.ends_with("_test.rego")
    }
}

/// The components of a reference made of a variable, `.field`s and string `["key"]`s
/// (`data.charter.rules` → `["data", "charter", "rules"]`); `None` for anything else.
pub(crate) fn ref_path(expr: &Expr) -> Option<Vec<String>> {
    match expr {
        Expr::Var { span, .. } => Some(vec![span.text().to_owned()]),
        Expr::RefDot { refr, field, .. } => {
            let mut parts = ref_path(refr)?;
            parts.push(field.1.as_string().ok()?.to_string());
            Some(parts)
        }
        Expr::RefBrack { refr, index, .. } => {
            let mut parts = ref_path(refr)?;
            parts.push(string_literal(index)?);
            Some(parts)
        }
        _ => None,
    }
}

/// The text of a string literal (`"key"` or `` `key` ``); `None` for any other expression.
pub(crate) fn string_literal(expr: &Expr) -> Option<String> {
    match expr {
        Expr::String { value, .. } | Expr::RawString { value, .. } => {
            value.as_string().ok().map(ToString::to_string)
        }
        _ => None,
    }
}

/// The variable a reference starts from (`input` for `input.fields[i].name`).
pub(crate) fn ref_root(expr: &Expr) -> Option<&Span> {
    match expr {
        Expr::Var { span, .. } => Some(span),
        Expr::RefDot { refr, .. } | Expr::RefBrack { refr, .. } => ref_root(refr),
        _ => None,
    }
}

/// What a rule head declares, as far as the conventions care.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum HeadKind {
    /// `name contains x if …` (or v0 `name[x] { … }`): a partial set.
    PartialSet,
    /// `name := v`, `name = v` or `name if …`: a complete rule.
    Complete,
    /// `name[k] := v` or `name.a.b := v`: a rule whose head is a reference (an object).
    RefHead,
    /// `name(x) := v`: a function.
    Function,
    /// `default name := v`.
    Default,
}

/// A rule's name (the first component of its head) and kind.
pub(crate) fn rule_head(rule: &Rule) -> Option<(String, HeadKind, &Span)> {
    let (refr, kind, span) = match rule {
        Rule::Spec { head, span, .. } => match head {
            RuleHead::Compr { refr, .. } => (refr, HeadKind::Complete, span),
            RuleHead::Set { refr, .. } => (refr, HeadKind::PartialSet, span),
            RuleHead::Func { refr, .. } => (refr, HeadKind::Function, span),
        },
        Rule::Default { refr, span, .. } => (refr, HeadKind::Default, span),
    };
    let root = ref_root(refr)?.text().to_owned();
    let kind = match (refr.as_ref(), kind) {
        (Expr::Var { .. }, kind) => kind,
        (_, HeadKind::Function) => HeadKind::Function,
        (_, HeadKind::Default) => HeadKind::Default,
        _ => HeadKind::RefHead,
    };
    Some((root, kind, span))
}

/// The full dotted name of a function a rule defines (`f`, `a.b`), for unknown-call checks.
pub(crate) fn function_name(rule: &Rule) -> Option<String> {
    match rule {
        Rule::Spec {
            head: RuleHead::Func { refr, .. },
            ..
        } => ref_path(refr).map(|p| p.join(".")),
        Rule::Default { refr, args, .. } if !args.is_empty() => ref_path(refr).map(|p| p.join(".")),
        _ => None,
    }
}

/// Every query of a rule: its bodies (and `else` bodies).
pub(crate) fn rule_queries(rule: &Rule) -> Vec<&Ref<Query>> {
    match rule {
        Rule::Spec { bodies, .. } => bodies.iter().map(|b| &b.query).collect(),
        Rule::Default { .. } => Vec::new(),
    }
}

/// The expressions a rule's head computes (its value, its set element), outside the bodies.
pub(crate) fn head_exprs(rule: &Rule) -> Vec<&Ref<Expr>> {
    match rule {
        Rule::Spec { head, bodies, .. } => {
            let mut out = Vec::new();
            match head {
                RuleHead::Compr { assign, .. } | RuleHead::Func { assign, .. } => {
                    out.extend(assign.as_ref().map(|a| &a.value));
                }
                RuleHead::Set { key, .. } => out.extend(key.as_ref()),
            }
            out.extend(
                bodies
                    .iter()
                    .filter_map(|b| b.assign.as_ref().map(|a| &a.value)),
            );
            out
        }
        Rule::Default { value, .. } => vec![value],
    }
}

/// Visits `expr` and its sub-expressions, depth first; `visit` returns whether to descend.
/// Comprehensions are not entered here (their queries are walked by [`walk_query`]), and a
/// call's function name is not visited, only its arguments.
pub(crate) fn walk_expr<'a>(expr: &'a Ref<Expr>, visit: &mut dyn FnMut(&'a Ref<Expr>) -> bool) {
    if !visit(expr) {
        return;
    }
    match expr.as_ref() {
        Expr::Array { items, .. } | Expr::Set { items, .. } => {
            for item in items {
                walk_expr(item, visit);
            }
        }
        Expr::Object { fields, .. } => {
            for (_, key, value) in fields {
                walk_expr(key, visit);
                walk_expr(value, visit);
            }
        }
        Expr::Call { params, .. } => {
            for param in params {
                walk_expr(param, visit);
            }
        }
        Expr::UnaryExpr { expr, .. } => walk_expr(expr, visit),
        Expr::RefDot { refr, .. } => walk_expr(refr, visit),
        Expr::RefBrack { refr, index, .. } => {
            walk_expr(refr, visit);
            walk_expr(index, visit);
        }
        Expr::BinExpr { lhs, rhs, .. }
        | Expr::BoolExpr { lhs, rhs, .. }
        | Expr::ArithExpr { lhs, rhs, .. }
        | Expr::AssignExpr { lhs, rhs, .. } => {
            walk_expr(lhs, visit);
            walk_expr(rhs, visit);
        }
        Expr::Membership {
            key,
            value,
            collection,
            ..
        } => {
            if let Some(key) = key {
                walk_expr(key, visit);
            }
            walk_expr(value, visit);
            walk_expr(collection, visit);
        }
        _ => {}
    }
}

/// What is nested directly in an expression: the queries of its comprehensions, and their
/// terms (`{f(x) | …}`'s `f(x)`).
pub(crate) fn nested(expr: &Ref<Expr>) -> (Vec<&Ref<Query>>, Vec<&Ref<Expr>>) {
    let mut queries = Vec::new();
    let mut terms = Vec::new();
    walk_expr(expr, &mut |e| match e.as_ref() {
        Expr::ArrayCompr { query, term, .. } | Expr::SetCompr { query, term, .. } => {
            queries.push(query);
            terms.push(term);
            false
        }
        Expr::ObjectCompr {
            query, key, value, ..
        } => {
            queries.push(query);
            terms.push(key);
            terms.push(value);
            false
        }
        _ => true,
    });
    (queries, terms)
}

/// Visits an expression statement and everything nested in it.
fn visit_expr<'a>(expr: &'a Ref<Expr>, visit: &mut dyn FnMut(Stmt<'a>)) {
    visit(Stmt::Expr(expr));
    visit_nested(expr, visit);
}

fn visit_nested<'a>(expr: &'a Ref<Expr>, visit: &mut dyn FnMut(Stmt<'a>)) {
    let (queries, terms) = nested(expr);
    for term in terms {
        visit_expr(term, visit);
    }
    for query in queries {
        walk_query(query, visit);
    }
}

/// A statement of a query, as the walks see it.
pub(crate) enum Stmt<'a> {
    /// An expression statement (`x == 1`, `x := f(y)`, `some x in xs`'s parts).
    Expr(&'a Ref<Expr>),
    /// A negated expression (`not f(x)`), with the statement's span.
    Not(&'a Ref<Expr>, &'a Span),
}

/// Visits every statement of `query`, and of the queries nested in it (comprehensions,
/// `every` bodies), depth first.
pub(crate) fn walk_query<'a>(query: &'a Ref<Query>, visit: &mut dyn FnMut(Stmt<'a>)) {
    for stmt in &query.stmts {
        match &stmt.literal {
            Literal::SomeVars { .. } => {}
            Literal::SomeIn {
                key,
                value,
                collection,
                ..
            } => {
                for expr in key.iter().chain([value, collection]) {
                    visit_expr(expr, visit);
                }
            }
            Literal::Expr { expr, .. } => visit_expr(expr, visit),
            Literal::NotExpr { expr, span } => {
                visit(Stmt::Not(expr, span));
                visit_nested(expr, visit);
            }
            Literal::Every { domain, query, .. } => {
                visit_expr(domain, visit);
                walk_query(query, visit);
            }
        }
        for modifier in &stmt.with_mods {
            visit_expr(&modifier.r#as, visit);
        }
    }
}

/// Every statement of a module: rule heads' values and bodies, nested queries included.
pub(crate) fn module_stmts<'a>(module: &'a Module, visit: &mut dyn FnMut(Stmt<'a>)) {
    for rule in &module.policy {
        for expr in head_exprs(rule) {
            visit_expr(expr, visit);
        }
        for query in rule_queries(rule) {
            walk_query(query, visit);
        }
    }
}

/// The 1-based last line of a span.
pub(crate) fn end_line(span: &Span) -> u32 {
    let newlines = span.text().matches('\n').count();
    span.line
        .saturating_add(u32::try_from(newlines).unwrap_or(u32::MAX))
}
