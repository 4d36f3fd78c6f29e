//! Compiling the access engine's answers into the [`ExportModel`].

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use rayon::prelude::*;

use crate::access::{AccessEngine, AccessError, AccessPolicies, ColumnEffect, Directory};
use crate::contract::{Interface, Product};
use crate::mesh::Mesh;
use crate::pack::PolicyPack;

use super::actions::{self, ACTIONS};
use super::model::{AttributeFilter, ColumnExport, ExportModel, Mask, Refusal, TableExport, Term};
use super::probe::{
    Answer, Atom, Probe, ask, minimal_terms, near_universe, principal_of, satisfies, subsets,
};

/// The largest conjunction of roles and groups searched for (every larger set is checked
/// only as the whole universe and the universe less one atom).
const MAX_TERM: usize = 3;

/// The attribute value of probes: hostile on purpose, it must come back verbatim.
const PROBE_VALUE: &str = "charter' probe\"";

/// Serving systems whose interfaces are SQL tables (`catalog.schema.table`).
const TABLE_SYSTEMS: [&str; 16] = [
    "trino",
    "presto",
    "starburst",
    "athena",
    "snowflake",
    "databricks",
    "unity",
    "hive",
    "iceberg",
    "bigquery",
    "redshift",
    "postgres",
    "postgresql",
    "sqlserver",
    "synapse",
    "duckdb",
];

/// Why nothing could be exported.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// The pack's access policies do not load, or the mesh's entities do not fit them.
    #[error(transparent)]
    Access(#[from] AccessError),
    /// `access_decisions.attribute_filters` is not a list of `{column, attribute, exempt_roles}`.
    #[error("settings `access_decisions.attribute_filters`: {0}")]
    Settings(String),
}

#[derive(Debug, Clone, serde::Deserialize)]
struct FilterSetting {
    column: String,
    attribute: String,
    #[serde(default)]
    exempt_roles: Vec<String>,
}

/// Compiles what Charter decides for every physical table of `mesh` under `pack`.
///
/// # Errors
/// The pack's access policies or settings do not load.
pub fn compile(pack: &PolicyPack, mesh: &Mesh) -> Result<ExportModel, ExportError> {
    compile_with_directory(pack, mesh, None)
}

/// [`compile`], every synthetic principal completed by `directory` (the principal
/// directory of `charter serve --principals`): a group whose members get a role that
/// matters is searched too, so the export names the group where the engine's own grants
/// would let its members read. Users' own roles and attributes are not exported.
///
/// # Errors
/// The pack's access policies or settings do not load.
pub fn compile_with_directory(
    pack: &PolicyPack,
    mesh: &Mesh,
    directory: Option<&Directory>,
) -> Result<ExportModel, ExportError> {
    let policies = Arc::new(AccessPolicies::from_pack(pack)?);
    let engine = AccessEngine::with_policies(policies, mesh)?;
    let filters = filter_settings(pack)?;
    let literals = cedar_literals(pack);
    let interfaces: Vec<(&Product, &Interface)> = mesh
        .products()
        .flat_map(|p| p.interfaces.iter().map(move |i| (p, i)))
        .collect();
    let mut uncompiled: Vec<String> = interfaces
        .iter()
        .filter(|(_, i)| location(i).is_none())
        .map(|(_, i)| lookup_key(&i.table))
        .filter(|k| !k.is_empty())
        .collect();
    uncompiled.sort();
    uncompiled.dedup();
    let (jobs, shared) = owned_tables(&interfaces);
    let results: Vec<Result<TableExport, Refusal>> = jobs
        .par_iter()
        .map(|(product, interface)| {
            let env = Env {
                engine: &engine,
                directory,
                filters: &filters,
                literals: &literals,
            };
            table(&env, product, interface)
        })
        .collect();
    let (mut tables, mut refused) = (Vec::new(), shared);
    for result in results {
        match result {
            Ok(t) => tables.push(t),
            Err(r) => refused.push(r),
        }
    }
    tables.sort_by(|a, b| a.location.cmp(&b.location));
    refused.sort_by(|a, b| a.location.cmp(&b.location));
    Ok(ExportModel {
        revision: engine.revision(),
        tables,
        refused,
        uncompiled,
        unreadable: engine.unreadable_count(),
    })
}

