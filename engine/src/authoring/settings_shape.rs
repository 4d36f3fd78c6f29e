//! The central settings (`data/*.yaml`) against the shape the default pack reads: a key
//! nothing reads is a warning (a typo silently keeps a rule's built-in default), a value of
//! the wrong type or form an error (a rule would read it and fail, or match nothing).
//!
//! What is read: the keys the default pack, the contract readers, the access engine and
//! the waivers read (with their types), and any key the pack's own Rego reads
//! (`data.charter.settings.a.b`, `object.get(data.charter.settings, ["a", "b"], d)`), so
//! that a central team's own rules may read their own settings.

use std::collections::BTreeMap;

use regorus::unstable::{Expr, Ref};
use serde_json::Value as Json;

use super::ast::{self, ParsedModule, Stmt};
use super::problem::{Check, Problem};
use crate::contract::LineIndex;
use crate::pack::PolicyPack;

/// The expected form of a setting.
enum Shape {
    /// A mapping with these keys (each optional: rules keep a default for what is left out).
    Record(Vec<(&'static str, Shape)>),
    /// A mapping of any names to values of one shape.
    MapOf(Box<Shape>),
    /// A list of values of one shape.
    ListOf(Box<Shape>),
    /// A string.
    String,
    /// A regular expression in the syntax regorus and OPA share (RE2).
    Pattern,
    /// A number in a range.
    Number { min: f64, max: Option<f64> },
    /// One of these strings.
    OneOf(&'static [&'static str]),
}

fn strings() -> Shape {
    Shape::ListOf(Box::new(Shape::String))
}

fn record(keys: Vec<(&'static str, Shape)>) -> Shape {
    Shape::Record(keys)
}

/// What the default pack, the contract readers and the access engine read.
fn default_pack_shape() -> Shape {
    record(vec![
        (
            "naming",
            record(vec![
                ("product_pattern", Shape::Pattern),
                ("field_pattern", Shape::Pattern),
            ]),
        ),
        ("ownership", record(vec![("owner_pattern", Shape::Pattern)])),
        (
            "pii",
            record(vec![
                ("masking_methods", strings()),
                ("name_pattern", Shape::Pattern),
                ("removing_transforms", strings()),
            ]),
        ),
        (
            "retention",
            record(vec![(
                "max_days",
                Shape::MapOf(Box::new(Shape::Number {
                    min: 0.0,
                    max: None,
                })),
            )]),
        ),
        (
            "sla",
            record(vec![(
                "min_availability",
                Shape::Number {
                    min: 0.0,
                    max: Some(100.0),
                },
            )]),
        ),
        (
            "access",
            record(vec![("roles", strings()), ("classifications", strings())]),
        ),
        ("versioning", record(vec![("statuses", strings())])),
        (
            "odcs",
            record(vec![
                ("pii_classifications", strings()),
                ("pii_tags", strings()),
                ("masking_properties", strings()),
            ]),
        ),
        (
            "access_decisions",
            record(vec![
                (
                    "attribute_filters",
                    Shape::ListOf(Box::new(record(vec![
                        ("column", Shape::String),
                        ("attribute", Shape::String),
                        ("exempt_roles", strings()),
                    ]))),
                ),
                ("row_filter_columns", strings()),
                (
                    "masking_aliases",
                    Shape::MapOf(Box::new(Shape::OneOf(&[
                        "hash", "redact", "nullify", "last4",
                    ]))),
                ),
                ("default_dialect", Shape::OneOf(&["trino", "ansi"])),
                (
                    "row_filter_time_limit_ms",
                    Shape::Number {
                        min: 1.0,
                        max: Some(60_000.0),
                    },
                ),
            ]),
        ),
        ("lineage", record(vec![("external_sources", strings())])),
        (
            "waivers",
            record(vec![("max_days", days()), ("warn_days", days())]),
        ),
    ])
}

fn days() -> Shape {
    Shape::Number {
        min: 0.0,
        max: None,
    }
}

/// The settings the pack's Rego reads: key paths under `data.charter.settings`.
#[derive(Debug, Default)]
struct Reads {
    paths: Vec<Vec<String>>,
    /// Some module reads the settings whole (`s := data.charter.settings`): any key may be read.
    all: bool,
}

impl Reads {
    /// Whether `path` is read whole: it or one of its ancestors is.
    fn whole(&self, path: &[String]) -> bool {
        self.all
            || self
                .paths
                .iter()
                .any(|read| read.len() <= path.len() && read[..] == path[..read.len()])
    }

    /// Whether something under `path` is read (`path` is a container of read keys).
    fn inside(&self, path: &[String]) -> bool {
        self.paths
            .iter()
            .any(|read| read.len() > path.len() && read[..path.len()] == path[..])
    }

    fn of(modules: &[ParsedModule]) -> Self {
        let mut reads = Reads::default();
        for module in modules.iter().filter(|m| !m.is_test_file()) {
            let aliases: Vec<(String, Vec<String>)> = module
                .module
                .imports
                .iter()
                .filter_map(|import| {
                    let target = ast::ref_path(&import.refr)?;
                    let rest = settings_rest(&target)?;
                    let alias = match &import.r#as {
                        Some(span) => span.text().to_owned(),
                        None => target.last()?.clone(),
                    };
                    Some((alias, rest))
                })
                .collect();
            ast::module_stmts(&module.module, &mut |stmt| {
                let (Stmt::Expr(expr) | Stmt::Not(expr, _)) = stmt;
                reads.collect(expr, &aliases);
            });
        }
        reads
    }

    fn collect(&mut self, expr: &Ref<Expr>, aliases: &[(String, Vec<String>)]) {
        ast::walk_expr(expr, &mut |e| {
            if let Expr::Call { fcn, params, .. } = e.as_ref()
                && ast::ref_path(fcn).is_some_and(|p| p == ["object", "get"])
                && let Some(base) = params.first().and_then(|p| settings_ref(p, aliases))
            {
                let mut path = base;
                match params.get(1).map(AsRef::as_ref) {
                    Some(Expr::String { value, .. } | Expr::RawString { value, .. }) => {
                        path.extend(value.as_string().ok().map(|s| s.to_string()));
                    }
                    Some(Expr::Array { items, .. }) => {
                        for item in items {
                            match item.as_ref() {
                                Expr::String { value, .. } | Expr::RawString { value, .. } => {
                                    path.extend(value.as_string().ok().map(|s| s.to_string()));
                                }
                                _ => break,
                            }
                        }
                    }
                    _ => {}
                }
                self.add(path);
                for param in params.iter().skip(1) {
                    self.collect(param, aliases);
                }
                return false;
            }
            if matches!(
                e.as_ref(),
                Expr::RefDot { .. } | Expr::RefBrack { .. } | Expr::Var { .. }
            ) && let Some(path) = settings_ref(e, aliases)
            {
                self.add(path);
                return false;
            }
            true
        });
    }

    fn add(&mut self, path: Vec<String>) {
        if path.is_empty() {
            self.all = true;
        } else {
            self.paths.push(path);
        }
    }
}

/// The components after `data.charter.settings`, if `path` is under it.
fn settings_rest(path: &[String]) -> Option<Vec<String>> {
    match path {
        [data, charter, settings, rest @ ..]
            if data == "data" && charter == "charter" && settings == "settings" =>
        {
            Some(rest.to_vec())
        }
        _ => None,
    }
}

/// The literal key path of a reference into the settings, up to its first non-literal key
/// (`data.charter.settings.retention.max_days[c]` → `retention.max_days`).
fn settings_ref(expr: &Expr, aliases: &[(String, Vec<String>)]) -> Option<Vec<String>> {
    let mut keys = Vec::new();
    let mut current = expr;
    loop {
        match current {
            Expr::RefDot { refr, field, .. } => {
                keys.push(field.1.as_string().ok()?.to_string());
                current = refr;
            }
            Expr::RefBrack { refr, index, .. } => {
                match index.as_ref() {
                    Expr::String { value, .. } | Expr::RawString { value, .. } => {
                        keys.push(value.as_string().ok()?.to_string());
                    }
                    _ => keys.clear(),
                }
                current = refr;
            }
            Expr::Var { span, .. } => {
                keys.push(span.text().to_owned());
                break;
            }
            _ => return None,
        }
    }
    keys.reverse();
    if let Some((_, rest)) = aliases
        .iter()
        .find(|(alias, _)| Some(alias) == keys.first())
    {
        let mut path = rest.clone();
        path.extend(keys.into_iter().skip(1));
        return Some(path);
    }
    settings_rest(&keys)
}

/// Checks every settings file of the pack; returns the problems and the number of files.
pub(crate) fn check(pack: &PolicyPack, modules: &[ParsedModule]) -> (Vec<Problem>, usize) {
    let shape = default_pack_shape();
    let reads = Reads::of(modules);
    let mut problems = Vec::new();
    let mut first_file: BTreeMap<String, String> = BTreeMap::new();
    let mut count = 0;
    for file in pack
        .files()
        .iter()
        .filter(|f| crate::pack::is_settings_file(&f.path))
    {
        count += 1;
        // A settings file that is not YAML, or not a mapping, never gets this far: the pack
        // refuses it when it loads (`settings/syntax`, reported by `validate::unloadable`).
        let Ok(value) = yaml_serde::from_str::<Json>(&file.text) else {
            continue;
        };
        let Json::Object(map) = &value else {
            continue;
        };
        let lines = LineIndex::build(&file.text);
        let mut checker = Checker {
            file: &file.path,
            lines: &lines,
            reads: &reads,
            problems: &mut problems,
        };
        for key in map.keys() {
            if let Some(earlier) = first_file.get(key) {
                let message = format!(
                    "`{key}` is also set in `{earlier}`: settings files are merged by top-level key, so this file's `{key}` replaces that one whole"
                );
                let line = lines.exact(key).unwrap_or(1);
                checker.problems.push(
                    Problem::warning(Check::SettingsOverride, &file.path, message).at(line, None),
                );
            } else {
                first_file.insert(key.clone(), file.path.clone());
            }
        }
        checker.check("", &[], &value, &shape);
    }
    (problems, count)
}

struct Checker<'a> {
    file: &'a str,
    lines: &'a LineIndex,
    reads: &'a Reads,
    problems: &'a mut Vec<Problem>,
}

