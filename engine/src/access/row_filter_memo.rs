//! Row filters remembered per product and input shape.
//!
//! The Rego rule stays the source of truth: the first request of a shape (principal id,
//! roles, groups, attributes, readable columns, purpose) evaluates it, and later requests
//! of the same shape on the same product reuse its answer, which is what the rule would
//! say again, since within one revision its input and `data` are the same. Only answers
//! are remembered: an error or a run past the time limit is evaluated again next time
//! (and denies each time). A pack whose access modules call a builtin whose result can
//! change between calls (time, randomness, UUIDs, HTTP) is never remembered.
//!
//! Lookups allocate nothing: a shape is hashed from the request as it is and compared
//! field by field with the remembered ones. Each product remembers at most
//! [`PER_PRODUCT`] shapes and an engine at most [`PER_ENGINE`]; past that, the rule is
//! evaluated as before. A new revision (a reload) starts empty.

use std::collections::HashMap;
use std::hash::{BuildHasher, Hash, Hasher, RandomState};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{PoisonError, RwLock};

use super::decision::RowFilter;
use super::request::AccessRequest;

/// Shapes one product remembers.
pub(crate) const PER_PRODUCT: usize = 64;
/// Shapes one engine (one revision) remembers, over all products.
pub(crate) const PER_ENGINE: usize = 65_536;

/// Builtins whose answer may differ from one call to the next: a module that names one
/// is never remembered. The match is on the module text, so a mention in a comment also
/// turns remembering off (safe, only slower).
const NONDETERMINISTIC: &[&str] = &[
    "time.now_ns",
    "rand.",
    "uuid.",
    "http.send",
    "opa.runtime",
    "net.lookup",
    "trace(",
];

/// Whether row filters from `modules` may be remembered.
pub(crate) fn deterministic<'a>(mut modules: impl Iterator<Item = &'a str>) -> bool {
    modules.all(|text| !NONDETERMINISTIC.iter().any(|name| text.contains(name)))
}

/// The engine-wide count of remembered shapes.
#[derive(Debug, Default)]
pub(crate) struct Budget(AtomicUsize);

impl Budget {
    /// Takes one place; false when the engine remembers [`PER_ENGINE`] shapes already.
    fn take(&self) -> bool {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                (used < PER_ENGINE).then_some(used + 1)
            })
            .is_ok()
    }
}

/// One remembered shape and the rule's answer for it.
#[derive(Debug)]
struct Remembered {
    id: String,
    roles: Vec<String>,
    groups: Vec<String>,
    attributes: Vec<(String, String)>,
    columns: Vec<String>,
    purpose: Option<String>,
    filters: Vec<RowFilter>,
}

impl Remembered {
    fn is(&self, request: &AccessRequest, columns: &[&str]) -> bool {
        let principal = &request.principal;
        self.id == principal.id
            && self.roles == principal.roles
            && self.groups == principal.groups
            && self.attributes.len() == principal.attributes.len()
            && self
                .attributes
                .iter()
                .zip(&principal.attributes)
                .all(|((k, v), (rk, rv))| k == rk && v == rv)
            && self.columns.len() == columns.len()
            && self.columns.iter().zip(columns).all(|(a, b)| a == b)
            && self.purpose == request.purpose
    }
}

/// One product's remembered row filters.
#[derive(Debug, Default)]
pub(crate) struct RowFilterMemo {
    hasher: RandomState,
    shapes: RwLock<HashMap<u64, Vec<Remembered>>>,
}

impl RowFilterMemo {
    fn hash(&self, request: &AccessRequest, columns: &[&str]) -> u64 {
        let mut h = self.hasher.build_hasher();
        let principal = &request.principal;
        principal.id.hash(&mut h);
        principal.roles.hash(&mut h);
        principal.groups.hash(&mut h);
        principal.attributes.hash(&mut h);
        columns.hash(&mut h);
        request.purpose.hash(&mut h);
        h.finish()
    }

    /// The rule's answer for this request's shape: the remembered one, else `evaluate`'s,
    /// remembered when it is an answer (not an error) and `memoizable` (the pack's rules
    /// give the same answer to the same input).
    pub(crate) fn answer(
        &self,
        memoizable: bool,
        budget: &Budget,
        request: &AccessRequest,
        columns: &[&str],
        evaluate: impl FnOnce() -> Result<Vec<RowFilter>, String>,
    ) -> Result<Vec<RowFilter>, String> {
        if !memoizable {
            return evaluate();
        }
        if let Some(filters) = self.get(request, columns) {
            return Ok(filters);
        }
        let answer = evaluate();
        if let Ok(filters) = &answer {
            self.put(budget, request, columns, filters);
        }
        answer
    }

    /// The remembered answer for this request's shape, if any.
    fn get(&self, request: &AccessRequest, columns: &[&str]) -> Option<Vec<RowFilter>> {
        let key = self.hash(request, columns);
        let shapes = self.shapes.read().unwrap_or_else(PoisonError::into_inner);
        shapes
            .get(&key)?
            .iter()
            .find(|r| r.is(request, columns))
            .map(|r| r.filters.clone())
    }

