//! Who may change a table: the Cedar actions `write` (rows) and `manage` (definition),
//! asked of the access engine for the same synthetic principals as reads, and reduced to
//! minimal conjunctions of roles and groups.

use crate::access::{AccessEngine, Directory, Principal, ProductRef};

use super::model::Term;
use super::probe::{Atom, PROBE_ID, Probe, minimal_terms, near_universe, principal_of, satisfies};

/// The table-changing actions of Charter's Cedar schema.
pub(super) const ACTIONS: [&str; 2] = ["write", "manage"];

/// What one action allows, or why it cannot be exported.
pub(super) type ActionTerms = Result<Vec<Term>, String>;

/// The terms of `action` on `table`: minimal sets among `sets` (subsets of `atoms`,
/// smallest first) that are allowed, checked on the whole universe, the universe less each
/// atom, and against the principal's id and attributes (no target expresses those).
pub(super) fn terms(
    engine: &AccessEngine,
    directory: Option<&Directory>,
    table: &str,
    action: &str,
    atoms: &[Atom],
    sets: &[Vec<Atom>],
) -> ActionTerms {
    let allowed = |probe: &Probe| -> bool {
        let principal: Principal = principal_of(probe, directory);
        engine
            .decide_action(&principal, &ProductRef::Table(table.to_owned()), action)
            .is_ok_and(|d| d.allowed)
    };
    let answers: Vec<bool> = sets.iter().map(|s| allowed(&Probe::of(s))).collect();
    let chosen: Vec<&Vec<Atom>> = sets
        .iter()
        .zip(&answers)
        .filter(|(_, a)| **a)
        .map(|(s, _)| s)
        .collect();
    let found = minimal_terms(&chosen);
    for set in &near_universe(atoms) {
        if allowed(&Probe::of(set)) != satisfies(&found, set) {
            return Err(format!(
                "`{action}` is not a function of roles and groups alone (a policy forbids on a role or group, or needs more of them than the export searches)"
            ));
        }
    }
    // As for reads: allowed sets and single atoms, at most 64 of them.
    let checked = sets
        .iter()
        .zip(&answers)
        .filter(|(set, was)| **was || set.len() <= 1)
        .take(64);
    for (set, was) in checked {
        let base = Probe::of(set);
        let variants = [
            Probe {
                id: format!("{PROBE_ID}-other"),
                ..base.clone()
            },
            Probe {
                attributes: [("charter-export-attribute".to_owned(), "x".to_owned())].into(),
                ..base.clone()
            },
        ];
        if variants.iter().any(|v| allowed(v) != *was) {
            return Err(format!(
                "who may `{action}` depends on the principal's id or attributes, which the export cannot express"
            ));
        }
    }
    Ok(found)
}
