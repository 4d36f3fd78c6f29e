//! `sarif`: SARIF 2.1.0, for code scanning (GitHub, GitLab, Azure DevOps).
//!
//! One run; `tool.driver.rules` describes every rule that has a finding or metadata in the
//! report, sorted by id; each result points at its rule by `ruleId` and `ruleIndex`, at its
//! file by a URI relative to `%SRCROOT%`, and carries a `partialFingerprints` entry (a hash of
//! rule, file and message, not line) so code scanning keeps an alert when lines move.

use std::collections::BTreeMap;
use std::io::{self, Write};

use serde_json::json;
use serde_sarif::sarif::{
    ArtifactLocation, Location, Message, MultiformatMessageString, PhysicalLocation, PropertyBag,
    Region, ReportingConfiguration, ReportingDescriptor, Result as SarifResult, ResultLevel, Run,
    Sarif, Suppression, Tool, ToolComponent,
};

use crate::render::Options;
use crate::report::{Finding, Severity};
use crate::report::{Report, RuleInfo};

/// The `$schema` written in the log.
const SCHEMA_URI: &str = "https://json.schemastore.org/sarif-2.1.0.json";
/// The base id relative file URIs are resolved against.
const SRCROOT: &str = "%SRCROOT%";
/// The key of Charter's entry in `partialFingerprints`.
const FINGERPRINT_KEY: &str = "charterFinding/v1";

pub(super) fn render(report: &Report, options: &Options, out: &mut dyn Write) -> io::Result<()> {
    let rules = rule_table(report);
    let index: BTreeMap<&str, usize> = rules
        .iter()
        .enumerate()
        .map(|(i, (id, _))| (*id, i))
        .collect();

    let descriptors: Vec<ReportingDescriptor> = rules
        .iter()
        .map(|(id, rule)| descriptor(id, rule))
        .collect();
    let mut driver = ToolComponent::builder()
        .name("charter")
        .version(options.tool_version.clone())
        .rules(descriptors)
        .build();
    if semver::Version::parse(&options.tool_version).is_ok() {
        driver.semantic_version = Some(options.tool_version.clone());
    }
    let repository = env!("CARGO_PKG_REPOSITORY");
    if !repository.is_empty() {
        driver.information_uri = Some(repository.to_owned());
    }

    let results: Vec<SarifResult> = report
        .findings
        .iter()
        .map(|f| result(f, index.get(f.rule.as_str()).copied()))
        .collect();

    let mut run_properties = BTreeMap::new();
    run_properties.insert("revision".to_owned(), json!(report.revision));
    run_properties.insert("summary".to_owned(), serde_json::to_value(&report.summary)?);
    let run = Run::builder()
        .tool(Tool::builder().driver(driver).build())
        .results(results)
        .properties(
            PropertyBag::builder()
                .additional_properties(run_properties)
                .build(),
        )
        .build();

    let log = Sarif::builder()
        .schema(SCHEMA_URI)
        .version(json!("2.1.0"))
        .runs(vec![run])
        .build();
    serde_json::to_writer_pretty(&mut *out, &log)?;
    writeln!(out)
}

/// What is known of a rule: its metadata, else the severity of its first finding.
#[derive(Debug, Default)]
struct RuleEntry<'a> {
    info: Option<&'a RuleInfo>,
    seen: Option<Severity>,
}

/// Every rule with metadata or a finding, by id.
fn rule_table(report: &Report) -> Vec<(&str, RuleEntry<'_>)> {
    let mut rules: BTreeMap<&str, RuleEntry<'_>> = BTreeMap::new();
    for (id, info) in &report.rules {
        rules.entry(id.as_str()).or_default().info = Some(info);
    }
    for f in &report.findings {
        let entry = rules.entry(f.rule.as_str()).or_default();
        entry.seen = entry.seen.or(Some(f.severity));
    }
    rules.into_iter().collect()
}

