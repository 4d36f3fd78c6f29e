//! `charter export --target trino-rego` against the real OPA engine: the bundle, evaluated
//! by OPA (PyPI's `opa-golib-python-bindings`, OPA's Go library; `.ci/run` installs it in
//! the venv `CHARTER_OPA_VENV`), answers every Trino request case exactly as `charter serve
//! --http-listen` answers it on the same mesh, directory and pack, and denies every table
//! it refused.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::{Value, json};

use super::harness::{Options, free_port, repo, spawn};
use super::trino::{column, input, post, table};

/// Callers: directory users (one with a hostile region), owning teams by request groups,
/// a stranger.
const DIRECTORY: &str = "users:\n  ana: {roles: [analyst], attributes: {region: eu}}\n  gus: {attributes: {region: us}, groups: [global-readers]}\n  eve: {roles: [analyst], attributes: {region: \"eu' OR '1'='1\"}}\n  pia: {roles: [analyst, pii-reader, restricted-reader], attributes: {region: eu}}\n  rex: {roles: [finance-analyst, auditor, support-agent, data-scientist], groups: [team-billing@acme.example]}\ngroups:\n  global-readers: {roles: [analyst, global-reader]}\n";

const CALLERS: [(&str, &[&str]); 8] = [
    ("ana", &[]),
    ("gus", &[]),
    ("eve", &[]),
    ("pia", &[]),
    ("rex", &[]),
    ("olga", &["team-orders@acme.example"]),
    ("tea", &["team-customer-engagement@acme.example", ""]),
    ("mallory", &["some-group"]),
];

fn opa_python() -> Option<PathBuf> {
    crate::common::venv_python("CHARTER_OPA_VENV", "opa-golib-python-bindings")
}

/// The sample mesh, plus a product whose table and column names are hostile (quotes,
/// capitals) and a table two products claim (Charter denies it; the bundle refuses it).
fn mesh(dir: &Path) -> PathBuf {
    let mesh = dir.join("mesh");
    crate::common::copy_dir(&repo().join("testdata/mesh"), &mesh);
    let orders = repo().join("testdata/mesh/domains/orders");
    let returns = std::fs::read_to_string(orders.join("returns.yaml")).unwrap();
    let hostile = returns
        .replace("name: orders.returns", "name: orders.hostile_returns")
        .replace(
            "table: lake.orders.returns",
            "table: \"lake.Orders.Hostile'Returns\"",
        )
        .replace("- name: return_id", "- name: \"Return'ID\"");
    assert_ne!(hostile, returns);
    std::fs::write(mesh.join("domains/orders/hostile_returns.yaml"), hostile).unwrap();
    let lines = std::fs::read_to_string(orders.join("order_lines.yaml")).unwrap();
    let claimed = lines.replace("name: orders.order_lines", "name: orders.order_lines_copy");
    assert_ne!(claimed, lines);
    std::fs::write(mesh.join("domains/orders/order_lines_copy.yaml"), claimed).unwrap();
    mesh
}

/// An exported table: its name and columns, as the bundle lists them.
struct Exported {
    name: String,
    columns: Vec<String>,
}

fn exported_tables(bundle: &Path) -> Vec<Exported> {
    let mut tables = Vec::new();
    for entry in std::fs::read_dir(bundle.join("charter/trino/tables")).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path().join("data.json")).unwrap();
        let doc: Value = serde_json::from_str(&text).unwrap();
        tables.push(Exported {
            name: doc["table"].as_str().unwrap().to_owned(),
            columns: doc["columns"]
                .as_array()
                .unwrap()
                .iter()
                .map(|c| c["name"].as_str().unwrap().to_owned())
                .collect(),
        });
    }
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    tables
}

