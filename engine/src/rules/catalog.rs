//! The rule catalogue, from `# METADATA` annotations above each rule (OPA's format).

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::pack::PolicyPack;
use crate::report::{RuleInfo, Severity};

#[derive(Deserialize, Default)]
#[serde(default)]
struct Annotation {
    title: Option<String>,
    description: Option<String>,
    custom: Custom,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Custom {
    remediation: Option<String>,
    severity: Option<String>,
}

/// Every `deny_*`/`warn_*` rule of `charter.rules.*` and `charter.mesh.*` packages, with its
/// title, description and remediation where a `# METADATA` block gives them.
#[must_use]
pub fn catalog(pack: &PolicyPack) -> BTreeMap<String, RuleInfo> {
    let mut rules = catalog_of(pack, "charter.rules.");
    rules.extend(catalog_of(pack, "charter.mesh."));
    rules
}

/// The rules of the packages under `prefix` (`charter.rules.` or `charter.mesh.`).
#[must_use]
pub fn catalog_of(pack: &PolicyPack, prefix: &str) -> BTreeMap<String, RuleInfo> {
    let mut rules = BTreeMap::new();
    for file in pack.rego() {
        if file.path.ends_with("_test.rego") {
            continue;
        }
        scan(&file.text, prefix, &mut rules);
    }
    rules
}

/// Every `deny_*`/`warn_*` rule head of the pack's packages under `prefix`, as
/// (package below the prefix, rule name): the rules to evaluate one by one.
pub(crate) fn rule_heads(pack: &PolicyPack, prefix: &str) -> BTreeSet<(String, String)> {
    let mut heads = BTreeSet::new();
    for file in pack.rego() {
        if file.path.ends_with("_test.rego") {
            continue;
        }
        let mut area: Option<String> = None;
        for line in file.text.lines() {
            if let Some(pkg) = line.trim_start().strip_prefix("package ") {
                area = pkg.trim().strip_prefix(prefix).map(str::to_owned);
                continue;
            }
            let Some(area) = area.as_deref() else {
                continue;
            };
            let head: String = line
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if head.len() > 5 && (head.starts_with("deny_") || head.starts_with("warn_")) {
                heads.insert((area.to_owned(), head));
            }
        }
    }
    heads
}

fn scan(text: &str, prefix: &str, rules: &mut BTreeMap<String, RuleInfo>) {
    let mut area: Option<String> = None;
    let mut pending: Option<Annotation> = None;
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let trimmed = line.trim_start();
        if let Some(pkg) = trimmed.strip_prefix("package ") {
            let pkg = pkg.trim();
            area = pkg.strip_prefix(prefix).map(str::to_owned);
            continue;
        }
        if trimmed == "# METADATA" {
            let mut yaml = String::new();
            while let Some(next) = lines.peek() {
                let Some(body) = next.trim_start().strip_prefix('#') else {
                    break;
                };
                yaml.push_str(body.strip_prefix(' ').unwrap_or(body));
                yaml.push('\n');
                lines.next();
            }
            pending = yaml_serde::from_str(&yaml).ok();
            continue;
        }
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let Some(area) = area.as_deref() else {
            pending = None;
            continue;
        };
        let head: String = line
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        let severity = if head.starts_with("deny_") {
            Severity::Error
        } else if head.starts_with("warn_") {
            Severity::Warning
        } else {
            pending = None;
            continue;
        };
        let name = &head[5..];
        let id = format!("{area}/{name}");
        let annotation = pending.take();
        let entry = rules.entry(id.clone()).or_insert_with(|| RuleInfo {
            id,
            severity: Some(severity),
            ..RuleInfo::default()
        });
        if let Some(a) = annotation {
            entry.title = entry.title.take().or(a.title);
            entry.description = entry.description.take().or(a.description);
            entry.remediation = entry.remediation.take().or(a.custom.remediation);
            if let Some(s) = a.custom.severity.as_deref() {
                entry.severity = match s {
                    "warning" => Some(Severity::Warning),
                    "error" => Some(Severity::Error),
                    _ => entry.severity,
                };
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_metadata_above_rules() {
        let text = "package charter.rules.pii\n\n# METADATA\n# title: Masking required\n# description: Mask it.\n# custom:\n#   remediation: Add masking.\ndeny_masking_required contains msg if {\n  false\n}\n\nwarn_other contains \"x\" if { false }\nhelper := 1\n";
        let mut rules = BTreeMap::new();
        scan(text, "charter.rules.", &mut rules);
        let r = &rules["pii/masking_required"];
        assert_eq!(r.title.as_deref(), Some("Masking required"));
        assert_eq!(r.remediation.as_deref(), Some("Add masking."));
        assert_eq!(r.severity, Some(Severity::Error));
        assert_eq!(rules["pii/other"].severity, Some(Severity::Warning));
        assert_eq!(rules.len(), 2);
    }
}
