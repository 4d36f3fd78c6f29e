//! The report renderers, on a report built by hand: a snapshot per format, SARIF checked
//! against the 2.1.0 schema, JUnit read back, GitHub escaping, colour on and off.
// Crate-wide `cfg(test)`: clippy's allow-*-in-tests then covers the helpers too.
// The renderers are behind the engine's default feature `render`.
#![cfg(test)]
#![cfg(feature = "render")]

use std::collections::BTreeMap;
use std::io;

use charter_engine::render::{Format, Options, RenderError, render};
use charter_engine::report::{Finding, ProductSummary, Report, RuleInfo, Severity};
use serde_json::Value;

const SARIF_SCHEMA: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../testdata/schemas/sarif-schema-2.1.0.json"
);

fn product(id: &str, domain: &str, file: &str, format: &str) -> ProductSummary {
    ProductSummary {
        id: id.to_owned(),
        domain: domain.to_owned(),
        file: file.to_owned(),
        format: format.to_owned(),
        compliant: true,
    }
}

fn finding(
    rule: &str,
    severity: Severity,
    product: Option<&str>,
    file: &str,
    line: u32,
    message: &str,
) -> Finding {
    Finding {
        rule: rule.to_owned(),
        severity,
        message: message.to_owned(),
        product: product.map(str::to_owned),
        domain: product
            .and_then(|p| p.split_once('.'))
            .map(|(d, _)| d.to_owned()),
        file: file.to_owned(),
        line,
        waiver: None,
    }
}

fn rule(
    id: &str,
    severity: Option<Severity>,
    title: Option<&str>,
    description: Option<&str>,
    remediation: Option<&str>,
) -> (String, RuleInfo) {
    (
        id.to_owned(),
        RuleInfo {
            id: id.to_owned(),
            severity,
            title: title.map(str::to_owned),
            description: description.map(str::to_owned),
            remediation: remediation.map(str::to_owned),
        },
    )
}

/// Five products over two domains (three with findings), an unreadable file, rule metadata
/// for some rules only (and for one rule without findings).
fn sample() -> Report {
    use Severity::{Error, Warning};
    let products = vec![
        product(
            "orders.checkout",
            "orders",
            "orders/checkout.yaml",
            "datamesh/v1",
        ),
        product("orders.returns", "orders", "orders/returns.yaml", "odcs"),
        product(
            "orders.shipments",
            "orders",
            "orders/shipments.yaml",
            "odcs",
        ),
        product(
            "billing.invoices",
            "billing",
            "billing/invoices.yaml",
            "datamesh/v1",
        ),
        product(
            "billing.payments",
            "billing",
            "billing/payments.yaml",
            "odcs",
        ),
    ];
    let findings = vec![
        finding(
            "pii/masking_required",
            Error,
            Some("orders.checkout"),
            "orders/checkout.yaml",
            12,
            "field `email` is PII and has no masking method",
        ),
        finding(
            "ownership/owner_missing",
            Error,
            Some("orders.checkout"),
            "orders/checkout.yaml",
            3,
            "no owner declared",
        ),
        finding(
            "sla/freshness_missing",
            Warning,
            Some("orders.checkout"),
            "orders/checkout.yaml",
            20,
            "no freshness declared",
        ),
        finding(
            "pii/looks_like_pii",
            Warning,
            Some("orders.shipments"),
            "orders/shipments.yaml",
            8,
            "field `phone_number` looks like PII but is not marked PII",
        ),
        finding(
            "quality/threshold_range",
            Error,
            Some("billing.invoices"),
            "billing/invoices.yaml",
            30,
            "threshold 1.5 of check `amount|positive` is not in [0, 1] (<must be a ratio>)",
        ),
        finding(
            "contract/parse",
            Error,
            None,
            "orders/broken.yaml",
            4,
            "expected a mapping at `spec`, found a sequence",
        ),
    ];
    let rules = BTreeMap::from([
        rule(
            "pii/masking_required",
            Some(Error),
            Some("PII fields are masked"),
            Some("Every field marked PII declares a masking method from the allowed list."),
            Some("Set `masking` on the field to one of the methods in the central settings."),
        ),
        rule(
            "ownership/owner_missing",
            Some(Error),
            Some("Products have an owner"),
            None,
            None,
        ),
        rule(
            "naming/product_id",
            Some(Error),
            Some("Product ids read `<domain>.<snake_case>`"),
            None,
            None,
        ),
    ]);
    Report::new("rev-0123456789abcdef", products, findings, 1, rules)
}

