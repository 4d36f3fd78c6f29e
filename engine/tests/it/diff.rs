//! Breaking changes: classification driven from testdata/diff/cases/*.yaml, versioning
//! findings with lines from testdata/diff/versioning.yaml, and a mesh against its base.
#![cfg(test)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use charter_engine::contract::{Product, ReaderSettings, read};
use charter_engine::diff::{
    BaseFile, ChangeClass, ChangeKind, Side, compare_with_base, diff, versioning_findings,
};
use charter_engine::mesh::{Loaded, Mesh};
use charter_engine::report::Severity;
use serde::Deserialize;
use serde_json::{Map, Value};

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata/diff")
}

fn yaml<T: serde::de::DeserializeOwned>(path: &Path) -> T {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    yaml_serde::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A patch of a normalized product: `set` model paths, `append` to lists, `remove` items.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct Patch {
    #[serde(default)]
    set: Map<String, Value>,
    #[serde(default)]
    append: Map<String, Value>,
    #[serde(default)]
    remove: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    kind: ChangeKind,
    class: ChangeClass,
    path: String,
    #[serde(default = "new_side")]
    side: Side,
}

fn new_side() -> Side {
    Side::New
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    name: String,
    #[serde(default)]
    old: Patch,
    #[serde(default)]
    new: Patch,
    changes: Vec<Expected>,
}

/// `fields[2].masking` → [`fields`, 2, `masking`].
enum Step {
    Key(String),
    Index(usize),
}

fn steps(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (key, rest) = part.split_once('[').unwrap_or((part, ""));
        out.push(Step::Key(key.to_owned()));
        for index in rest.split('[').filter(|s| !s.is_empty()) {
            out.push(Step::Index(
                index.trim_end_matches(']').parse().expect("an index"),
            ));
        }
    }
    out
}

fn at<'a>(value: &'a mut Value, path: &[Step], case: &str) -> &'a mut Value {
    path.iter().fold(value, |v, step| match step {
        Step::Key(k) => v
            .get_mut(k.as_str())
            .unwrap_or_else(|| panic!("{case}: no key `{k}`")),
        Step::Index(i) => v
            .get_mut(*i)
            .unwrap_or_else(|| panic!("{case}: no index {i}")),
    })
}

fn apply(base: &Value, patch: &Patch, case: &str) -> Product {
    let mut v = base.clone();
    for (path, value) in &patch.set {
        *at(&mut v, &steps(path), case) = value.clone();
    }
    for (path, value) in &patch.append {
        at(&mut v, &steps(path), case)
            .as_array_mut()
            .unwrap_or_else(|| panic!("{case}: `{path}` is not a list"))
            .push(value.clone());
    }
    for path in &patch.remove {
        let mut s = steps(path);
        let Some(Step::Index(i)) = s.pop() else {
            panic!("{case}: remove takes a list item, not `{path}`");
        };
        at(&mut v, &s, case)
            .as_array_mut()
            .unwrap_or_else(|| panic!("{case}: `{path}` is not in a list"))
            .remove(i);
    }
    serde_json::from_value(v).unwrap_or_else(|e| panic!("{case}: not a product: {e}"))
}

