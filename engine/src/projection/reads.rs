//! What the repository-wide rules read of each product, worked out from the pack's Rego
//! once per revision, so that `charter report` keeps a projection of every product
//! instead of all of it (see [`Need`]); and what the contract rules read of `input`, so
//! that a contract is converted to only that much Rego input.
//!
//! The analysis follows each value taken from `data.charter.products` (or `input`)
//! through variables, comprehensions and user functions. A value used only through
//! literal keys (`p.lineage.upstream`, `object.get(f, "transform", null)`) needs only
//! those keys; a value iterated (`some x in v`, `v[i]`) keeps every key; any other use
//! (compared, passed to a builtin, collected, returned by a rule or function) needs all of
//! it. What
//! the analysis cannot follow (`data.charter` or `data` as a value, a computed key above
//! the products, a `with` on `data`; `import input` under another name, a `with` on
//! `input`) keeps every product whole, so a projection never changes a finding. `count`
//! observes only how many keys or elements a value has, which a projection keeps.

use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use regorus::unstable::{AssignOp, Expr, Literal, Module, Query, Ref, Rule, RuleBody, RuleHead};

use super::need::{Need, Step, Use};
use crate::authoring::ast::{ref_path, string_literal};

/// A place below the root followed (`data.charter.products`, or `input`).
type Path = Vec<Step>;

/// The places a variable's value may come from.
type Env = HashMap<String, Vec<Path>>;

/// How many function bodies the analysis follows before it gives up (keeping everything).
const MAX_CALLS: usize = 10_000;

/// The path of `data.charter.products` below `data`.
const PRODUCTS: [&str; 2] = ["charter", "products"];

/// What the rules of `modules` need of each element of `data.charter.products`.
pub(crate) fn product_need(modules: &[Ref<Module>]) -> Need {
    let products = Reads::analyse(modules, Root::Products);
    if products.is_whole() {
        return Need::whole();
    }
    products.child(None).cloned().unwrap_or_default()
}

/// What the rules of `modules` need of `input` (a contract rule's product).
pub(crate) fn input_need(modules: &[Ref<Module>]) -> Need {
    Reads::analyse(modules, Root::Input)
}

/// The document whose reads are followed.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Root {
    /// `data.charter.products`: a place's first step is the product.
    Products,
    /// `input`.
    Input,
}

/// A rule, with the context of the module it is in.
type Definition = (Rc<Context>, Ref<Rule>);

/// A module's package and imports, to resolve the names its rules use.
#[derive(Clone)]
struct Context {
    package: Vec<String>,
    imports: HashMap<String, Vec<String>>,
}

struct Reads {
    /// The document followed.
    root: Root,
    /// Every rule, with its module's context.
    rules: Vec<Definition>,
    /// Functions by full name below `data` (`charter.mesh.identity.identity`).
    functions: HashMap<String, Vec<Definition>>,
    /// What the rules need of `data.charter.products`.
    need: Need,
    /// The analysis lost track: keep every product whole.
    everything: bool,
    /// Function bodies followed, with the places of their arguments.
    followed: HashSet<(String, Vec<Vec<Path>>)>,
}

impl Reads {
    /// What the rules of `modules` need of `root`, settled (whole when the analysis lost
    /// track).
    fn analyse(modules: &[Ref<Module>], root: Root) -> Need {
        let mut reads = Reads::new(modules, root);
        for (module, rule) in reads.rules.clone() {
            reads.rule(&module, &rule, None);
            if reads.everything {
                break;
            }
        }
        if reads.everything {
            return Need::whole();
        }
        let mut need = reads.need;
        need.settle();
        need
    }