fn clean_sample() -> Report {
    let products = vec![
        product("orders.returns", "orders", "orders/returns.yaml", "odcs"),
        product(
            "billing.payments",
            "billing",
            "billing/payments.yaml",
            "odcs",
        ),
    ];
    Report::new("rev-clean", products, Vec::new(), 0, BTreeMap::new())
}

fn options() -> Options {
    Options {
        color: false,
        tool_version: "0.0.0-test".to_owned(),
        generated_at: None,
        explain: false,
        ..Options::default()
    }
}

fn rendered(report: &Report, format: Format, options: &Options) -> String {
    let mut out = Vec::new();
    render(report, format, options, &mut out).unwrap();
    String::from_utf8(out).unwrap()
}

fn is_clean_of_escapes(s: &str) -> bool {
    !s.contains('\u{1b}')
}

// --- snapshots -----------------------------------------------------------------------------

#[test]
fn snapshot_text() {
    insta::assert_snapshot!("text", rendered(&sample(), Format::Text, &options()));
}

#[test]
fn snapshot_text_clean() {
    let out = rendered(&clean_sample(), Format::Text, &options());
    assert!(out.contains("no findings"), "{out}");
    insta::assert_snapshot!("text_clean", out);
}

#[test]
fn snapshot_json() {
    insta::assert_snapshot!("json", rendered(&sample(), Format::Json, &options()));
}

#[test]
fn snapshot_sarif() {
    insta::assert_snapshot!("sarif", rendered(&sample(), Format::Sarif, &options()));
}

#[test]
fn snapshot_junit() {
    insta::assert_snapshot!("junit", rendered(&sample(), Format::Junit, &options()));
}

#[test]
fn snapshot_github() {
    insta::assert_snapshot!("github", rendered(&sample(), Format::Github, &options()));
}

#[test]
fn snapshot_markdown() {
    insta::assert_snapshot!(
        "markdown",
        rendered(&sample(), Format::Markdown, &options())
    );
}

#[test]
fn snapshot_markdown_clean() {
    insta::assert_snapshot!(
        "markdown_clean",
        rendered(&clean_sample(), Format::Markdown, &options())
    );
}

// --- json ----------------------------------------------------------------------------------

#[test]
fn json_is_the_versioned_document() {
    let doc: Value = serde_json::from_str(&rendered(&sample(), Format::Json, &options())).unwrap();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["revision"], "rev-0123456789abcdef");
    let summary = &doc["summary"];
    assert_eq!(
        (
            &summary["products"],
            &summary["compliant"],
            &summary["unreadable"],
            &summary["errors"],
            &summary["warnings"]
        ),
        (
            &Value::from(5),
            &Value::from(3),
            &Value::from(1),
            &Value::from(4),
            &Value::from(2)
        )
    );
    assert_eq!(summary["score"], 60.0);
    assert_eq!(doc["domains"].as_array().unwrap().len(), 2);
    assert_eq!(doc["products"].as_array().unwrap().len(), 5);
    assert_eq!(doc["findings"].as_array().unwrap().len(), 6);
    assert!(doc.get("rules").is_none());
    for key in [
        "rule", "severity", "message", "product", "domain", "file", "line",
    ] {
        assert!(
            doc["findings"][0].get(key).is_some(),
            "finding lacks `{key}`"
        );
    }
}

// --- sarif ---------------------------------------------------------------------------------

fn sarif_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(SARIF_SCHEMA)
        .unwrap_or_else(|e| panic!("cannot read the SARIF schema at {SARIF_SCHEMA}: {e}"));
    let schema: Value = serde_json::from_str(&text).unwrap();
    jsonschema::options()
        .with_draft(jsonschema::Draft::Draft7)
        .should_validate_formats(true)
        .build(&schema)
        .unwrap()
}

fn assert_valid_sarif(report: &Report) -> Value {
    let log: Value = serde_json::from_str(&rendered(report, Format::Sarif, &options())).unwrap();
    let validator = sarif_validator();
    let errors: Vec<String> = validator
        .iter_errors(&log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "SARIF does not validate:\n{}",
        errors.join("\n")
    );
    log
}