#[test]
fn classification_cases() {
    let base: Value = yaml(&testdata().join("base.yaml"));
    let mut files: Vec<PathBuf> = std::fs::read_dir(testdata().join("cases"))
        .expect("cases folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 3, "the case files are missing");
    let mut seen = BTreeSet::new();
    let mut failures = Vec::new();
    let mut count = 0;
    for file in files {
        let cases: Vec<Case> = yaml(&file);
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for case in cases {
            count += 1;
            let label = format!("{name}: {}", case.name);
            let old = apply(&base, &case.old, &label);
            let new = apply(&base, &case.new, &label);
            let changes = diff(&old, &new);
            let mut got: Vec<(ChangeKind, ChangeClass, String, Side)> = changes
                .iter()
                .map(|c| (c.kind, c.class, c.path.clone(), c.side))
                .collect();
            let mut want: Vec<(ChangeKind, ChangeClass, String, Side)> = case
                .changes
                .iter()
                .map(|e| (e.kind, e.class, e.path.clone(), e.side))
                .collect();
            got.sort_by_key(|g| format!("{g:?}"));
            want.sort_by_key(|w| format!("{w:?}"));
            if got != want {
                failures.push(format!("{label}\n  want {want:?}\n  got  {got:?}"));
            }
            for c in &changes {
                assert_eq!(c.class, c.kind.class(), "{label}");
                assert!(!c.message.is_empty(), "{label}");
            }
            for e in &case.changes {
                assert_eq!(
                    e.class,
                    e.kind.class(),
                    "{label}: the case gives the wrong class"
                );
                seen.insert(e.kind);
            }
            // Comparing a product with itself finds nothing.
            assert!(diff(&new, &new).is_empty(), "{label}: new vs new");
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let missing: Vec<&str> = ChangeKind::ALL
        .iter()
        .filter(|k| !seen.contains(k))
        .map(|k| k.as_str())
        .collect();
    assert!(
        missing.is_empty(),
        "change kinds without a case: {missing:?}"
    );
}

#[test]
fn change_kind_ids_are_stable_snake_case() {
    for kind in ChangeKind::ALL {
        let id = kind.as_str();
        assert_eq!(
            serde_json::to_value(kind).expect("serializes"),
            Value::from(id)
        );
        assert_eq!(id.parse::<ChangeKind>().expect("parses"), *kind);
        assert!(
            id.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{id}"
        );
    }
    assert!("field_renamed".parse::<ChangeKind>().is_err());
    assert_eq!(
        serde_json::to_value(ChangeClass::Governance).expect("serializes"),
        Value::from("governance")
    );
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct VersioningCase {
    name: String,
    contract: Option<String>,
    #[serde(default)]
    old: Vec<(String, String)>,
    #[serde(default)]
    new: Vec<(String, String)>,
    findings: Vec<ExpectedFinding>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedFinding {
    rule: String,
    line: u32,
}

fn edited(text: &str, edits: &[(String, String)], case: &str) -> String {
    edits.iter().fold(text.to_owned(), |t, (from, to)| {
        assert!(
            t.contains(from.as_str()),
            "{case}: `{from}` not in the contract"
        );
        t.replacen(from.as_str(), to, 1)
    })
}

#[test]
fn versioning_cases() {
    let cases: Vec<VersioningCase> = yaml(&testdata().join("versioning.yaml"));
    let settings = ReaderSettings::default();
    let mut failures = Vec::new();
    for case in &cases {
        let file = case.contract.as_deref().unwrap_or("contract.yaml");
        let text = std::fs::read_to_string(testdata().join(file)).expect("contract");
        let old = read("old.yaml", &edited(&text, &case.old, &case.name), &settings)
            .unwrap_or_else(|e| panic!("{}: old: {e}", case.name));
        let new = read("new.yaml", &edited(&text, &case.new, &case.name), &settings)
            .unwrap_or_else(|e| panic!("{}: new: {e}", case.name));
        let changes = diff(&old.product, &new.product);
        let findings = versioning_findings(&old.product, &new, &changes);
        for f in &findings {
            assert_eq!(f.severity, Severity::Error, "{}", case.name);
            assert_eq!(f.file, "new.yaml");
            assert_eq!(f.product.as_deref(), Some(new.product.id.as_str()));
            assert!(f.waiver.is_none());
        }
        let mut got: Vec<(String, u32)> =
            findings.iter().map(|f| (f.rule.clone(), f.line)).collect();
        let mut want: Vec<(String, u32)> = case
            .findings
            .iter()
            .map(|f| (f.rule.clone(), f.line))
            .collect();
        got.sort();
        want.sort();
        if got != want {
            let messages: Vec<&str> = findings.iter().map(|f| f.message.as_str()).collect();
            failures.push(format!(
                "{}\n  want {want:?}\n  got  {got:?}\n  {messages:?}",
                case.name
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n")
    );
}

fn contract(file: &str, text: &str) -> Loaded {
    match read(file, text, &ReaderSettings::default()) {
        Ok(c) => Loaded::Contract(Box::new(c)),
        Err(e) => panic!("{file}: {e}"),
    }
}

#[test]
fn mesh_against_its_base() {
    let text = std::fs::read_to_string(testdata().join("contract.yaml")).expect("contract");
    let product = |id: &str, version: &str| {
        text.replace("orders.customer_orders", id)
            .replace("version: 1.2.0", &format!("version: {version}"))
    };
    let unchanged = product("orders.unchanged", "1.0.0");
    let moved = product("orders.moved", "1.0.0");
    let bumped_old = product("orders.bumped", "1.0.0");
    let bumped_new = bumped_old
        .replace("\"99.9%\"", "\"99.95%\"")
        .replace("version: 1.0.0", "version: 1.1.0");
    let removed = product("orders.removed", "1.0.0");
    let retired = product("orders.retired", "1.0.0").replace("status: active", "status: retired");
    let broken = product("orders.broken", "1.0.0");
    let base = vec![
        BaseFile {
            file: "unchanged.yaml".into(),
            bytes: unchanged.clone().into_bytes(),
        },
        BaseFile {
            file: "old/moved.yaml".into(),
            bytes: moved.clone().into_bytes(),
        },
        BaseFile {
            file: "bumped.yaml".into(),
            bytes: bumped_old.into_bytes(),
        },
        BaseFile {
            file: "removed.yaml".into(),
            bytes: removed.into_bytes(),
        },
        BaseFile {
            file: "retired.yaml".into(),
            bytes: retired.into_bytes(),
        },
        BaseFile {
            file: "broken.yaml".into(),
            bytes: broken.into_bytes(),
        },
        BaseFile {
            file: "not-a-contract.yaml".into(),
            bytes: b"just: yaml".to_vec(),
        },
    ];
    let mesh = Mesh::from_loaded(vec![
        contract("unchanged.yaml", &unchanged),
        // Moved and changed without a bump: reported in the new file.
        contract("new/moved.yaml", &moved.replace("\"99.9%\"", "\"99.95%\"")),
        contract("bumped.yaml", &bumped_new),
        contract("added.yaml", &product("orders.added", "0.1.0")),
        Loaded::Failure(charter_engine::mesh::ParseFailure {
            file: "broken.yaml".into(),
            line: 3,
            message: "not valid YAML".into(),
        }),
    ]);
    let findings = compare_with_base(&base, &mesh, &ReaderSettings::default());
    let got: Vec<(&str, &str, u32, Severity)> = findings
        .iter()
        .map(|f| (f.rule.as_str(), f.file.as_str(), f.line, f.severity))
        .collect();
    assert_eq!(
        got,
        vec![
            (
                "versioning/change_without_version_bump",
                "new/moved.yaml",
                19,
                Severity::Error
            ),
            (
                "versioning/product_removed",
                "removed.yaml",
                7,
                Severity::Error
            ),
            (
                "versioning/product_removed",
                "retired.yaml",
                7,
                Severity::Warning
            ),
        ],
        "{findings:#?}"
    );
}
