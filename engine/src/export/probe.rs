//! Asking the access engine about synthetic principals, and reducing the answers to
//! minimal conjunctions of roles and groups.

use std::collections::BTreeMap;

use crate::access::{
    AccessEngine, AccessRequest, ColumnEffect, Decision, Directory, MaskMethod, Principal,
    ProductEffect, ProductRef,
};

use super::model::Term;

/// The id of every synthetic principal but the one that checks ids do not matter.
pub(super) const PROBE_ID: &str = "charter-export-probe";

/// How often a request denied for running out of time is asked again.
const RETRIES: usize = 6;

/// Whether the engine failed, or denied because the row-filter rules ran out of time.
fn out_of_time(decided: &Result<Decision, crate::access::RequestError>) -> bool {
    decided.as_ref().map_or(true, |d| {
        d.reasons
            .iter()
            .any(|r| r.message.contains("row_filter_time_limit_ms"))
    })
}

/// A role or a group.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub(super) enum Atom {
    Role(String),
    Group(String),
}

/// What one principal gets of one table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Answer {
    pub query: bool,
    /// Per column: the effect and, for a mask, its method.
    pub columns: Vec<(ColumnEffect, Option<MaskMethod>)>,
    /// Row filters as (column, op, value).
    pub filters: Vec<(String, String, String)>,
    /// The policies the decision names.
    pub policies: Vec<String>,
}

/// One synthetic principal.
#[derive(Debug, Clone, Default)]
pub(super) struct Probe {
    pub id: String,
    pub atoms: Vec<Atom>,
    pub attributes: BTreeMap<String, String>,
    pub purpose: Option<String>,
}

impl Probe {
    pub fn of(atoms: &[Atom]) -> Self {
        Self {
            id: PROBE_ID.to_owned(),
            atoms: atoms.to_vec(),
            ..Self::default()
        }
    }
}

/// The principal `probe` stands for, completed by the directory as `charter serve
/// --principals` completes callers.
pub(super) fn principal_of(probe: &Probe, directory: Option<&Directory>) -> Principal {
    let mut principal = Principal {
        id: probe.id.clone(),
        attributes: probe.attributes.clone(),
        ..Principal::default()
    };
    for atom in &probe.atoms {
        match atom {
            Atom::Role(r) => principal.roles.push(r.clone()),
            Atom::Group(g) => principal.groups.push(g.clone()),
        }
    }
    match directory {
        Some(directory) => directory.resolve(&principal),
        None => principal,
    }
}

/// Asks the engine what `probe` gets of `table` reading `columns`, the principal completed
/// by the directory as `charter serve --principals` completes callers.
pub(super) fn ask(
    engine: &AccessEngine,
    directory: Option<&Directory>,
    table: &str,
    columns: &[String],
    probe: &Probe,
) -> Answer {
    let request = AccessRequest {
        principal: principal_of(probe, directory),
        product: ProductRef::Table(table.to_owned()),
        columns: columns.to_vec(),
        purpose: probe.purpose.clone(),
        dialect: None,
    };
    // The row-filter rules run under a time limit: a machine under load can miss it (the
    // request is then denied), and the export must not depend on the load. A lasting
    // failure stays a denial, which the comparisons of `compile` turn into a refusal.
    let mut decided = engine.decide(&request);
    for attempt in 1..=RETRIES {
        if !out_of_time(&decided) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50 * attempt as u64));
        decided = engine.decide(&request);
    }
    match decided {
        Ok(decision) => answer_of(&decision),
        // A request the engine refuses is an answer no export can reproduce: nobody reads.
        Err(_) => Answer {
            query: false,
            columns: columns.iter().map(|_| (ColumnEffect::Deny, None)).collect(),
            filters: Vec::new(),
            policies: Vec::new(),
        },
    }
}