    fn new(modules: &[Ref<Module>], root: Root) -> Self {
        let mut reads = Self {
            root,
            rules: Vec::new(),
            functions: HashMap::new(),
            need: Need::default(),
            everything: false,
            followed: HashSet::new(),
        };
        for module in modules {
            let package = ref_path(&module.package.refr).unwrap_or_default();
            let mut imports = HashMap::new();
            for import in &module.imports {
                let Some(path) = ref_path(&import.refr) else {
                    continue;
                };
                if root == Root::Input && path.first().is_some_and(|r| r == "input") {
                    // `import input` (or a part of it) under another name: not followed.
                    reads.everything = true;
                }
                if path.first().is_some_and(|root| root == "data") {
                    let below = &path[1..];
                    if root == Root::Products && toward_products(below) {
                        // `import data.charter` (or the products themselves): followed no further.
                        reads.everything = true;
                    }
                    let alias = import.r#as.as_ref().map_or_else(
                        || path.last().cloned().unwrap_or_default(),
                        |s| s.text().to_owned(),
                    );
                    imports.insert(alias, below.to_vec());
                }
            }
            if root == Root::Products && package.len() > 1 && toward_products(&package) {
                // Rules inside `data.charter.products` itself: followed no further.
                reads.everything = true;
            }
            let context = Rc::new(Context { package, imports });
            for rule in &module.policy {
                if let Some(name) = function_name(&context, rule) {
                    reads
                        .functions
                        .entry(name)
                        .or_default()
                        .push((context.clone(), rule.clone()));
                }
                reads.rules.push((context.clone(), rule.clone()));
            }
        }
        reads
    }

    fn mark(&mut self, places: &[Path], how: Use) {
        for place in places {
            self.need.mark(place, how);
        }
    }

    /// Analyses a rule: its bodies, then its head in each body's bindings. `args`, for a
    /// function followed from a call, are the places its arguments come from.
    fn rule(&mut self, context: &Context, rule: &Rule, args: Option<&[Vec<Path>]>) {
        match rule {
            Rule::Spec { head, bodies, .. } => {
                let (refr, params, assign, key) = match head {
                    RuleHead::Compr { refr, assign, .. } => (refr, &[][..], assign.as_ref(), None),
                    RuleHead::Set { refr, key, .. } => (refr, &[][..], None, key.as_ref()),
                    RuleHead::Func {
                        refr, args, assign, ..
                    } => (refr, args.as_slice(), assign.as_ref(), None),
                };
                // A rule without a body (`x := v`, `f(x) := v`) still has a head to analyse.
                let bodies: Vec<Option<&RuleBody>> = if bodies.is_empty() {
                    vec![None]
                } else {
                    bodies.iter().map(Some).collect()
                };
                for body in bodies {
                    let mut env = Env::new();
                    for (i, param) in params.iter().enumerate() {
                        let places = args.and_then(|a| a.get(i)).cloned().unwrap_or_default();
                        self.bind_pattern(param, places, &mut env);
                    }
                    if let Some(body) = body {
                        self.query(context, &body.query, &mut env);
                    }
                    self.head_ref(context, refr, &env);
                    for value in assign.iter().map(|a| &a.value).chain(key) {
                        self.escape(context, value, &env);
                    }
                    if let Some(assign) = body.and_then(|b| b.assign.as_ref()) {
                        self.escape(context, &assign.value, &env);
                    }
                }
            }
            Rule::Default { value, .. } => self.escape(context, value, &Env::new()),
        }
    }

    /// A head's computed keys (`contracts[p.id] contains i`) are values of the rule.
    fn head_ref(&mut self, context: &Context, refr: &Expr, env: &Env) {
        match refr {
            Expr::RefDot { refr, .. } => self.head_ref(context, refr, env),
            Expr::RefBrack { refr, index, .. } => {
                self.head_ref(context, refr, env);
                self.escape(context, index, env);
            }
            _ => {}
        }
    }

    /// Binds a function parameter or `some` value pattern: a variable takes the places; any
    /// other pattern compares (or destructures) the value, which needs all of it.
    fn bind_pattern(&mut self, pattern: &Expr, places: Vec<Path>, env: &mut Env) {
        match pattern {
            Expr::Var { span, .. } if span.text() != "_" => {
                let bound = env.entry(span.text().to_owned()).or_default();
                for place in places {
                    if !bound.contains(&place) {
                        bound.push(place);
                    }
                }
            }
            Expr::Var { .. } => {}
            _ => self.mark(&places, Use::Whole),
        }
    }

    /// Analyses a query until its variables' places stop growing (Rego orders a body's
    /// statements by their bindings, not as written).
    fn query(&mut self, context: &Context, query: &Query, env: &mut Env) {
        loop {
            let before = env.clone();
            for stmt in &query.stmts {
                for with in &stmt.with_mods {
                    let target = ref_path(&with.refr);
                    let followed = match self.root {
                        Root::Products => "data",
                        Root::Input => "input",
                    };
                    if target
                        .as_ref()
                        .is_none_or(|t| t.first().is_some_and(|r| r == followed))
                    {
                        self.everything = true;
                    }
                    self.escape(context, &with.r#as, env);
                }
                self.literal(context, &stmt.literal, env);
            }
            if *env == before || self.everything {
                return;
            }
        }
    }

    fn literal(&mut self, context: &Context, literal: &Literal, env: &mut Env) {
        match literal {
            Literal::SomeVars { .. } => {}
            Literal::SomeIn {
                key,
                value,
                collection,
                ..
            } => {
                let each = self.elements(context, collection, env);
                self.bind_pattern(value, each, env);
                if let Some(key) = key {
                    self.escape(context, key, env);
                }
            }
            Literal::Expr { expr, .. } => match expr.as_ref() {
                Expr::AssignExpr { op, lhs, rhs, .. } => self.assign(context, op, lhs, rhs, env),
                _ => self.escape(context, expr, env),
            },
            Literal::NotExpr { expr, .. } => self.escape(context, expr, env),
            Literal::Every {
                value,
                domain,
                query,
                ..
            } => {
                let each = self.elements(context, domain, env);
                let mut inner = env.clone();
                inner.insert(value.text().to_owned(), each);
                self.query(context, query, &mut inner);
            }
        }
    }

    /// The places of each element of an iterated collection (`some x in c`, `every x in
    /// c`): iterating reads the collection's keys.
    fn elements(&mut self, context: &Context, collection: &Expr, env: &Env) -> Vec<Path> {
        let places = self.places(context, collection, env);
        self.mark(&places, Use::Keys);
        below(&places, Step::Any)
    }

    /// `x := v`: the variable takes the value's places. `x = v` may also compare (when `x`
    /// is already bound), and any other pattern (`[a, b] := v`) destructures: both need
    /// all of the value.
    fn assign(&mut self, context: &Context, op: &AssignOp, lhs: &Expr, rhs: &Expr, env: &mut Env) {
        let is_var = |e: &Expr| matches!(e, Expr::Var { span, .. } if span.text() != "_");
        let declares = matches!(op, AssignOp::ColEq) && is_var(lhs);
        let mut places = self.places(context, lhs, env);
        places.extend(self.places(context, rhs, env));
        if !declares {
            self.mark(&places, Use::Whole);
        }
        for side in [lhs, rhs] {
            if is_var(side) {
                self.bind_pattern(side, places.clone(), env);
            }
        }
    }

    /// An expression whose value is used as a whole.
    fn escape(&mut self, context: &Context, expr: &Expr, env: &Env) {
        let places = self.places(context, expr, env);
        self.mark(&places, Use::Whole);
    }

    /// The places an expression's value may come from, recording what evaluating it reads.
    fn places(&mut self, context: &Context, expr: &Expr, env: &Env) -> Vec<Path> {
        match expr {
            Expr::Var { span, .. } => {
                let name = span.text();
                if let Some(places) = env.get(name) {
                    return places.clone();
                }
                if self.root == Root::Input {
                    // `data` never holds the input; `input` is the root.
                    return if name == "input" {
                        vec![Vec::new()]
                    } else {
                        Vec::new()
                    };
                }
                if name == "data" {
                    self.everything = true;
                }
                if context.package.len() + 1 == PRODUCTS.len()
                    && toward_products(&context.package)
                    && name == PRODUCTS[PRODUCTS.len() - 1]
                {
                    // In `package charter`, `products` is `data.charter.products`.
                    return vec![Vec::new()];
                }
                Vec::new()
            }
            Expr::RefDot { refr, field, .. } => match field.1.as_string() {
                Ok(key) => self.child(context, refr, Step::Key(key.to_string()), env),
                Err(_) => self.child(context, refr, Step::Any, env),
            },
            Expr::RefBrack { refr, index, .. } => match string_literal(index) {
                Some(key) => self.child(context, refr, Step::Key(key), env),
                None => {
                    self.escape(context, index, env);
                    self.child(context, refr, Step::Any, env)
                }
            },
            Expr::Call { fcn, params, .. } => self.call(context, fcn, params, env),
            _ => {
                self.operands(context, expr, env);
                Vec::new()
            }
        }
    }

    /// An expression whose value is not a place (a comparison, a collection, a
    /// comprehension, a literal): what it is made of is used as a whole.
    fn operands(&mut self, context: &Context, expr: &Expr, env: &Env) {
        match expr {
            Expr::AssignExpr { lhs, rhs, .. } => {
                // Nested in another expression: compared, not bound (see `assign`).
                self.escape(context, lhs, env);
                self.escape(context, rhs, env);
            }
            Expr::ArrayCompr { term, query, .. } | Expr::SetCompr { term, query, .. } => {
                let mut inner = env.clone();
                self.query(context, query, &mut inner);
                self.escape(context, term, &inner);
            }
            Expr::ObjectCompr {
                key, value, query, ..
            } => {
                let mut inner = env.clone();
                self.query(context, query, &mut inner);
                self.escape(context, key, &inner);
                self.escape(context, value, &inner);
            }
            Expr::Array { items, .. } | Expr::Set { items, .. } => {
                for item in items {
                    self.escape(context, item, env);
                }
            }
            Expr::Object { fields, .. } => {
                for (_, key, value) in fields {
                    self.escape(context, key, env);
                    self.escape(context, value, env);
                }
            }
            Expr::UnaryExpr { expr, .. } => {
                self.escape(context, expr, env);
            }
            Expr::BinExpr { lhs, rhs, .. }
            | Expr::BoolExpr { lhs, rhs, .. }
            | Expr::ArithExpr { lhs, rhs, .. } => {
                self.escape(context, lhs, env);
                self.escape(context, rhs, env);
            }
            Expr::Membership {
                key,
                value,
                collection,
                ..
            } => {
                if let Some(key) = key {
                    self.escape(context, key, env);
                }
                self.escape(context, value, env);
                self.escape(context, collection, env);
            }
            Expr::String { .. }
            | Expr::RawString { .. }
            | Expr::Number { .. }
            | Expr::Bool { .. }
            | Expr::Null { .. }
            | Expr::Var { .. }
            | Expr::RefDot { .. }
            | Expr::RefBrack { .. }
            | Expr::Call { .. } => {}
            #[allow(
                unreachable_patterns,
                reason = "expressions of regorus features this build may not have (`rego-extensions`)"
            )]
            _ => {
                // An expression the analysis does not know: keep everything.
                self.everything = true;
            }
        }
    }

    /// The places of `refr`'s child at `step`.
    fn child(&mut self, context: &Context, refr: &Expr, step: Step, env: &Env) -> Vec<Path> {
        if let Some(path) = data_path(refr, env) {
            if self.root == Root::Input {
                // A document of `data`: never the input.
                return Vec::new();
            }
            return self.data_child(path, step);
        }
        let places = self.places(context, refr, env);
        if step == Step::Any {
            self.mark(&places, Use::Keys);
        }
        below(&places, step)
    }

    /// A child of `data.<path>`: the products (or below them), or another document.
    fn data_child(&mut self, path: Vec<String>, step: Step) -> Vec<Path> {
        if !toward_products(&path) {
            return Vec::new();
        }
        if path.len() < PRODUCTS.len() {
            return match step {
                Step::Key(key) if path.len() + 1 == PRODUCTS.len() => {
                    if key == PRODUCTS[PRODUCTS.len() - 1] {
                        vec![Vec::new()]
                    } else {
                        Vec::new()
                    }
                }
                Step::Key(key) if key == PRODUCTS[path.len()] => {
                    // `data.charter` itself, used as a value.
                    self.everything = true;
                    Vec::new()
                }
                Step::Key(_) => Vec::new(),
                Step::Any => {
                    // `data[x]`, `data.charter[x]`: any document, the products included.
                    self.everything = true;
                    Vec::new()
                }
            };
        }
        let mut place: Path = path[PRODUCTS.len()..]
            .iter()
            .cloned()
            .map(Step::Key)
            .collect();
        if step == Step::Any {
            self.need.mark(&place, Use::Keys);
        }
        place.push(step);
        vec![place]
    }

    fn call(
        &mut self,
        context: &Context,
        fcn: &Expr,
        params: &[Ref<Expr>],
        env: &Env,
    ) -> Vec<Path> {
        let name = ref_path(fcn)
            .map(|parts| parts.join("."))
            .unwrap_or_default();
        if name == "object.get" && params.len() == 3 {
            return self.object_get(context, params, env);
        }
        if name == "count" && params.len() == 1 && self.resolve(context, &name).is_none() {
            // The number of elements, keys or characters: the projection keeps every key
            // and element (and scalars whole), so it has the same count.
            let places = self.places(context, &params[0], env);
            self.mark(&places, Use::Keys);
            return Vec::new();
        }
        let function = self.resolve(context, &name);
        let args: Vec<Vec<Path>> = params
            .iter()
            .map(|param| self.places(context, param, env))
            .collect();
        match function {
            Some(full) => self.follow(full, args),
            // A builtin (or a name the pack does not define) sees its arguments whole.
            None => args.iter().for_each(|places| self.mark(places, Use::Whole)),
        }
        Vec::new()
    }

    /// `object.get(v, "k", default)` and `object.get(v, ["a", "b"], default)` read only that
    /// key; a computed key reads any.
    fn object_get(&mut self, context: &Context, params: &[Ref<Expr>], env: &Env) -> Vec<Path> {
        let base = self.places(context, &params[0], env);
        let keys: Option<Vec<Step>> = match params[1].as_ref() {
            Expr::Array { items, .. } => items
                .iter()
                .map(|item| string_literal(item).map(Step::Key))
                .collect(),
            key => string_literal(key).map(|k| vec![Step::Key(k)]),
        };
        self.escape(context, &params[2], env);
        match keys {
            Some(steps) => base
                .into_iter()
                .map(|mut place| {
                    place.extend(steps.iter().cloned());
                    place
                })
                .collect(),
            None => {
                self.escape(context, &params[1], env);
                // A computed key (or path) can name any key at any depth below.
                self.mark(&base, Use::Whole);
                Vec::new()
            }
        }
    }

    /// The full name of the user function `name` called from `context`, if the pack defines one.
    fn resolve(&self, context: &Context, name: &str) -> Option<String> {
        let parts: Vec<&str> = name.split('.').collect();
        let candidates = [
            parts
                .first()
                .filter(|root| **root == "data")
                .map(|_| parts[1..].join(".")),
            context.imports.get(parts[0]).map(|target| {
                let mut full = target.clone();
                full.extend(parts[1..].iter().map(|p| (*p).to_owned()));
                full.join(".")
            }),
            Some(
                context
                    .package
                    .iter()
                    .map(String::as_str)
                    .chain(parts.iter().copied())
                    .collect::<Vec<_>>()
                    .join("."),
            ),
        ];
        candidates
            .into_iter()
            .flatten()
            .find(|full| self.functions.contains_key(full))
    }

    /// Follows a call into every definition of the function, with its arguments' places.
    fn follow(&mut self, function: String, args: Vec<Vec<Path>>) {
        if args.iter().all(Vec::is_empty) {
            // Analysed on its own already: nothing from the products flows in.
            return;
        }
        if self.followed.len() >= MAX_CALLS {
            self.everything = true;
            return;
        }
        if !self.followed.insert((function.clone(), args.clone())) {
            return;
        }
        let definitions = self.functions.get(&function).cloned().unwrap_or_default();
        for (context, rule) in definitions {
            self.rule(&context, &rule, Some(&args));
        }
    }
}