#[test]
fn sarif_validates_against_the_schema() {
    assert_valid_sarif(&sample());
    assert_valid_sarif(&clean_sample());
    assert_valid_sarif(&many_findings(60));
}

#[test]
fn sarif_describes_rules_and_points_results_at_them() {
    let log = assert_valid_sarif(&sample());
    assert_eq!(log["version"], "2.1.0");
    let run = &log["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "charter");
    assert_eq!(driver["version"], "0.0.0-test");
    assert_eq!(driver["semanticVersion"], "0.0.0-test");

    let rules = driver["rules"].as_array().unwrap();
    let ids: Vec<&str> = rules.iter().map(|r| r["id"].as_str().unwrap()).collect();
    // Rules with findings or metadata, sorted; `naming/product_id` has metadata and no finding.
    assert_eq!(
        ids,
        [
            "contract/parse",
            "naming/product_id",
            "ownership/owner_missing",
            "pii/looks_like_pii",
            "pii/masking_required",
            "quality/threshold_range",
            "sla/freshness_missing"
        ]
    );
    let masking = &rules[4];
    assert_eq!(masking["shortDescription"]["text"], "PII fields are masked");
    assert_eq!(
        masking["fullDescription"]["text"],
        "Every field marked PII declares a masking method from the allowed list."
    );
    assert_eq!(
        masking["help"]["text"],
        "Set `masking` on the field to one of the methods in the central settings."
    );
    assert_eq!(masking["defaultConfiguration"]["level"], "error");
    // No metadata: the id stands in for the title, the first finding's severity for the level.
    let freshness = &rules[6];
    assert_eq!(
        freshness["shortDescription"]["text"],
        "sla/freshness_missing"
    );
    assert_eq!(freshness["defaultConfiguration"]["level"], "warning");
    assert!(freshness.get("help").is_none());

    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 6);
    for result in results {
        let index = usize::try_from(result["ruleIndex"].as_u64().unwrap()).unwrap();
        assert_eq!(rules[index]["id"], result["ruleId"]);
        let location = &result["locations"][0]["physicalLocation"];
        let uri = location["artifactLocation"]["uri"].as_str().unwrap();
        assert!(!uri.starts_with('/') && uri.ends_with(".yaml"), "{uri}");
        assert_eq!(location["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        assert!(location["region"]["startLine"].as_u64().unwrap() >= 1);
        assert!(
            result["partialFingerprints"]
                .as_object()
                .is_some_and(|f| !f.is_empty())
        );
    }
    let parse = results
        .iter()
        .find(|r| r["ruleId"] == "contract/parse")
        .unwrap();
    assert_eq!(parse["level"], "error");
    assert_eq!(
        parse["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "orders/broken.yaml"
    );
    assert_eq!(
        parse["locations"][0]["physicalLocation"]["region"]["startLine"],
        4
    );
}

#[test]
fn sarif_fingerprints_ignore_the_line() {
    let at = |line| {
        let mut f = finding(
            "sla/freshness_missing",
            Severity::Warning,
            Some("a.b"),
            "a/b.yaml",
            line,
            "m",
        );
        f.domain = Some("a".to_owned());
        let report = Report::new(
            "r",
            vec![product("a.b", "a", "a/b.yaml", "odcs")],
            vec![f],
            0,
            BTreeMap::new(),
        );
        let log: Value =
            serde_json::from_str(&rendered(&report, Format::Sarif, &options())).unwrap();
        log["runs"][0]["results"][0]["partialFingerprints"].clone()
    };
    assert_eq!(at(3), at(40));
}

#[test]
fn sarif_encodes_file_uris() {
    let f = finding(
        "contract/parse",
        Severity::Error,
        None,
        "odd dir/50%#1.yaml",
        1,
        "m",
    );
    let report = Report::new("r", Vec::new(), vec![f], 1, BTreeMap::new());
    let log = assert_valid_sarif(&report);
    assert_eq!(
        log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
        "odd%20dir/50%25%231.yaml"
    );
}

// --- junit ---------------------------------------------------------------------------------

#[test]
fn junit_has_a_suite_per_domain_and_a_case_per_product() {
    let xml = rendered(&sample(), Format::Junit, &options());
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"));
    assert_eq!(xml.matches("<testsuite ").count(), 3);
    assert_eq!(xml.matches("<testcase ").count(), 6);
    assert_eq!(xml.matches("<failure ").count(), 3);

    let junit = quick_junit::Report::deserialize_from_str(&xml).unwrap();
    assert_eq!((junit.tests, junit.failures, junit.errors), (6, 3, 0));
    let suites: Vec<(&str, usize, usize)> = junit
        .test_suites
        .iter()
        .map(|s| (s.name.as_str(), s.tests, s.failures))
        .collect();
    assert_eq!(
        suites,
        [
            ("billing", 2, 1),
            ("orders", 3, 1),
            ("unreadable files", 1, 1)
        ]
    );

    let orders = &junit.test_suites[1];
    let checkout = &orders.test_cases[0];
    assert_eq!(checkout.name.as_str(), "orders.checkout");
    assert_eq!(
        checkout.classname.as_ref().map(|c| c.as_str()),
        Some("orders")
    );
    assert_eq!(
        checkout.extra.get("file").map(|f| f.as_str()),
        Some("orders/checkout.yaml")
    );
    match &checkout.status {
        quick_junit::TestCaseStatus::NonSuccess {
            message,
            description,
            ..
        } => {
            assert_eq!(
                message.as_ref().map(|m| m.as_str()),
                Some("ownership/owner_missing: no owner declared (+1 more)")
            );
            let text = description.as_ref().unwrap().as_str();
            assert!(
                text.contains("orders/checkout.yaml:3: ownership/owner_missing: no owner declared"),
                "{text}"
            );
            assert!(
                text.contains("orders/checkout.yaml:12: pii/masking_required:"),
                "{text}"
            );
        }
        other => panic!("orders.checkout should fail: {other:?}"),
    }
    assert!(
        checkout
            .system_out
            .as_ref()
            .unwrap()
            .contains("sla/freshness_missing")
    );
    let shipments = &orders.test_cases[2];
    assert!(matches!(
        shipments.status,
        quick_junit::TestCaseStatus::Success { .. }
    ));
    assert!(
        shipments
            .system_out
            .as_ref()
            .unwrap()
            .contains("pii/looks_like_pii")
    );
}

// --- github --------------------------------------------------------------------------------

#[test]
fn github_escapes_data_and_properties() {
    let f = finding(
        "odd/rule:x,y",
        Severity::Warning,
        None,
        "dir,a/b:c%.yaml",
        7,
        "100% bad\r\nsecond: line, end",
    );
    let report = Report::new("r", Vec::new(), vec![f], 1, BTreeMap::new());
    let out = rendered(&report, Format::Github, &options());
    let mut lines = out.lines();
    assert_eq!(
        lines.next(),
        Some(
            "::warning file=dir%2Ca/b%3Ac%25.yaml,line=7,title=odd/rule%3Ax%2Cy::100%25 bad%0D%0Asecond: line, end"
        )
    );
    assert_eq!(
        lines.next(),
        Some("::notice::0 products, 0 compliant (100.0%25), 1 unreadable file: 1 warning")
    );
    assert_eq!(lines.next(), None);
}

#[test]
fn github_writes_a_command_per_finding() {
    let out = rendered(&sample(), Format::Github, &options());
    assert_eq!(out.lines().filter(|l| l.starts_with("::error ")).count(), 4);
    assert_eq!(
        out.lines().filter(|l| l.starts_with("::warning ")).count(),
        2
    );
    assert!(out.ends_with(
        "::notice::5 products, 3 compliant (60.0%25), 1 unreadable file: 4 errors, 2 warnings\n"
    ));
}

// --- text ----------------------------------------------------------------------------------

#[test]
fn text_is_coloured_only_on_request() {
    let plain = rendered(&sample(), Format::Text, &options());
    assert!(is_clean_of_escapes(&plain), "{plain}");
    let coloured = rendered(
        &sample(),
        Format::Text,
        &Options {
            color: true,
            ..options()
        },
    );
    assert!(coloured.contains("\u{1b}["), "{coloured}");
    assert!(
        coloured.contains("\u{1b}[31;1merror"),
        "errors in bold red: {coloured}"
    );
    let clean = rendered(
        &clean_sample(),
        Format::Text,
        &Options {
            color: true,
            ..options()
        },
    );
    assert!(clean.contains("\u{1b}["));
}

#[test]
fn text_escapes_control_characters_from_contracts() {
    let f = finding(
        "contract/parse",
        Severity::Error,
        None,
        "a\u{1b}[2J.yaml",
        1,
        "bad \u{1b}]0;title\u{7}",
    );
    let report = Report::new("r", Vec::new(), vec![f], 1, BTreeMap::new());
    let out = rendered(&report, Format::Text, &options());
    assert!(is_clean_of_escapes(&out), "{out}");
    assert!(out.contains("a\\u{1b}[2J.yaml:1"), "{out}");
}

#[test]
fn text_summary_is_the_last_line() {
    let out = rendered(&sample(), Format::Text, &options());
    assert_eq!(
        out.lines().last(),
        Some("5 products, 3 compliant (60.0%), 1 unreadable file: 4 errors, 2 warnings")
    );
}

// --- markdown ------------------------------------------------------------------------------

fn many_findings(n: u32) -> Report {
    let findings = (1..=n)
        .map(|line| {
            finding(
                "sla/freshness_missing",
                Severity::Warning,
                Some("orders.checkout"),
                "orders/checkout.yaml",
                line,
                "x",
            )
        })
        .collect();
    let products = vec![product(
        "orders.checkout",
        "orders",
        "orders/checkout.yaml",
        "odcs",
    )];
    Report::new("r", products, findings, 0, BTreeMap::new())
}

#[test]
fn markdown_folds_many_findings() {
    let few = rendered(&many_findings(50), Format::Markdown, &options());
    assert!(!few.contains("<details>"));
    let many = rendered(&many_findings(51), Format::Markdown, &options());
    assert!(
        many.contains("<details>\n<summary>51 findings</summary>\n\n"),
        "{many}"
    );
    assert!(many.contains("</details>"));
}

#[test]
fn markdown_lists_a_bounded_number_of_findings() {
    let out = rendered(&many_findings(300), Format::Markdown, &options());
    assert_eq!(
        out.lines()
            .filter(|l| l.starts_with("| ⚠️ warning"))
            .count(),
        250
    );
    assert!(out.contains("\n…and 50 more findings, not shown"));
    assert!(out.len() < 65_536);
}

#[test]
fn markdown_escapes_table_cells() {
    let out = rendered(&sample(), Format::Markdown, &options());
    let row = out
        .lines()
        .find(|l| l.contains("quality/threshold_range"))
        .unwrap();
    assert_eq!(
        row,
        "| ❌ error | `quality/threshold_range` | `billing/invoices.yaml:30` | threshold 1.5 of check `amount\\|positive` is not in \\[0, 1\\] (&lt;must be a ratio&gt;) |"
    );
    // Every table row has exactly the columns of its header.
    for line in out
        .lines()
        .filter(|l| l.starts_with("| ") && l.contains("`"))
    {
        let unescaped_pipes = line.replace("\\|", "").matches('|').count();
        assert_eq!(unescaped_pipes, 5, "{line}");
    }
}

// --- formats -------------------------------------------------------------------------------

#[test]
fn formats_parse_by_name() {
    for format in Format::ALL {
        assert_eq!(format.name().parse::<Format>(), Ok(*format));
        assert_eq!(format.to_string(), format.name());
    }
    assert_eq!("SARIF".parse::<Format>(), Ok(Format::Sarif));
    let err = "html5".parse::<Format>().unwrap_err().to_string();
    for format in Format::ALL {
        assert!(err.contains(format.name()), "{err}");
    }
    assert!(err.contains("`html5`"), "{err}");
}

#[test]
fn default_options_name_this_version() {
    let options = Options::default();
    assert!(!options.color);
    assert_eq!(options.tool_version, env!("CARGO_PKG_VERSION"));
}

struct Broken;

impl io::Write for Broken {
    fn write(&mut self, _: &[u8]) -> io::Result<usize> {
        Err(io::Error::new(io::ErrorKind::BrokenPipe, "closed"))
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[test]
fn write_errors_are_returned() {
    for format in Format::ALL {
        let err = render(&sample(), *format, &options(), &mut Broken).unwrap_err();
        let RenderError::Io(err) = err else {
            panic!("{format}: {err}")
        };
        assert_eq!(err.kind(), io::ErrorKind::BrokenPipe, "{format}");
    }
}
