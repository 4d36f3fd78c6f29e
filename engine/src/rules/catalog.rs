//! The rule catalogue: every `deny_*`/`warn_*` rule of the pack, found on regorus' syntax
//! tree, with the `# METADATA` block above it (OPA's format).
//!
//! A rule's severity is its prefix, everywhere (Conftest's convention): `deny_` is an error,
//! `warn_` a warning. A `custom.severity` that says otherwise is ignored here and flagged by
//! `charter validate`.

use std::collections::{BTreeMap, BTreeSet};

use serde::Deserialize;

use crate::authoring::ast::{self, HeadKind, ParsedModule};
use crate::pack::PolicyPack;
use crate::report::{RuleInfo, Severity};

/// A `# METADATA` block as Charter reads it.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct Annotation {
    pub title: Option<String>,
    pub description: Option<String>,
    pub custom: Custom,
}

/// The `custom:` part of a `# METADATA` block.
#[derive(Debug, Deserialize, Default)]
#[serde(default)]
pub(crate) struct Custom {
    pub remediation: Option<String>,
    pub severity: Option<String>,
}

/// The severity a rule's name gives it (`deny_` an error, `warn_` a warning), and the name
/// after the prefix; `None` for any other name.
pub(crate) fn severity_of(name: &str) -> Option<(Severity, &str)> {
    if let Some(rest) = name.strip_prefix("deny_") {
        Some((Severity::Error, rest))
    } else {
        name.strip_prefix("warn_")
            .map(|rest| (Severity::Warning, rest))
    }
}

/// The `# METADATA` block directly above line `line` (1-based) of `text`: the comment lines
/// that end just before it, from their last `# METADATA` line on. `None` when there is none
/// or its YAML does not parse.
pub(crate) fn annotation_above(text: &str, line: u32) -> Option<Annotation> {
    let lines: Vec<&str> = text.lines().collect();
    let end = usize::try_from(line).ok()?.checked_sub(1)?.min(lines.len());
    let start = lines[..end]
        .iter()
        .rposition(|l| !l.trim_start().starts_with('#'))
        .map_or(0, |i| i + 1);
    let block = &lines[start..end];
    let header = block.iter().rposition(|l| l.trim() == "# METADATA")?;
    let yaml: String = block[header + 1..]
        .iter()
        .map(|l| {
            let body = l.trim_start().trim_start_matches('#');
            let body = body.strip_prefix(' ').unwrap_or(body);
            format!("{body}\n")
        })
        .collect();
    yaml_serde::from_str(&yaml).ok()
}

/// Every `deny_*`/`warn_*` rule of `charter.rules.*` and `charter.mesh.*` packages, with its
/// title, description and remediation where a `# METADATA` block gives them.
#[must_use]
pub fn catalog(pack: &PolicyPack) -> BTreeMap<String, RuleInfo> {
    let mut rules = catalog_of(pack, "charter.rules.");
    rules.extend(catalog_of(pack, "charter.mesh."));
    rules
}

/// The rules of the packages under `prefix` (`charter.rules.` or `charter.mesh.`). A file
/// that does not parse adds nothing (the pack does not compile, and says so elsewhere).
#[must_use]
pub fn catalog_of(pack: &PolicyPack, prefix: &str) -> BTreeMap<String, RuleInfo> {
    let mut rules = BTreeMap::new();
    for module in rule_modules(pack) {
        add_rules(&module, prefix, &mut rules);
    }
    rules
}

/// Every `deny_*`/`warn_*` rule head of the pack's packages under `prefix`, as
/// (package below the prefix, rule name): the rules to evaluate one by one. They come in
/// the order the interpreter's object of the whole tree lists them, by key at each level
/// (`a.deny_x` < `a.b.deny_y` < `a.warn_z`), so findings keep one order however they are
/// evaluated.
pub(crate) fn rule_heads(pack: &PolicyPack, prefix: &str) -> Vec<(String, String)> {
    let mut heads = BTreeSet::new();
    for module in rule_modules(pack) {
        let package = module.package();
        let Some(area) = package.strip_prefix(prefix) else {
            continue;
        };
        for rule in &module.module.policy {
            if let Some((name, kind, _)) = ast::rule_head(rule)
                && kind != HeadKind::Function
                && severity_of(&name).is_some_and(|(_, rest)| !rest.is_empty())
            {
                heads.insert((area.to_owned(), name));
            }
        }
    }
    let mut heads: Vec<(String, String)> = heads.into_iter().collect();
    heads.sort_by_cached_key(|(area, rule)| {
        area.split('.')
            .chain([rule.as_str()])
            .map(str::to_owned)
            .collect::<Vec<_>>()
    });
    heads
}