/// `places` each extended by `step`.
fn below(places: &[Path], step: Step) -> Vec<Path> {
    places
        .iter()
        .map(|place| {
            let mut child = place.clone();
            child.push(step.clone());
            child
        })
        .collect()
}

/// The keys below `data` of a reference made of `data` and literal keys (`data.charter`),
/// unless a local variable shadows `data`.
fn data_path(expr: &Expr, env: &Env) -> Option<Vec<String>> {
    let parts = ref_path(expr)?;
    (parts.first()? == "data" && !env.contains_key("data")).then(|| parts[1..].to_vec())
}

/// A function's full name below `data`, for a rule that defines one.
fn function_name(context: &Context, rule: &Rule) -> Option<String> {
    let name = crate::authoring::ast::function_name(rule)?;
    Some(format!("{}.{name}", context.package.join(".")))
}

/// Whether the path below `data` leads to, or lies under, `data.charter.products` as far
/// as it goes (`[]`, `["charter"]`, `["charter", "products", "x"]`).
fn toward_products(path: &[String]) -> bool {
    path.iter().zip(PRODUCTS).all(|(a, b)| a.as_str() == b)
}

#[cfg(test)]
mod tests {
    use regorus::{Engine, Value};

    use super::*;

    /// The projection of `product` under what `modules` read of each product.
    fn projected(modules: &[&str], product: &str) -> Value {
        projected_by(modules, product, product_need)
    }