/// Every request shape the plugin sends, for every caller and table.
fn cases(tables: &[Exported], refused: &[String]) -> Vec<(&'static str, Value)> {
    let mut out = Vec::new();
    let mut names: Vec<String> = tables.iter().map(|t| t.name.clone()).collect();
    // Denied tables that Trino can name (three parts).
    names.extend(
        refused
            .iter()
            .filter(|r| r.split('.').count() == 3)
            .cloned(),
    );
    names.extend(
        [
            "lake.scratch.tmp",
            "lake.information_schema.tables",
            "LAKE.Orders.ORDER_EVENTS",
        ]
        .map(str::to_owned),
    );
    let all_tables: Vec<Value> = names.iter().map(|n| table(n, None)).collect();
    for (user, groups) in CALLERS {
        let ask = |endpoint: &'static str, action: Value| (endpoint, input(user, groups, action));
        for op in [
            "ExecuteQuery",
            "ShowSchemas",
            "SomethingNew",
            "GrantTablePrivilege",
        ] {
            out.push(ask("allow", json!({"operation": op})));
        }
        out.push(ask(
            "batch",
            json!({"operation": "FilterTables", "filterResources": all_tables}),
        ));
        out.push(ask("batch", json!({"operation": "FilterCatalogs", "filterResources": [{"catalog": {"name": "lake"}}, {"schema": {"catalogName": "lake", "schemaName": "orders"}}]})));
        out.push(ask("batch", json!({"operation": "FilterSchemas", "filterResources": [{"schema": {"catalogName": "lake", "schemaName": "orders"}}]})));
        out.push(ask(
            "batch",
            json!({"operation": "FilterFunctions", "filterResources": [
            {"function": {"catalogName": "system", "schemaName": "builtin", "functionName": "abs"}},
            {"function": {"catalogName": "lake", "schemaName": "udf", "functionName": "leak"}},
            {"function": {"functionName": "abs"}}]}),
        ));
        out.push(ask("batch", json!({"operation": "FilterViewQueryOwnedBy", "filterResources": [{"user": {"user": user}}, {"user": {"user": "someone-else"}}]})));
        out.push(ask("allow", json!({"operation": "ExecuteFunction", "resource": {"function": {"catalogName": "lake", "schemaName": "udf", "functionName": "leak"}}})));
        out.push(ask("allow", json!({"operation": "ExecuteFunction", "resource": {"function": {"catalogName": "system", "schemaName": "builtin", "functionName": "abs"}}})));
        out.push(ask(
            "allow",
            json!({"operation": "KillQueryOwnedBy", "resource": {"user": {"user": user}}}),
        ));
        out.push(ask(
            "allow",
            json!({"operation": "ViewQueryOwnedBy", "resource": {"user": {"user": "root"}}}),
        ));
        out.push(ask("allow", json!({"operation": "RowFiltersWithoutTable"})));
        out.push(ask("rowFilters", json!({"operation": "GetRowFilters"})));
        for name in &names {
            let columns: Vec<String> = tables
                .iter()
                .find(|t| &t.name == name)
                .map(|t| t.columns.clone())
                .unwrap_or_else(|| vec!["a".to_owned()]);
            let mut asked: Vec<String> = columns.clone();
            asked.push("no_such_column".to_owned());
            asked.extend(columns.iter().map(|c| c.to_ascii_lowercase()));
            asked.extend(columns.iter().take(1).map(|c| c.to_ascii_uppercase()));
            let mut once = std::collections::HashSet::new();
            asked.retain(|c| once.insert(c.clone()));
            let refs: Vec<&str> = asked.iter().map(String::as_str).collect();
            let select = |cols: &[&str]| json!({"operation": "SelectFromColumns", "resource": table(name, Some(cols))});
            out.push(ask("allow", select(&[])));
            for c in &refs {
                out.push(ask("allow", select(&[c])));
            }
            let clean: Vec<&str> = columns.iter().map(String::as_str).collect();
            out.push(ask("allow", select(&clean)));
            out.push(ask(
                "allow",
                json!({"operation": "FilterColumns", "resource": table(name, Some(&clean))}),
            ));
            out.push(ask(
                "allow",
                json!({"operation": "FilterTables", "resource": table(name, None)}),
            ));
            out.push(ask("batch", json!({"operation": "FilterColumns", "filterResources": [table(name, Some(&refs))]})));
            for op in ["InsertIntoTable", "TruncateTable", "DropTable", "AddColumn"] {
                out.push(ask(
                    "allow",
                    json!({"operation": op, "resource": table(name, None)}),
                ));
            }
            for target in ["lake.scratch.renamed", "lake.orders.order_events"] {
                out.push(ask("allow", json!({"operation": "RenameTable", "resource": table(name, None), "targetResource": table(target, None)})));
            }
            out.push(ask(
                "rowFilters",
                json!({"operation": "GetRowFilters", "resource": table(name, None)}),
            ));
            let masks: Vec<Value> = refs.iter().map(|c| column(name, c)).collect();
            out.push(ask(
                "batchColumnMasks",
                json!({"operation": "GetColumnMask", "filterResources": masks}),
            ));
            for c in &refs {
                out.push(ask(
                    "columnMask",
                    json!({"operation": "GetColumnMask", "resource": column(name, c)}),
                ));
            }
        }
        // Columns of two tables in one mask request: an error on both sides.
        if let [first, second, ..] = tables {
            out.push(ask("batchColumnMasks", json!({"operation": "GetColumnMask", "filterResources": [column(&first.name, &first.columns[0]), column(&second.name, &second.columns[0])]})));
        }
    }
    out
}