/// A table as the access engine looks it up: trimmed, ASCII lower case.
fn lookup_key(table: &str) -> String {
    table.trim().to_ascii_lowercase()
}

/// The SQL tables to compile, each with the product that owns it (the first interface of
/// a product naming it), and a refusal for every table several products name: the engine
/// denies those (it cannot tell whose contract applies), so no target may grant them.
fn owned_tables<'a>(
    interfaces: &[(&'a Product, &'a Interface)],
) -> (Vec<(&'a Product, &'a Interface)>, Vec<Refusal>) {
    let mut owners: BTreeMap<String, Vec<(&Product, &Interface)>> = BTreeMap::new();
    for &(product, interface) in interfaces {
        if location(interface).is_some() {
            let named = owners.entry(lookup_key(&interface.table)).or_default();
            if !named.iter().any(|(p, _)| p.id == product.id) {
                named.push((product, interface));
            }
        }
    }
    let mut jobs = Vec::new();
    let mut refused = Vec::new();
    for named in owners.into_values() {
        match named.as_slice() {
            [one] => jobs.push(*one),
            [(first, interface), ..] => {
                let products: Vec<String> =
                    named.iter().map(|(p, _)| format!("`{}`", p.id)).collect();
                let dotted = interface.table.trim().to_owned();
                refused.push(Refusal {
                    product: first.id.clone(),
                    location: dotted.clone(),
                    policies: Vec::new(),
                    message: format!(
                        "table `{dotted}` is named by several products ({}): Charter denies it until one contract owns it; not exported (fail closed)",
                        products.join(", ")
                    ),
                });
            }
            [] => {}
        }
    }
    (jobs, refused)
}

fn filter_settings(pack: &PolicyPack) -> Result<Vec<FilterSetting>, ExportError> {
    match pack
        .settings()
        .get("access_decisions")
        .and_then(|a| a.get("attribute_filters"))
    {
        None => Ok(Vec::new()),
        Some(v) => {
            serde_json::from_value(v.clone()).map_err(|e| ExportError::Settings(e.to_string()))
        }
    }
}

/// The string literals of the pack's Cedar policies that are not entity ids or annotations:
/// the roles and groups policies may name.
fn cedar_literals(pack: &PolicyPack) -> BTreeSet<String> {
    let Ok(re) = regex::Regex::new(r#"(::|@[A-Za-z_]+\()?"((?:[^"\\]|\\.)*)""#) else {
        return BTreeSet::new();
    };
    pack.files()
        .iter()
        .filter(|f| f.path.ends_with(".cedar"))
        .flat_map(|f| {
            let text: String = f
                .text
                .lines()
                .map(|l| l.split_once("//").map_or(l, |(code, _)| code))
                .collect::<Vec<_>>()
                .join("\n");
            re.captures_iter(&text)
                .filter(|c| c.get(1).is_none())
                .filter_map(|c| c.get(2).map(|m| m.as_str().to_owned()))
                .collect::<Vec<_>>()
        })
        .collect()
}

/// The three parts of a SQL table location, for SQL serving systems.
fn location(interface: &Interface) -> Option<[String; 3]> {
    if !TABLE_SYSTEMS.contains(&interface.kind.trim().to_ascii_lowercase().as_str()) {
        return None;
    }
    let parts: Vec<&str> = interface.table.trim().split('.').collect();
    match parts.as_slice() {
        [c, s, t]
            if [c, s, t]
                .iter()
                .all(|p| !p.is_empty() && !p.contains(['/', ':'])) =>
        {
            Some([(*c).to_owned(), (*s).to_owned(), (*t).to_owned()])
        }
        _ => None,
    }
}

/// What every table is compiled with.
struct Env<'a> {
    engine: &'a AccessEngine,
    directory: Option<&'a Directory>,
    filters: &'a [FilterSetting],
    literals: &'a BTreeSet<String>,
}