impl Checker<'_> {
    fn problem(&mut self, path: &str, problem: Problem) {
        let line = self.lines.line(path).unwrap_or(1);
        self.problems.push(problem.at(line, None));
    }

    fn wrong(&mut self, path: &str, expected: &str, value: &Json) {
        let message = format!("`{path}` should be {expected}, not {}", describe(value));
        self.problem(
            path,
            Problem::error(Check::SettingsType, self.file, message),
        );
    }

    /// A key the default pack does not read: known when the pack's Rego reads it (or
    /// something under it), else a warning.
    fn check_read(&mut self, path: &str, keys: &[String], value: &Json, known: &[&str]) {
        if self.reads.whole(keys) {
            return;
        }
        if self.reads.inside(keys) {
            if let Json::Object(map) = value {
                for (key, value) in map {
                    let mut child = keys.to_vec();
                    child.push(key.clone());
                    self.check_read(&format!("{path}.{key}"), &child, value, &[]);
                }
            }
            return;
        }
        let known = if known.is_empty() {
            String::new()
        } else {
            format!(" (known here: {})", known.join(", "))
        };
        let message = format!("unknown setting `{path}`: nothing in the pack reads it{known}");
        self.problem(
            path,
            Problem::warning(Check::SettingsUnknownKey, self.file, message),
        );
    }

    /// `path` for messages and lines (`a.b[2].c`), `keys` the mapping keys along it.
    fn check(&mut self, path: &str, keys: &[String], value: &Json, shape: &Shape) {
        let key_path = |key: &str| {
            let mut keys = keys.to_vec();
            keys.push(key.to_owned());
            keys
        };
        let child = |key: &str| {
            if path.is_empty() {
                key.to_owned()
            } else {
                format!("{path}.{key}")
            }
        };
        match shape {
            Shape::Record(fields) => {
                let Json::Object(map) = value else {
                    return self.wrong(path, "a mapping", value);
                };
                let known: Vec<&str> = fields.iter().map(|(k, _)| *k).collect();
                for (key, value) in map {
                    match fields.iter().find(|(k, _)| k == key) {
                        Some((_, shape)) => self.check(&child(key), &key_path(key), value, shape),
                        None => self.check_read(&child(key), &key_path(key), value, &known),
                    }
                }
            }
            Shape::MapOf(inner) => {
                let Json::Object(map) = value else {
                    return self.wrong(path, "a mapping", value);
                };
                for (key, value) in map {
                    self.check(&child(key), &key_path(key), value, inner);
                }
            }
            Shape::ListOf(inner) => {
                let Json::Array(items) = value else {
                    return self.wrong(path, "a list", value);
                };
                for (i, item) in items.iter().enumerate() {
                    self.check(&format!("{path}[{i}]"), keys, item, inner);
                }
            }
            Shape::String => {
                if !value.is_string() {
                    self.wrong(path, "a string", value);
                }
            }
            Shape::Pattern => match value.as_str() {
                None => self.wrong(path, "a regular expression (a string)", value),
                Some(pattern) => {
                    if let Err(e) = regex::Regex::new(pattern) {
                        let message = format!(
                            "`{path}` is not a regular expression regorus and OPA accept (RE2 syntax): {}",
                            e.to_string()
                                .lines()
                                .last()
                                .unwrap_or_default()
                                .trim()
                                .trim_start_matches("error: ")
                        );
                        self.problem(
                            path,
                            Problem::error(Check::SettingsType, self.file, message),
                        );
                    }
                }
            },
            Shape::Number { min, max } => match value.as_f64() {
                None => self.wrong(path, "a number", value),
                Some(n) if n < *min || max.is_some_and(|max| n > max) => {
                    let range = match max {
                        Some(max) => format!("between {min} and {max}"),
                        None => format!("at least {min}"),
                    };
                    let message = format!("`{path}` is {n}: it should be {range}");
                    self.problem(
                        path,
                        Problem::error(Check::SettingsType, self.file, message),
                    );
                }
                Some(_) => {}
            },
            Shape::OneOf(choices) => {
                if !value.as_str().is_some_and(|s| choices.contains(&s)) {
                    self.wrong(path, &format!("one of {}", choices.join(", ")), value);
                }
            }
        }
    }
}