/// The pack's Rego modules that may hold rules (not `*_test.rego`), parsed; a file that does
/// not parse is left out.
fn rule_modules(pack: &PolicyPack) -> impl Iterator<Item = ParsedModule> + '_ {
    pack.rego()
        .filter(|file| !file.path.ends_with("_test.rego"))
        .filter_map(|file| ParsedModule::parse(&file.path, &file.text).ok())
}

/// Adds the `deny_`/`warn_` rules of one parsed module, if its package is under `prefix`.
fn add_rules(module: &ParsedModule, prefix: &str, rules: &mut BTreeMap<String, RuleInfo>) {
    let package = module.package();
    let Some(area) = package.strip_prefix(prefix) else {
        return;
    };
    for rule in &module.module.policy {
        let Some((name, kind, span)) = ast::rule_head(rule) else {
            continue;
        };
        let Some((severity, rest)) = severity_of(&name) else {
            continue;
        };
        if rest.is_empty() || kind == HeadKind::Function {
            continue;
        }
        let id = format!("{area}/{rest}");
        let entry = rules.entry(id.clone()).or_insert_with(|| RuleInfo {
            id,
            severity: Some(severity),
            ..RuleInfo::default()
        });
        // A rule defined in several parts is documented once, usually above the first.
        if let Some(a) = annotation_above(&module.text, span.line) {
            entry.title = entry.title.take().or(a.title);
            entry.description = entry.description.take().or(a.description);
            entry.remediation = entry.remediation.take().or(a.custom.remediation);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(text: &str) -> BTreeMap<String, RuleInfo> {
        let module = ParsedModule::parse("rego/rules/x.rego", text).unwrap();
        let mut rules = BTreeMap::new();
        add_rules(&module, "charter.rules.", &mut rules);
        rules
    }

    #[test]
    fn reads_metadata_above_rules() {
        let text = "package charter.rules.pii\n\n# METADATA\n# title: Masking required\n# description: Mask it.\n# custom:\n#   remediation: Add masking.\ndeny_masking_required contains msg if {\n  msg := \"x\"\n  false\n}\n\nwarn_other contains \"x\" if { false }\nhelper := 1\n";
        let rules = scan(text);
        let r = &rules["pii/masking_required"];
        assert_eq!(r.title.as_deref(), Some("Masking required"));
        assert_eq!(r.remediation.as_deref(), Some("Add masking."));
        assert_eq!(r.severity, Some(Severity::Error));
        assert_eq!(rules["pii/other"].severity, Some(Severity::Warning));
        assert_eq!(rules["pii/other"].title, None, "no block right above it");
        assert_eq!(rules.len(), 2);
    }

    #[test]
    fn the_prefix_decides_the_severity() {
        let text = "package charter.rules.a\n\n# METADATA\n# title: T\n# custom:\n#   severity: error\nwarn_x contains \"x\" if { false }\n";
        assert_eq!(scan(text)["a/x"].severity, Some(Severity::Warning));
    }

    #[test]
    fn finds_rules_the_line_scanner_missed() {
        // A head indented, split over lines, or in v0 syntax is still a rule.
        let text = "package charter.rules.b\nimport rego.v1\n\n# METADATA\n# title: Indented\n  deny_indented contains msg if {\n  msg := \"x\"\n  false\n}\n";
        let rules = scan(text);
        assert_eq!(rules["b/indented"].title.as_deref(), Some("Indented"));
    }

    #[test]
    fn metadata_is_the_comment_block_right_above() {
        let text = "a\n# unrelated\n\n# METADATA\n# title: T\n# more: [\nrule\n";
        assert!(annotation_above(text, 7).is_none(), "bad YAML is no block");
        let text = "# METADATA\n# title: T\n\nrule\n";
        assert!(annotation_above(text, 4).is_none(), "a blank line ends it");
        let text = "# note\n# METADATA\n# title: T\nrule\n";
        assert_eq!(
            annotation_above(text, 4).unwrap().title.as_deref(),
            Some("T")
        );
    }
}