struct Ctx<'a> {
    engine: &'a AccessEngine,
    directory: Option<&'a Directory>,
    product: &'a Product,
    dotted: String,
    physical: Vec<String>,
}

impl Ctx<'_> {
    fn ask(&self, probe: &Probe) -> Answer {
        ask(
            self.engine,
            self.directory,
            &self.dotted,
            &self.physical,
            probe,
        )
    }

    fn refuse(&self, answers: &[&Answer], message: String) -> Refusal {
        let mut policies: Vec<String> = answers
            .iter()
            .flat_map(|a| a.policies.iter().cloned())
            .collect();
        policies.sort();
        policies.dedup();
        let named = if policies.is_empty() {
            String::new()
        } else {
            format!(
                " (policies: {})",
                policies
                    .iter()
                    .map(|p| format!("`{p}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        };
        Refusal {
            product: self.product.id.clone(),
            location: self.dotted.clone(),
            message: format!(
                "product `{}`, table `{}`: {message}{named}; not exported (fail closed)",
                self.product.id, self.dotted
            ),
            policies,
        }
    }
}

fn table(env: &Env<'_>, product: &Product, interface: &Interface) -> Result<TableExport, Refusal> {
    let filters = env.filters;
    let location = location(interface).unwrap_or_default();
    let fields: Vec<&crate::contract::Field> = product
        .fields
        .iter()
        .filter(|f| {
            interface.serves.is_empty() || f.table == interface.serves || product.tables.len() <= 1
        })
        .collect();
    let ctx = Ctx {
        engine: env.engine,
        directory: env.directory,
        product,
        dotted: interface.table.trim().to_owned(),
        physical: fields.iter().map(|f| f.physical().to_owned()).collect(),
    };
    let atoms = universe(product, filters, env.literals, env.directory);
    let sets = subsets(&atoms, MAX_TERM);
    let answers: Vec<Answer> = sets.iter().map(|s| ctx.ask(&Probe::of(s))).collect();
    let readers = minimal_terms(&pick(&sets, &answers, |a| a.query));
    let mut columns = Vec::with_capacity(fields.len());
    for (i, field) in fields.iter().enumerate() {
        columns.push(column(&ctx, field, i, &sets, &answers)?);
    }
    verify(&ctx, &atoms, &readers, &columns)?;
    independent(&ctx, &sets, &answers, &readers, filters)?;
    let row_filters = row_filters(&ctx, &fields, &readers, filters)?;
    let [writers, managers] = ACTIONS.map(|action| {
        actions::terms(
            env.engine,
            env.directory,
            &ctx.dotted,
            action,
            &atoms,
            &sets,
        )
    });
    let (writers, managers) = match (writers, managers) {
        (Ok(w), Ok(m)) => (w, m),
        (Err(why), _) | (_, Err(why)) => return Err(ctx.refuse(&[], why)),
    };
    Ok(TableExport {
        product: product.id.clone(),
        table: interface.serves.clone(),
        kind: interface.kind.clone(),
        location,
        readers,
        writers,
        managers,
        columns,
        row_filters,
    })
}

fn pick<'a>(
    sets: &'a [Vec<Atom>],
    answers: &[Answer],
    keep: impl Fn(&Answer) -> bool,
) -> Vec<&'a Vec<Atom>> {
    sets.iter()
        .zip(answers)
        .filter(|(_, a)| keep(a))
        .map(|(s, _)| s)
        .collect()
}

fn universe(
    product: &Product,
    filters: &[FilterSetting],
    literals: &BTreeSet<String>,
    directory: Option<&Directory>,
) -> Vec<Atom> {
    let mut roles: BTreeSet<String> = literals.clone();
    roles.extend(product.access.roles.iter().cloned());
    roles.extend(product.access.write_roles.iter().cloned());
    roles.extend(filters.iter().flat_map(|f| f.exempt_roles.iter().cloned()));
    let mut groups: BTreeSet<String> = product.owner.iter().cloned().collect();
    groups.extend(literals.iter().filter(|l| l.contains('@')).cloned());
    // Directory groups whose members get a role that matters.
    if let Some(directory) = directory {
        groups.extend(
            directory
                .groups()
                .filter(|(_, granted)| granted.iter().any(|r| roles.contains(r)))
                .map(|(g, _)| g.to_owned()),
        );
    }
    roles
        .into_iter()
        .filter(|r| !r.trim().is_empty())
        .map(Atom::Role)
        .chain(
            groups
                .into_iter()
                .filter(|g| !g.trim().is_empty())
                .map(Atom::Group),
        )
        .collect()
}

fn column(
    ctx: &Ctx<'_>,
    field: &crate::contract::Field,
    i: usize,
    sets: &[Vec<Atom>],
    answers: &[Answer],
) -> Result<ColumnExport, Refusal> {
    let effect = |a: &Answer| {
        a.columns
            .get(i)
            .copied()
            .unwrap_or((ColumnEffect::Deny, None))
    };
    let clear = minimal_terms(&pick(sets, answers, |a| {
        a.query && effect(a).0 == ColumnEffect::Allow
    }));
    let masked: Vec<&Answer> = answers
        .iter()
        .filter(|a| a.query && effect(a).0 == ColumnEffect::Mask)
        .collect();
    let mut methods: Vec<_> = masked.iter().filter_map(|a| effect(a).1).collect();
    methods.sort_by_key(|m| m.as_str());
    methods.dedup();
    let mask = match methods.as_slice() {
        [] => None,
        [method] => Some(Mask {
            method: *method,
            terms: minimal_terms(&pick(sets, answers, |a| {
                a.query && effect(a).0 == ColumnEffect::Mask
            })),
        }),
        _ => {
            return Err(ctx.refuse(
                &masked,
                format!(
                    "column `{}` is masked with different methods for different principals",
                    field.physical()
                ),
            ));
        }
    };
    Ok(ColumnExport {
        name: field.physical().to_owned(),
        logical: field.logical().to_owned(),
        data_type: field.data_type.clone(),
        clear,
        mask,
    })
}

/// The whole universe and the universe less each atom must be answered as the terms say:
/// otherwise a policy is not monotone in roles and groups (a `forbid` on a role, say).
fn verify(
    ctx: &Ctx<'_>,
    atoms: &[Atom],
    readers: &[Term],
    columns: &[ColumnExport],
) -> Result<(), Refusal> {
    // Smaller universes are searched whole by the subsets.
    let probes = if atoms.len() > MAX_TERM {
        near_universe(atoms)
    } else {
        vec![atoms.to_vec()]
    };
    for set in probes {
        let answer = ctx.ask(&Probe::of(&set));
        let query = satisfies(readers, &set);
        let expected: Vec<ColumnEffect> = columns
            .iter()
            .map(|c| {
                if satisfies(&c.clear, &set) {
                    ColumnEffect::Allow
                } else if c.mask.as_ref().is_some_and(|m| satisfies(&m.terms, &set)) {
                    ColumnEffect::Mask
                } else {
                    ColumnEffect::Deny
                }
            })
            .collect();
        let got: Vec<ColumnEffect> = answer.columns.iter().map(|c| c.0).collect();
        if answer.query != query || (query && got != expected) {
            return Err(ctx.refuse(&[&answer], "the decision is not a function of roles and groups alone (a policy forbids on a role or group, or needs more of them than the export searches)".into()));
        }
    }
    Ok(())
}

/// The principal's id, an unrelated attribute and the purpose must not change what
/// anyone may read: no target can express them.
fn independent(
    ctx: &Ctx<'_>,
    sets: &[Vec<Atom>],
    answers: &[Answer],
    readers: &[Term],
    filters: &[FilterSetting],
) -> Result<(), Refusal> {
    let mut checked: Vec<usize> = (0..sets.len())
        .filter(|&i| answers[i].query || sets[i].len() <= 1)
        .collect();
    checked.truncate(64);
    let _ = readers;
    for i in checked {
        let base = Probe::of(&sets[i]);
        let mut variants = vec![
            (
                "the principal's id",
                Probe {
                    id: "charter-export-other".into(),
                    ..base.clone()
                },
            ),
            (
                "the purpose",
                Probe {
                    purpose: Some("charter-export-purpose".into()),
                    ..base.clone()
                },
            ),
            (
                "a principal attribute",
                Probe {
                    attributes: [("charter-export-attribute".to_owned(), "x".to_owned())].into(),
                    ..base.clone()
                },
            ),
        ];
        let attributes: BTreeMap<String, String> = filters
            .iter()
            .map(|f| (f.attribute.clone(), PROBE_VALUE.to_owned()))
            .collect();
        if !attributes.is_empty() {
            variants.push((
                "a row-filter attribute",
                Probe {
                    attributes,
                    ..base.clone()
                },
            ));
        }
        for (what, probe) in variants {
            let answer = ctx.ask(&probe);
            if answer.query != answers[i].query || answer.columns != answers[i].columns {
                return Err(ctx.refuse(
                    &[&answer, &answers[i]],
                    format!("what may be read depends on {what}, which the export cannot express"),
                ));
            }
        }
    }
    Ok(())
}

/// The settings' attribute filters that apply, checked against the engine's own row filters.
fn row_filters(
    ctx: &Ctx<'_>,
    fields: &[&crate::contract::Field],
    readers: &[Term],
    filters: &[FilterSetting],
) -> Result<Vec<AttributeFilter>, Refusal> {
    let applicable: Vec<(&FilterSetting, String)> = filters
        .iter()
        .filter_map(|f| {
            fields
                .iter()
                .find(|c| c.name == f.column || c.path == f.column || c.physical_name == f.column)
                .map(|c| (f, c.physical().to_owned()))
        })
        .collect();
    let attributes: BTreeMap<String, String> = filters
        .iter()
        .map(|f| (f.attribute.clone(), PROBE_VALUE.to_owned()))
        .collect();
    for term in readers {
        let mut atoms: Vec<Atom> = term.roles.iter().cloned().map(Atom::Role).collect();
        atoms.extend(term.groups.iter().cloned().map(Atom::Group));
        let with_exempt: Vec<Atom> = atoms
            .iter()
            .cloned()
            .chain(
                filters
                    .iter()
                    .flat_map(|f| f.exempt_roles.iter().cloned().map(Atom::Role)),
            )
            .collect();
        // A reader without the filters' attributes is not filtered (the targets read the
        // attribute per user, and a user without it gets no predicate).
        let bare = ctx.ask(&Probe::of(&atoms));
        if bare.query && !bare.filters.is_empty() {
            return Err(ctx.refuse(
                &[&bare],
                format!(
                    "the row-filter rules filter a reader without the filters' attributes ({:?})",
                    bare.filters
                ),
            ));
        }
        for set in [atoms, with_exempt] {
            let probe = Probe {
                attributes: attributes.clone(),
                ..Probe::of(&set)
            };
            let answer = ctx.ask(&probe);
            // Exempt by a role the principal holds, directly or through the directory.
            let roles = principal_of(&probe, ctx.directory).roles;
            let mut got: Vec<(String, String, String)> = answer.filters.clone();
            got.sort();
            let mut expected: Vec<(String, String, String)> = applicable
                .iter()
                .filter(|(f, _)| !f.exempt_roles.iter().any(|r| roles.contains(r)))
                .map(|(f, _)| (f.column.clone(), "=".to_owned(), PROBE_VALUE.to_owned()))
                .collect();
            expected.sort();
            if answer.query && got != expected {
                return Err(ctx.refuse(&[&answer], format!(
                    "the row-filter rules give {got:?} where the settings' attribute filters give {expected:?}"
                )));
            }
        }
    }
    Ok(applicable
        .into_iter()
        .map(|(f, column)| AttributeFilter {
            column,
            attribute: f.attribute.clone(),
            exempt_roles: {
                let mut r = f.exempt_roles.clone();
                r.sort();
                r
            },
        })
        .collect())
}