    /// The projection of `product` under what `modules` read of `input`.
    fn projected_input(modules: &[&str], product: &str) -> Value {
        projected_by(modules, product, input_need)
    }

    fn projected_by(modules: &[&str], product: &str, need_of: fn(&[Ref<Module>]) -> Need) -> Value {
        let mut engine = Engine::new();
        for (i, text) in modules.iter().enumerate() {
            engine
                .add_policy(format!("m{i}.rego"), (*text).to_owned())
                .expect("the module parses");
        }
        let need = need_of(engine.get_modules());
        need.project(
            &Value::from_json_str(product).expect("valid JSON"),
            &super::super::shared::Shared::default(),
        )
    }

    const PRODUCT: &str = r#"{
        "id": "sales.orders", "owner": "team", "status": "active",
        "source": {"file": "sales/orders.yaml", "format": "odcs"},
        "lineage": {"upstream": ["raw.orders"], "downstream": []},
        "fields": [
            {"name": "email", "type": "string", "pii": true, "transform": "hash"},
            {"name": "total", "type": "decimal", "pii": false}
        ]
    }"#;

    fn json(text: &str) -> Value {
        Value::from_json_str(text).expect("valid JSON")
    }

    #[test]
    fn follows_variables_functions_comprehensions_and_object_get() {
        let lineage = r#"package charter.mesh.a
ids := {p.id | some p in data.charter.products}
name(p) := sprintf("%s", [p.source.file])
deny contains msg if {
    some i, p in data.charter.products
    consumer := data.charter.products[i]
    some up in consumer.lineage.upstream
    not up in ids
    msg := name(p)
}
pii contains f.name if {
    some p in data.charter.products
    some f in p.fields
    f.pii
    object.get(f, "transform", null) != "hash"
}"#;
        assert_eq!(
            projected(&[lineage], PRODUCT),
            json(
                r#"{"id": "sales.orders", "source": {"file": "sales/orders.yaml"},
                "lineage": {"upstream": ["raw.orders"]},
                "fields": [{"name": "email", "pii": true, "transform": "hash"},
                           {"name": "total", "pii": false}]}"#
            )
        );
    }

    #[test]
    fn a_product_used_as_a_value_is_kept_whole() {
        let whole = json(PRODUCT);
        for rule in [
            "by_id[p.id] := p if some p in data.charter.products",
            "x := data.charter",
            "x := data[\"charter\"].products",
            "x := [k | some k, _ in data]",
            "x if { p := data.charter.products[0]; p == {} }",
            "x if { some p in data.charter.products; json.marshal(p) }",
            "x if { y := 1 with data.charter.products as [] }",
        ] {
            let module = format!("package charter.mesh.a\n{rule}");
            assert_eq!(projected(&[&module], PRODUCT), whole, "{rule}");
        }
        let own_package = "package charter\nall := products";
        assert_eq!(projected(&[own_package], PRODUCT), whole);
    }

    #[test]
    fn the_reads_of_input_are_followed_as_those_of_a_product() {
        let rules = "package charter.rules.a
            import rego.v1
            names := {f.name | some f in input.fields}
            deny_pii contains f.name if { some f in input.fields; is_pii(f) }
            is_pii(f) if object.get(f, \"pii\", false)
            warn_owner contains \"x\" if { not input.owner; count(input.lineage.upstream) > 0 }
            x := data.charter.settings.limit";
        assert_eq!(
            projected_input(&[rules], PRODUCT),
            json(
                r#"{"owner": "team", "lineage": {"upstream": ["raw.orders"]},
                "fields": [{"name": "email", "pii": true}, {"name": "total", "pii": false}]}"#
            )
        );
        // The repository-wide view of the same modules: they read no product.
        assert_eq!(projected(&[rules], PRODUCT), json("{}"));
    }

    #[test]
    fn input_used_as_a_value_is_kept_whole() {
        let whole = json(PRODUCT);
        for rule in [
            "x := input",
            "x if json.marshal(input)",
            "x if { y := 1 with input as {} }",
            "x if { y := 1 with input.fields as [] }",
            "import input.fields as fs\nx if { some f in fs; f.name }",
        ] {
            let module = format!("package charter.rules.a\n{rule}");
            assert_eq!(projected_input(&[&module], PRODUCT), whole, "{rule}");
        }
        let fields = whole
            .as_object()
            .ok()
            .and_then(|o| o.get(&json("\"fields\"")).cloned());
        let only_fields = Value::from(std::collections::BTreeMap::from([(
            json("\"fields\""),
            fields.expect("the product has fields"),
        )]));
        for rule in [
            "x if { some f in input.fields; f == {} }",
            "x := [f | some f in input.fields]",
        ] {
            let module = format!("package charter.rules.a\n{rule}");
            assert_eq!(projected_input(&[&module], PRODUCT), only_fields, "{rule}");
        }
    }

    #[test]
    fn counting_keeps_every_key_and_element_not_what_is_below() {
        let product =
            r#"{"id": "a", "fields": [{"name": "x", "pii": true}, {"name": "y"}], "tags": ["t"]}"#;
        for (rule, kept) in [
            (
                "n := count(data.charter.products[_])",
                r#"{"id": "a", "fields": [{}, {}], "tags": ["t"]}"#,
            ),
            (
                "n if { some p in data.charter.products; count(p.fields) > 1 }",
                r#"{"fields": [{}, {}]}"#,
            ),
        ] {
            let module = format!("package charter.mesh.a\n{rule}");
            assert_eq!(projected(&[&module], product), json(kept), "{rule}");
        }
        // A function of the pack's own named `count` is followed, not taken for the builtin.
        let own = "package charter.mesh.a\ncount(x) := x\nn := count(data.charter.products[_])";
        assert_eq!(projected(&[own], product), json(product));
    }

    #[test]
    fn iterating_a_product_keeps_its_keys_and_what_each_value_needs() {
        let module = r#"package charter.mesh.a
keys contains k if {
    some p in data.charter.products
    some k, _ in p
}"#;
        assert_eq!(
            projected(&[module], PRODUCT),
            json(
                r#"{"id": "sales.orders", "owner": "team", "status": "active",
                "source": {}, "lineage": {}, "fields": [{}, {}]}"#
            )
        );
    }

    #[test]
    fn functions_of_other_packages_are_followed_through_imports() {
        let lib = r#"package charter.lib
owner_of(p) := p.owner"#;
        let rules = r#"package charter.mesh.a
import data.charter.lib
owners contains lib.owner_of(p) if some p in data.charter.products"#;
        assert_eq!(
            projected(&[lib, rules], PRODUCT),
            json(r#"{"owner": "team"}"#)
        );
    }

    #[test]
    fn rules_that_never_read_the_products_keep_nothing_of_them() {
        let module = r#"package charter.mesh.a
deny contains "x" if data.charter.settings.enabled"#;
        assert_eq!(projected(&[module], PRODUCT), json("{}"));
    }
}