fn describe(value: &Json) -> String {
    match value {
        Json::Null => "null".into(),
        Json::Bool(b) => format!("the boolean `{b}`"),
        Json::Number(n) => format!("the number `{n}`"),
        Json::String(s) => format!("the string `{s}`"),
        Json::Array(_) => "a list".into(),
        Json::Object(_) => "a mapping".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn problems(files: &[(&str, &str)]) -> Vec<Problem> {
        let mut all = vec![("rego/x.rego", "package charter.rules.x\n")];
        all.extend_from_slice(files);
        let pack = PolicyPack::from_files(all.iter().map(|(p, t)| (*p, *t))).unwrap();
        let (modules, _) = super::super::rego_check::parse_all(&pack);
        check(&pack, &modules).0
    }

    #[test]
    fn the_default_settings_fit() {
        let files = charter_policies::files();
        let pack = PolicyPack::from_files(files).unwrap();
        let (modules, _) = super::super::rego_check::parse_all(&pack);
        let (problems, count) = check(&pack, &modules);
        assert!(problems.is_empty(), "{problems:#?}");
        assert!(count >= 2);
    }

    #[test]
    fn unknown_keys_warn_and_wrong_types_fail_with_lines() {
        let text = "naming:\n  product_patern: 'x'\nsla:\n  min_availability: high\npii:\n  masking_methods: [hash, 3]\n  name_pattern: '(a'\nretention:\n  max_days:\n    public: -1\naccess_decisions:\n  default_dialect: mysql\n";
        let p = problems(&[("data/settings.yaml", text)]);
        let summary: Vec<(u32, Check)> = p.iter().map(|p| (p.line.unwrap_or(0), p.check)).collect();
        assert_eq!(
            summary,
            [
                (2, Check::SettingsUnknownKey),
                (4, Check::SettingsType),
                (6, Check::SettingsType),
                (7, Check::SettingsType),
                (10, Check::SettingsType),
                (12, Check::SettingsType),
            ],
            "{p:#?}"
        );
        assert!(p[0].message.contains("`naming.product_patern`"));
        assert!(p[1].message.contains("not the string `high`"));
        assert!(p[2].message.contains("`pii.masking_methods[1]`"));
    }

    #[test]
    fn keys_the_packs_rego_reads_are_known() {
        let rego = "package charter.rules.x\n\nimport data.charter.settings.acme as acme\n\na := data.charter.settings.team.limit\nb := object.get(data.charter.settings, [\"org\", \"units\"], [])\nc := acme.level\nd := data.charter.settings.per_class[input.c]\n";
        let yaml = "team:\n  limit: 3\norg:\n  units: [a]\n  other: 1\nacme:\n  level: 2\nper_class:\n  x: 1\nnaming:\n  extra: 1\nunread: 1\n";
        let mut pack = vec![("rego/x.rego", rego), ("data/s.yaml", yaml)];
        let pack = PolicyPack::from_files(pack.drain(..)).unwrap();
        let (modules, _) = super::super::rego_check::parse_all(&pack);
        let unknown: Vec<String> = check(&pack, &modules)
            .0
            .into_iter()
            .map(|p| p.message.split('`').nth(1).unwrap_or_default().to_owned())
            .collect();
        assert_eq!(unknown, ["org.other", "naming.extra", "unread"]);
    }

    #[test]
    fn a_key_in_two_files_is_an_override() {
        let p = problems(&[
            ("data/a.yaml", "sla:\n  min_availability: 99\n"),
            ("data/b.yaml", "\nsla:\n  min_availability: 98\n"),
        ]);
        assert_eq!(p.len(), 1);
        assert_eq!(p[0].check, Check::SettingsOverride);
        assert_eq!((p[0].file.as_str(), p[0].line), ("data/b.yaml", Some(2)));
    }
}