/// OPA's answers to `cases`, from `cli/tests/python/opa_trino.py`.
fn opa_answers(python: &Path, bundle: &Path, cases: &[(&str, Value)]) -> Vec<Value> {
    let payload: Vec<Value> = cases
        .iter()
        .map(|(endpoint, input)| json!({"endpoint": endpoint, "input": input}))
        .collect();
    let mut child = Command::new(python)
        .arg(repo().join("cli/tests/python/opa_trino.py"))
        .arg(bundle)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("python runs");
    let body = serde_json::to_vec(&payload).unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || std::io::Write::write_all(&mut stdin, &body));
    let output = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

/// Exports `mesh` (with `pack`, or the default) for Trino, serves the same, asks both
/// every case; panics naming the cases they differ on. The export's stderr and the OPA
/// answers come back for further checks.
fn differential(
    python: &Path,
    dir: &Path,
    mesh: &Path,
    pack: Option<&Path>,
) -> (std::process::Output, Vec<(Value, Value)>) {
    let principals = dir.join("principals.yaml");
    std::fs::write(&principals, DIRECTORY).unwrap();
    let out = dir.join("out");
    let mut command = Command::new(env!("CARGO_BIN_EXE_charter"));
    command
        .args(["export", "--target", "trino-rego", "--mesh"])
        .arg(mesh)
        .arg("--principals")
        .arg(&principals)
        .arg("--output")
        .arg(&out);
    let mut args = vec!["--principals".to_owned(), principals.display().to_string()];
    if let Some(pack) = pack {
        command.arg("--policies").arg(pack);
        args.extend(["--policies".to_owned(), pack.display().to_string()]);
    }
    let export = command.output().unwrap();
    let bundle = out.join("trino-rego");
    let tables = exported_tables(&bundle);
    assert!(tables.len() >= 15, "{} tables exported", tables.len());
    let root: Value = serde_json::from_str(
        &std::fs::read_to_string(bundle.join("charter/trino/data.json")).unwrap(),
    )
    .unwrap();
    let refused: Vec<String> = root["refused"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();

    let http = free_port();
    args.extend(["--http-listen".to_owned(), format!("127.0.0.1:{http}")]);
    let server = spawn(Options {
        args,
        mesh: Some(mesh.to_owned()),
        ..Options::default()
    });
    let cases = cases(&tables, &refused);
    let opa = opa_answers(python, &bundle, &cases);
    assert_eq!(opa.len(), cases.len());
    let mut differences = Vec::new();
    for ((endpoint, input), opa) in cases.iter().zip(&opa) {
        let (status, body) = post(http, endpoint, input);
        let charter = match status {
            200 => json!({"result": body["result"]}),
            500 => json!({"error": true}),
            other => panic!("{endpoint} {input}: HTTP {other} {body}"),
        };
        let opa = if opa.get("error").is_some() {
            json!({"error": true})
        } else {
            opa.clone()
        };
        if charter != opa {
            differences.push(format!(
                "{endpoint} {input}\n  charter: {charter}\n  opa:     {opa}"
            ));
        }
    }
    eprintln!(
        "{} Trino cases over {} exported tables: OPA and charter serve differ on {}",
        cases.len(),
        tables.len(),
        differences.len()
    );
    assert!(
        differences.is_empty(),
        "{} of {} cases differ; the first:\n{}",
        differences.len(),
        cases.len(),
        differences
            .iter()
            .take(5)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    drop(server);
    let asked = cases.into_iter().map(|(_, input)| input);
    (export, asked.zip(opa).collect())
}

#[test]
fn opa_answers_every_trino_case_as_charter_serve_does() {
    let Some(python) = opa_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mesh = mesh(dir.path());
    let (export, opa) = differential(&python, dir.path(), &mesh, None);
    let stderr = String::from_utf8_lossy(&export.stderr);
    // The claimed table is refused (exit 1), naming both products; nothing else is.
    assert_eq!(export.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("lake.orders.order_lines")
            && stderr.contains("orders.order_lines_copy")
            && stderr
                .lines()
                .all(|l| l.contains("lake.orders.order_lines")),
        "{stderr}"
    );
    let tables = exported_tables(&dir.path().join("out/trino-rego"));
    assert!(
        tables
            .iter()
            .any(|t| t.name == "lake.Orders.Hostile'Returns"),
        "the hostile table is exported"
    );
    // The cases cover allows, denials, masks, filters and failures on every endpoint.
    let answers: Vec<String> = opa.iter().map(|(_, a)| a.to_string()).collect();
    for needle in [
        r#"{"result":true}"#,
        r#"{"result":false}"#,
        r#""viewExpression""#,
        r#""expression":"\"region\" = 'eu'' OR ''1''=''1'""#,
        r#"{"result":null}"#,
        r#""error""#,
    ] {
        assert!(
            answers.iter().any(|a| a.contains(needle)),
            "no answer has {needle}"
        );
    }
}

/// With `trino.ungoverned_tables: allow` and every contract readable, a table no contract
/// governs is open on both sides (and a governed one is not).
#[test]
fn with_ungoverned_tables_allowed_opa_still_answers_as_charter_serve_does() {
    let Some(python) = opa_python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let mesh = mesh(dir.path());
    for unreadable in [
        "domains/orders/broken.yaml",
        "domains/billing/unknown_kind.yaml",
        "domains/inventory/wrong_types.yaml",
        "domains/orders/order_lines_copy.yaml",
    ] {
        let _ = std::fs::remove_file(mesh.join(unreadable));
    }
    let pack = dir.path().join("policies");
    crate::common::copy_dir(&repo().join("policies"), &pack);
    std::fs::write(
        pack.join("data/trino.yaml"),
        "trino:\n  ungoverned_tables: allow\n",
    )
    .unwrap();
    let (export, opa) = differential(&python, dir.path(), &mesh, Some(&pack));
    assert_eq!(
        export.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let root =
        std::fs::read_to_string(dir.path().join("out/trino-rego/charter/trino/data.json")).unwrap();
    assert!(
        root.contains("\"ungoverned_tables\": \"allow\"")
            && root.contains("\"unreadable_contracts\": 0"),
        "{root}"
    );
    let scratch_select = |(input, answer): &&(Value, Value)| {
        input["action"]["operation"] == "SelectFromColumns"
            && input["action"]["resource"]["table"]["schemaName"] == "scratch"
            && *answer == json!({"result": true})
    };
    assert!(
        opa.iter().filter(scratch_select).count() >= CALLERS.len(),
        "an ungoverned table is selectable for every caller"
    );
}