    /// Remembers the rule's answer for this request's shape, room permitting.
    fn put(
        &self,
        budget: &Budget,
        request: &AccessRequest,
        columns: &[&str],
        filters: &[RowFilter],
    ) {
        let key = self.hash(request, columns);
        let mut shapes = self.shapes.write().unwrap_or_else(PoisonError::into_inner);
        let held: usize = shapes.values().map(Vec::len).sum();
        let known = shapes
            .get(&key)
            .is_some_and(|list| list.iter().any(|r| r.is(request, columns)));
        if known || held >= PER_PRODUCT || !budget.take() {
            return;
        }
        let principal = &request.principal;
        shapes.entry(key).or_default().push(Remembered {
            id: principal.id.clone(),
            roles: principal.roles.clone(),
            groups: principal.groups.clone(),
            attributes: principal
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            purpose: request.purpose.clone(),
            filters: filters.to_vec(),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::request::{Principal, ProductRef};

    fn request(id: &str, region: &str) -> AccessRequest {
        AccessRequest {
            principal: Principal {
                id: id.into(),
                roles: vec!["analyst".into()],
                attributes: [("region".to_owned(), region.to_owned())].into(),
                ..Default::default()
            },
            product: ProductRef::Id("p".into()),
            columns: Vec::new(),
            purpose: None,
            dialect: None,
        }
    }

    fn filter(sql: &str) -> RowFilter {
        RowFilter {
            column: "region".into(),
            op: "=".into(),
            value: serde_json::json!(sql),
            sql: sql.into(),
            reason: None,
        }
    }

    #[test]
    fn a_shape_is_remembered_exactly() {
        let memo = RowFilterMemo::default();
        let budget = Budget::default();
        let eu = request("ana", "eu");
        memo.put(&budget, &eu, &["a", "region"], &[filter("eu")]);
        let hit = memo.get(&eu, &["a", "region"]).unwrap();
        assert_eq!(hit[0].sql, "eu");
        // Any difference in the shape is another shape.
        assert!(memo.get(&request("ana", "us"), &["a", "region"]).is_none());
        assert!(memo.get(&request("bo", "eu"), &["a", "region"]).is_none());
        assert!(memo.get(&eu, &["a"]).is_none());
        assert!(memo.get(&eu, &["region", "a"]).is_none());
        let mut purposed = eu.clone();
        purposed.purpose = Some("fraud".into());
        assert!(memo.get(&purposed, &["a", "region"]).is_none());
    }

    #[test]
    fn room_is_bounded_per_product_and_per_engine() {
        let memo = RowFilterMemo::default();
        let budget = Budget::default();
        for i in 0..PER_PRODUCT + 10 {
            memo.put(&budget, &request(&format!("u{i}"), "eu"), &[], &[]);
        }
        assert!(memo.get(&request("u0", "eu"), &[]).is_some());
        assert!(
            memo.get(&request(&format!("u{PER_PRODUCT}"), "eu"), &[])
                .is_none()
        );
        assert_eq!(budget.0.load(Ordering::Relaxed), PER_PRODUCT);

        let full = Budget(AtomicUsize::new(PER_ENGINE));
        let other = RowFilterMemo::default();
        other.put(&full, &request("ana", "eu"), &[], &[]);
        assert!(other.get(&request("ana", "eu"), &[]).is_none());
    }

    #[test]
    fn only_answers_of_a_memoizable_rule_are_remembered() {
        let budget = Budget::default();
        let eu = request("ana", "eu");
        let calls = std::cell::Cell::new(0);
        let evaluate = |result: Result<Vec<RowFilter>, String>| {
            calls.set(calls.get() + 1);
            result
        };
        let memo = RowFilterMemo::default();
        for _ in 0..3 {
            let answer = memo.answer(true, &budget, &eu, &[], || evaluate(Err("boom".into())));
            assert_eq!(answer.unwrap_err(), "boom");
        }
        assert_eq!(calls.get(), 3, "an error is evaluated again every time");
        for _ in 0..3 {
            let answer = memo.answer(false, &budget, &eu, &[], || evaluate(Ok(vec![filter("x")])));
            assert_eq!(answer.unwrap()[0].sql, "x");
        }
        assert_eq!(
            calls.get(),
            6,
            "a rule that is not memoizable is evaluated every time"
        );
        for _ in 0..3 {
            let answer = memo.answer(true, &budget, &eu, &[], || evaluate(Ok(vec![filter("eu")])));
            assert_eq!(answer.unwrap()[0].sql, "eu");
        }
        assert_eq!(calls.get(), 7, "an answer is evaluated once");
    }

    #[test]
    fn builtins_that_change_turn_remembering_off() {
        assert!(deterministic(
            ["package charter.access\nrow_filters contains f if { f := 1 }"].into_iter()
        ));
        assert!(!deterministic(
            ["x := time.now_ns()", "package charter.access"].into_iter()
        ));
        assert!(!deterministic(["y := rand.intn(\"k\", 9)"].into_iter()));
    }
}