fn descriptor(id: &str, rule: &RuleEntry<'_>) -> ReportingDescriptor {
    let info = rule.info;
    let title = info.and_then(|i| i.title.as_deref()).unwrap_or(id);
    let full = info.and_then(|i| i.description.as_deref()).unwrap_or(title);
    let mut descriptor = ReportingDescriptor::builder()
        .id(id)
        .short_description(text(title))
        .full_description(text(full))
        .build();
    if let Some(remediation) = info.and_then(|i| i.remediation.as_deref()) {
        descriptor.help = Some(text(remediation));
    }
    if let Some(severity) = info.and_then(|i| i.severity).or(rule.seen) {
        descriptor.default_configuration = Some(
            ReportingConfiguration::builder()
                .level(json!(severity.as_str()))
                .build(),
        );
    }
    if let Some((area, _)) = id.split_once('/') {
        descriptor.properties = Some(PropertyBag::builder().tags(vec![area.to_owned()]).build());
    }
    descriptor
}

fn result(f: &Finding, rule_index: Option<usize>) -> SarifResult {
    let artifact = ArtifactLocation::builder()
        .uri(uri(&f.file))
        .uri_base_id(SRCROOT)
        .build();
    let mut physical = PhysicalLocation::builder()
        .artifact_location(artifact)
        .build();
    if f.line > 0 {
        physical.region = Some(Region::builder().start_line(i64::from(f.line)).build());
    }
    let location = Location::builder().physical_location(physical).build();

    let mut fingerprints = BTreeMap::new();
    fingerprints.insert(FINGERPRINT_KEY.to_owned(), fingerprint(f));

    let mut result = SarifResult::builder()
        .rule_id(f.rule.as_str())
        .level(level(f.severity))
        .message(Message::builder().text(f.message.as_str()).build())
        .locations(vec![location])
        .partial_fingerprints(fingerprints)
        .build();
    result.rule_index = rule_index.and_then(|i| i64::try_from(i).ok());
    if let Some(waiver) = &f.waiver {
        // A waived finding is a SARIF suppression: code scanning shows it as dismissed.
        result.suppressions = Some(vec![
            Suppression::builder()
                .kind(json!("external"))
                .status(json!("accepted"))
                .justification(format!(
                    "{} (approved by {}, expires {})",
                    waiver.reason, waiver.approved_by, waiver.expires
                ))
                .build(),
        ]);
    }

    let mut properties = BTreeMap::new();
    if let Some(product) = &f.product {
        properties.insert("product".to_owned(), json!(product));
    }
    if let Some(domain) = &f.domain {
        properties.insert("domain".to_owned(), json!(domain));
    }
    if !properties.is_empty() {
        result.properties = Some(
            PropertyBag::builder()
                .additional_properties(properties)
                .build(),
        );
    }
    result
}

fn level(severity: Severity) -> ResultLevel {
    match severity {
        Severity::Error => ResultLevel::Error,
        Severity::Warning => ResultLevel::Warning,
    }
}

fn text(s: &str) -> MultiformatMessageString {
    MultiformatMessageString::builder().text(s).build()
}

/// A stable hash of rule, file and message (not line: an alert survives lines moving).
fn fingerprint(f: &Finding) -> String {
    let mut hasher = blake3::Hasher::new();
    for part in [&f.rule, &f.file, &f.message] {
        hasher.update(&(part.len() as u64).to_le_bytes());
        hasher.update(part.as_bytes());
    }
    hasher.finalize().to_hex()[..32].to_owned()
}

/// A relative file path as a URI reference: every byte but unreserved characters and `/`
/// percent-encoded (so a space, `%`, `#` or a leading `c:` cannot change the URI's meaning).
fn uri(path: &str) -> String {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    let mut encoded = String::with_capacity(path.len());
    for byte in path.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~' | b'/') {
            encoded.push(char::from(byte));
        } else {
            encoded.push('%');
            encoded.push(char::from(HEX[usize::from(byte >> 4)]));
            encoded.push(char::from(HEX[usize::from(byte & 0x0F)]));
        }
    }
    encoded
}