fn answer_of(decision: &Decision) -> Answer {
    let query = decision.product.effect == ProductEffect::Allow;
    let mut policies: Vec<String> = decision
        .reasons
        .iter()
        .chain(decision.columns.iter().flat_map(|c| c.reasons.iter()))
        .filter_map(|r| r.policy.clone())
        .collect();
    policies.sort();
    policies.dedup();
    Answer {
        query,
        columns: decision
            .columns
            .iter()
            .map(|c| (c.effect, c.mask_method))
            .collect(),
        filters: decision
            .row_filters
            .iter()
            .map(|f| {
                let value = f
                    .value
                    .as_str()
                    .map_or_else(|| f.value.to_string(), str::to_owned);
                (f.column.clone(), f.op.clone(), value)
            })
            .collect(),
        policies,
    }
}

/// Every subset of `atoms` of at most `max` elements, smallest first, in a fixed order.
pub(super) fn subsets(atoms: &[Atom], max: usize) -> Vec<Vec<Atom>> {
    let mut out: Vec<Vec<Atom>> = vec![Vec::new()];
    let mut frontier: Vec<(Vec<Atom>, usize)> = vec![(Vec::new(), 0)];
    for _ in 0..max {
        let mut next = Vec::new();
        for (set, start) in &frontier {
            for (i, atom) in atoms.iter().enumerate().skip(*start) {
                let mut bigger = set.clone();
                bigger.push(atom.clone());
                out.push(bigger.clone());
                next.push((bigger, i + 1));
            }
        }
        frontier = next;
    }
    out
}

/// The whole universe of atoms, then the universe less each atom: the sets that show a
/// decision is not monotone in roles and groups (a `forbid` on one of them).
pub(super) fn near_universe(atoms: &[Atom]) -> Vec<Vec<Atom>> {
    let mut sets = vec![atoms.to_vec()];
    sets.extend((0..atoms.len()).map(|skip| {
        atoms
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != skip)
            .map(|(_, a)| a.clone())
            .collect()
    }));
    sets
}

/// The minimal sets among `sets` (each a subset of atoms, smallest first) as terms.
pub(super) fn minimal_terms(sets: &[&Vec<Atom>]) -> Vec<Term> {
    let mut minimal: Vec<&Vec<Atom>> = Vec::new();
    for set in sets {
        if !minimal.iter().any(|m| m.iter().all(|a| set.contains(a))) {
            minimal.push(set);
        }
    }
    let mut terms: Vec<Term> = minimal.iter().map(|set| term_of(set)).collect();
    terms.sort();
    terms
}

/// Whether a principal with exactly `atoms` satisfies any of `terms`.
pub(super) fn satisfies(terms: &[Term], atoms: &[Atom]) -> bool {
    terms.iter().any(|t| {
        t.roles
            .iter()
            .all(|r| atoms.contains(&Atom::Role(r.clone())))
            && t.groups
                .iter()
                .all(|g| atoms.contains(&Atom::Group(g.clone())))
    })
}

fn term_of(set: &[Atom]) -> Term {
    let mut term = Term::default();
    for atom in set {
        match atom {
            Atom::Role(r) => term.roles.push(r.clone()),
            Atom::Group(g) => term.groups.push(g.clone()),
        }
    }
    term.roles.sort();
    term.groups.sort();
    term
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subsets_and_minimal_terms() {
        let atoms = vec![
            Atom::Role("a".into()),
            Atom::Role("b".into()),
            Atom::Group("g".into()),
        ];
        let all = subsets(&atoms, 3);
        assert_eq!(all.len(), 8);
        // Allowed: anything with `a`, or `b` together with `g`.
        let allowed: Vec<&Vec<Atom>> = all
            .iter()
            .filter(|s| s.contains(&atoms[0]) || (s.contains(&atoms[1]) && s.contains(&atoms[2])))
            .collect();
        let terms = minimal_terms(&allowed);
        assert_eq!(terms.len(), 2, "{terms:?}");
        assert!(satisfies(&terms, &[atoms[1].clone(), atoms[2].clone()]));
        assert!(!satisfies(&terms, &[atoms[1].clone()]));
        assert!(satisfies(&terms, &[atoms[0].clone()]));
    }
}
