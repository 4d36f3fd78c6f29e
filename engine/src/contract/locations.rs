//! Source lines of the normalized model's values, resolved only when asked.
//!
//! Most contracts raise no finding, so their lines are never needed: a reader records
//! only how model paths map onto the document (a [`PathMap`]), and the line index of the
//! file is built on the first lookup.

use std::collections::{BTreeMap, HashSet};
use std::sync::{Arc, OnceLock};

use super::locate::LineIndex;
use super::model::Product;

/// Model path (`owner`, `fields[2].masking`, `sla.availability`) → 1-based line in the file.
///
/// A lookup falls back to the nearest ancestor the file has (`fields[2].masking` →
/// `fields[2]`; a missing `spec.owner` → `spec`), and finally to the product id's line,
/// so every finding has a line.
#[derive(Debug, Clone)]
pub struct Locations {
    source: Arc<str>,
    map: PathMap,
    index: OnceLock<LineIndex>,
}

impl PartialEq for Locations {
    fn eq(&self, other: &Self) -> bool {
        self.source == other.source && self.map == other.map
    }
}

/// How a format's document holds the model's values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PathMap {
    /// `datamesh.io/v1`: a fixed layout.
    Seed,
    /// ODCS: fields and checks live in schema objects; SLA and custom values in lists.
    Odcs(Box<OdcsMap>),
}

/// Where an ODCS contract keeps what the model flattened.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct OdcsMap {
    /// The key the id came from: `name`, `dataProduct` or `id`.
    pub name_key: &'static str,
    /// Per field: its property's YAML path (`schema[0].properties[2].items.properties[1]`),
    /// and the custom property holding its masking.
    pub fields: Vec<(String, Option<usize>)>,
    /// Per quality check: its YAML path.
    pub quality: Vec<String>,
    /// Per access role (a role that may read): its index in `roles`.
    pub roles: Vec<usize>,
    /// Per write-only role: its index in `roles`.
    pub write_roles: Vec<usize>,
    /// Per interface: the server it came from.
    pub interfaces: Vec<usize>,
    /// `slaProperties` indexes of latency, retention and availability.
    pub freshness: Option<usize>,
    /// See `freshness`.
    pub retention: Option<usize>,
    /// See `freshness`.
    pub availability: Option<usize>,
    /// `customProperties` indexes of classification, upstream, downstream, accessPolicies.
    pub classification: Option<usize>,
    /// See `classification`.
    pub upstream: Option<usize>,
    /// See `classification`.
    pub downstream: Option<usize>,
    /// See `classification`.
    pub policies: Option<usize>,
}

impl Locations {
    pub(crate) fn new(source: Arc<str>, map: PathMap) -> Self {
        Self {
            source,
            map,
            index: OnceLock::new(),
        }
    }

    /// No source: every line is 1 (a contract read for decisions, which need no lines).
    #[must_use]
    pub fn none() -> Self {
        Self::new(Arc::from(""), PathMap::Seed)
    }

    /// How the model's paths map onto the document (with [`Locations::new`] and the file's
    /// text read again, the same locations).
    pub(crate) fn path_map(&self) -> &PathMap {
        &self.map
    }

    /// Drops the line index the lookups built (tens of kilobytes for a large contract); a
    /// later lookup builds it again. For contracts kept after their findings were placed.
    pub(crate) fn forget_index(&mut self) {
        self.index = OnceLock::new();
    }

    /// The line of `path` or its nearest ancestor; the id's line when the file has neither.
    #[must_use]
    pub fn line(&self, path: &str) -> u32 {
        let index = self.index.get_or_init(|| LineIndex::build(&self.source));
        index
            .line(&self.yaml_path(path))
            .or_else(|| index.line(&self.yaml_path("id")))
            .unwrap_or(1)
    }

    /// The lines of `paths`, as [`Locations::line`] gives them one by one: for one
    /// contract's findings. Unless the whole index was built already, only these paths
    /// and their ancestors are looked for, and the file is parsed no further than the last
    /// of them (nothing is kept for later lookups).
    #[must_use]
    pub fn lines(&self, paths: &[&str]) -> Vec<u32> {
        let id = self.yaml_path("id");
        let yaml: Vec<String> = paths.iter().map(|path| self.yaml_path(path)).collect();
        let partial;
        let index = match self.index.get() {
            Some(index) => index,
            None if paths.is_empty() => return Vec::new(),
            None => {
                let mut wanted = HashSet::new();
                for path in yaml.iter().chain([&id]) {
                    // Each ancestor `LineIndex::line` may fall back to.
                    let mut current = path.as_str();
                    wanted.insert(current.to_owned());
                    while let Some(cut) = current.rfind(['.', '[']) {
                        current = &current[..cut];
                        wanted.insert(current.to_owned());
                    }
                }
                partial = LineIndex::build_for(&self.source, &wanted);
                &partial
            }
        };
        yaml.iter()
            .map(|path| index.line(path).or_else(|| index.line(&id)).unwrap_or(1))
            .collect()
    }

    /// The lines of every value of `product` (for `charter inspect --locations`).
    #[must_use]
    pub fn all(&self, product: &Product) -> BTreeMap<String, u32> {
        let mut paths: Vec<String> = [
            "id",
            "domain",
            "version",
            "status",
            "owner",
            "classification",
            "retention",
            "sla.freshness",
            "sla.availability",
            "lineage.upstream",
            "lineage.downstream",
            "access.roles",
            "access.policies",
            "tags",
        ]
        .iter()
        .map(|p| (*p).to_owned())
        .collect();
        for i in 0..product.tables.len() {
            paths.push(format!("tables[{i}].name"));
            paths.push(format!("tables[{i}].physical_name"));
        }
        for (i, _) in product.fields.iter().enumerate() {
            for key in [
                "name",
                "physical_name",
                "type",
                "nullable",
                "primary_key",
                "pii",
                "masking",
                "classification",
                "tags",
            ] {
                paths.push(format!("fields[{i}].{key}"));
            }
        }
        paths.extend((0..product.quality.len()).map(|i| format!("quality[{i}]")));
        paths.extend((0..product.access.roles.len()).map(|i| format!("access.roles[{i}]")));
        paths.extend((0..product.interfaces.len()).map(|i| format!("interfaces[{i}]")));
        paths
            .into_iter()
            .map(|p| {
                let line = self.line(&p);
                (p, line)
            })
            .collect()
    }

    /// The document path of a model path.
    fn yaml_path(&self, model: &str) -> String {
        let (head, index, rest) = split(model);
        match &self.map {
            PathMap::Seed => seed_path(head, index, rest, model),
            PathMap::Odcs(map) => odcs_path(map, head, index, rest, model),
        }
    }
}

/// `fields[2].masking` → (`fields`, Some(2), Some(`masking`)); `sla.availability` →
/// (`sla`, None, Some(`availability`)).
fn split(model: &str) -> (&str, Option<usize>, Option<&str>) {
    let (first, rest) = match model.split_once('.') {
        Some((first, rest)) => (first, Some(rest)),
        None => (model, None),
    };
    match first.split_once('[') {
        Some((head, index)) => (head, index.trim_end_matches(']').parse().ok(), rest),
        None => (first, None, rest),
    }
}

fn seed_path(head: &str, index: Option<usize>, rest: Option<&str>, model: &str) -> String {
    match (head, index) {
        ("id" | "name", _) => "metadata.name".into(),
        ("domain" | "version" | "tags", _) => format!("metadata.{head}"),
        ("retention", _) => "spec.retention.period".into(),
        ("tables", _) => "spec.schema".into(),
        ("fields", None) => "spec.schema.fields".into(),
        ("fields", Some(i)) => match rest {
            None => format!("spec.schema.fields[{i}]"),
            Some(key @ ("pii" | "masking" | "primary_key" | "unique")) => {
                format!("spec.schema.fields[{i}].constraints.{key}")
            }
            Some("nullable") => format!("spec.schema.fields[{i}].constraints.null"),
            Some("path" | "table") => format!("spec.schema.fields[{i}].name"),
            Some(key) => format!("spec.schema.fields[{i}].{key}"),
        },
        ("quality", None) => "spec.quality.checks".into(),
        ("quality", Some(i)) => match rest {
            None => format!("spec.quality.checks[{i}]"),
            Some("field") => format!("spec.quality.checks[{i}].column"),
            Some(key) => format!("spec.quality.checks[{i}].{key}"),
        },
        _ => format!("spec.{model}"),
    }
}

fn odcs_path(
    map: &OdcsMap,
    head: &str,
    index: Option<usize>,
    rest: Option<&str>,
    model: &str,
) -> String {
    let listed = |list: &str, at: Option<usize>| {
        at.map_or_else(|| list.to_owned(), |i| format!("{list}[{i}]"))
    };
    match (head, index) {
        ("id" | "name", _) => map.name_key.into(),
        ("owner", _) => "team".into(),
        ("fields" | "quality" | "tables", None) => "schema".into(),
        ("tables", Some(i)) => match rest {
            Some("physical_name") => format!("schema[{i}].physicalName"),
            _ => format!("schema[{i}]"),
        },
        ("fields", Some(i)) => {
            let Some((base, masking)) = map.fields.get(i) else {
                return "schema".into();
            };
            let base = base.clone();
            let masking = *masking;
            match rest {
                None => base,
                Some("pii" | "classification") => format!("{base}.classification"),
                Some("primary_key") => format!("{base}.primaryKey"),
                Some("nullable") => format!("{base}.required"),
                Some("type") => format!("{base}.logicalType"),
                Some("physical_name") => format!("{base}.physicalName"),
                Some("path" | "table") => base,
                Some("masking") => {
                    masking.map_or(base.clone(), |c| format!("{base}.customProperties[{c}]"))
                }
                Some("transform") => format!("{base}.customProperties"),
                Some(key) => format!("{base}.{key}"),
            }
        }
        ("quality", Some(i)) => map
            .quality
            .get(i)
            .cloned()
            .unwrap_or_else(|| "schema".into()),
        ("retention", _) => listed("slaProperties", map.retention),
        ("sla", _) => match rest {
            Some("freshness") => listed("slaProperties", map.freshness),
            Some("availability") => listed("slaProperties", map.availability),
            _ => "slaProperties".into(),
        },
        ("classification", _) => listed("customProperties", map.classification),
        ("lineage", _) => match rest {
            Some("upstream") => listed("customProperties", map.upstream),
            Some("downstream") => listed("customProperties", map.downstream),
            _ => "customProperties".into(),
        },
        ("access", _) => match split(rest.unwrap_or_default()) {
            ("roles", Some(i), _) => map
                .roles
                .get(i)
                .map_or_else(|| "roles".into(), |r| format!("roles[{r}].role")),
            ("write_roles", Some(i), _) => map
                .write_roles
                .get(i)
                .map_or_else(|| "roles".into(), |r| format!("roles[{r}].role")),
            ("policies", _, _) => listed("customProperties", map.policies),
            _ => "roles".into(),
        },
        ("interfaces", Some(i)) => map
            .interfaces
            .get(i)
            .map_or_else(|| "servers".into(), |s| format!("servers[{s}]")),
        ("interfaces", None) => "servers".into(),
        _ => model.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::contract::{ReaderSettings, read};

    /// The contracts of the sample mesh and the ODCS examples, as read, each with its line
    /// breaks as written, as CR LF, and as lone CRs.
    fn contracts() -> Vec<(String, crate::contract::Contract)> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../testdata");
        let mut files = Vec::new();
        let mut folders = vec![root.join("mesh"), root.join("schemas/odcs-examples")];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder).expect("a testdata folder") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.extension().is_some_and(|e| e == "yaml") {
                    files.push(path);
                }
            }
        }
        let settings = ReaderSettings::default();
        let mut contracts = Vec::new();
        for file in files {
            let text = std::fs::read_to_string(&file).expect("a text file");
            for (breaks, text) in [
                ("LF", text.clone()),
                ("CR LF", text.replace('\n', "\r\n")),
                ("CR", text.replace('\n', "\r")),
            ] {
                let name = format!("{} ({breaks})", file.display());
                if let Ok(contract) = read(&name, &text, &settings) {
                    contracts.push((name, contract));
                }
            }
        }
        assert!(contracts.len() > 40, "the sample contracts are read");
        contracts
    }

    #[test]
    fn lines_at_once_are_the_lines_one_by_one() {
        for (name, contract) in contracts() {
            let mut paths: Vec<String> = contract
                .locations
                .all(&contract.product)
                .into_keys()
                .collect();
            paths.extend(
                [
                    "id",
                    "fields[999].name",
                    "fields[0].transform",
                    "sla",
                    "lineage.upstream[0]",
                    "access.write_roles[0]",
                    "not.a.path",
                    "",
                ]
                .map(str::to_owned),
            );
            let one_by_one: Vec<u32> = paths.iter().map(|p| contract.locations.line(p)).collect();
            // Fresh locations: no index built by the lookups above.
            let fresh = || {
                Locations::new(
                    contract.locations.source.clone(),
                    contract.locations.map.clone(),
                )
            };
            let all: Vec<&str> = paths.iter().map(String::as_str).collect();
            assert_eq!(fresh().lines(&all), one_by_one, "{name}: all paths at once");
            // Alone: a sample of the paths (each alone parses the file), and the odd ones.
            let alone =
                paths.iter().zip(&one_by_one).enumerate().filter(|(i, _)| {
                    (i % 29 == 0 && name.ends_with("(LF)")) || *i + 8 >= paths.len()
                });
            for (_, (path, line)) in alone {
                assert_eq!(
                    fresh().lines(&[path.as_str()]),
                    [*line],
                    "{name}: `{path}` alone"
                );
            }
            assert_eq!(
                contract.locations.lines(&all),
                one_by_one,
                "{name}: with the index built"
            );
            assert!(fresh().lines(&[]).is_empty());
        }
    }
}
