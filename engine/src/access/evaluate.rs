//! Deciding one request: resolve the product and columns, add the principal to the
//! product's prepared entity store, ask Cedar once for the product (`query`) and once
//! or twice per *class* of columns (`read`, then `readMasked`), attach masks, evaluate
//! row filters (remembered per product and input shape, see `row_filter_memo.rs`).
//!
//! The product's store holds just what policies can reach: its domain, the product,
//! one column per class (columns alike in every attribute a policy reads get the same
//! answer), the entities policies name literally, and grouped actions.

use cedar_policy::{Context, RestrictedExpression};

use super::ask::{Action, Asker};
use super::decision::{
    ColumnDecision, ColumnEffect, Decision, Explanation, Outcome, ProductDecision, ProductEffect,
    Reason,
};
use super::engine::{AccessEngine, Slot};
use super::entities::{ColumnEntry, Masking, ProductEntry};
use super::mask::Dialect;
use super::request::{AccessRequest, ProductRef, RequestError};

/// What Cedar said for a class of columns.
#[derive(Clone)]
enum ClassAnswer {
    Clear(Vec<Reason>),
    Masked(Vec<Reason>),
    Denied(Vec<Reason>),
}

/// Why a decision stopped early: every requested column is denied, with the reason.
struct Denial(String);

/// A column as the request names it, and where it is in the contract.
type Wanted<'a> = (&'a str, Option<usize>);

/// What Cedar is asked about in one request: the classes of the wanted columns in
/// first-use order, or, when explaining, every column itself (people read the
/// explanation column by column).
struct Units {
    explaining: bool,
    /// The units asked about, in first-use order.
    asked: Vec<usize>,
    /// How many units the product has (classes, or columns when explaining).
    count: usize,
}

impl Units {
    fn of(entry: &ProductEntry, wanted: &[Wanted<'_>], explaining: bool) -> Self {
        let count = if explaining {
            entry.columns.len()
        } else {
            entry.classes.len()
        };
        let mut units = Self {
            explaining,
            asked: Vec::new(),
            count,
        };
        let mut seen = vec![false; count];
        for &(_, index) in wanted {
            if let Some(i) = index
                && !entry.columns[i].duplicate
                && !std::mem::replace(&mut seen[units.unit_of(entry, i)], true)
            {
                units.asked.push(units.unit_of(entry, i));
            }
        }
        units
    }

    /// The unit column `i` is answered with.
    fn unit_of(&self, entry: &ProductEntry, i: usize) -> usize {
        if self.explaining {
            i
        } else {
            entry.columns[i].class
        }
    }
}

impl AccessEngine {
    /// Decides `request`: resolve the product → the columns wanted → the request's
    /// entities → `query` on the product → `read`/`readMasked` per unit → column decisions
    /// → row filters → the outcome. Anything that cannot be decided denies.
    pub(super) fn run(
        &self,
        request: &AccessRequest,
        explain: bool,
    ) -> Result<Decision, RequestError> {
        request.check()?;
        let mut decision = self.undecided(request, explain);
        let slot = match self.resolve(&request.product) {
            Ok(slot) => slot,
            Err(reasons) => {
                decision.reasons = reasons;
                decision.columns = deny_all(&request.columns, "the product cannot be decided");
                return Ok(decision);
            }
        };
        decision.product.id = Some(slot.entry.id.clone());
        let wanted = wanted(&slot.entry, request);
        if let Err(Denial(why)) = self.decide_columns(slot, request, &wanted, &mut decision) {
            // A principal that may not query the product learns nothing of its columns.
            decision.reasons.push(Reason::message(why));
            decision.columns = deny_all(&request.columns, "the decision failed");
        }
        Ok(decision)
    }

    /// A decision that denies everything, for `request`, before anything is asked.
    fn undecided(&self, request: &AccessRequest, explain: bool) -> Decision {
        let dialect = request
            .dialect
            .unwrap_or(self.policies.settings.default_dialect);
        Decision {
            decision: Outcome::Deny,
            decision_id: uuid::Uuid::now_v7().to_string(),
            revision: self.revision(),
            product: ProductDecision {
                id: match &request.product {
                    ProductRef::Id(id) => Some(id.clone()),
                    ProductRef::Table(_) => None,
                },
                table: match &request.product {
                    ProductRef::Table(t) => Some(t.clone()),
                    ProductRef::Id(_) => None,
                },
                effect: ProductEffect::Deny,
            },
            columns: Vec::new(),
            row_filters: Vec::new(),
            reasons: Vec::new(),
            dialect,
            explanation: explain.then(Explanation::default),
        }
    }

    /// Everything after the product is resolved. `Ok` also for a product the principal
    /// may not query (the decision says so); `Err` when something could not be decided.
    fn decide_columns(
        &self,
        slot: &Slot,
        request: &AccessRequest,
        wanted: &[Wanted<'_>],
        decision: &mut Decision,
    ) -> Result<(), Denial> {
        let entry = &slot.entry;
        let model = &self.policies.model;
        let principal = model
            .principal(&request.principal)
            .map_err(|e| Denial(format!("cannot build the principal entity: {e}")))?;
        let principal_uid = principal.uid();
        let context = context(request)?;
        let units = Units::of(entry, wanted, decision.explanation.is_some());
        let store = self.request_store(slot, &units, principal)?;
        let asker = Asker {
            policies: &self.policies,
            principal: &principal_uid,
            context: &context,
            store: &store,
        };
        let query = asker.answer(
            Action::Query,
            &entry.uid,
            Some(&slot.query),
            &[],
            decision.explanation.as_mut(),
        );
        decision.reasons = query.reasons;
        if !query.allowed {
            decision.columns = deny_all(&request.columns, "the product may not be queried");
            return Ok(());
        }
        decision.product.effect = ProductEffect::Allow;
        let answers = ask_units(slot, &asker, &units, decision.explanation.as_mut());
        let dialect = decision.dialect;
        decision.columns = wanted
            .iter()
            .map(|&(name, index)| column_outcome(entry, &units, &answers, name, index, dialect))
            .collect();
        if let Err(why) = self.row_filters(slot, request, wanted, decision) {
            decision.product.effect = ProductEffect::Deny;
            return Err(why);
        }
        decision.decision = outcome(&decision.columns);
        Ok(())
    }

    /// The product's store with the principal added (and, when explaining, every asked
    /// column's own entity).
    fn request_store(
        &self,
        slot: &Slot,
        units: &Units,
        principal: cedar_policy::Entity,
    ) -> Result<cedar_policy::Entities, Denial> {
        let model = &self.policies.model;
        let mut new_entities = vec![principal];
        if units.explaining {
            for &i in &units.asked {
                if slot.store.get(&slot.entry.column_uid(model, i)).is_some() {
                    continue;
                }
                let column = slot
                    .entry
                    .column_entity(model, i)
                    .map_err(|e| Denial(format!("cannot build a column entity: {e}")))?;
                new_entities.push(column);
            }
        }
        slot.store
            .clone()
            .add_entities(new_entities, None)
            .map_err(|e| Denial(format!("cannot build the entities of the request: {e}")))
    }

    /// The row filters of the readable columns (none read: none asked), remembered per
    /// input shape.
    fn row_filters(
        &self,
        slot: &Slot,
        request: &AccessRequest,
        wanted: &[Wanted<'_>],
        decision: &mut Decision,
    ) -> Result<(), Denial> {
        let (Some(rule), Some(input)) = (&self.policies.row_filters, &slot.rego) else {
            return Ok(());
        };
        let entry = &slot.entry;
        let readable: Vec<&str> = wanted
            .iter()
            .zip(&decision.columns)
            .filter(|(_, d)| d.effect != ColumnEffect::Deny)
            .filter_map(|((_, i), _)| i.map(|i| entry.columns[i].name.as_str()))
            .collect();
        if readable.is_empty() && !wanted.is_empty() {
            return Ok(());
        }
        let answer = slot.row_filters.answer(
            rule.memoizable(),
            &self.remembered,
            request,
            &readable,
            || rule.evaluate(request, entry, input.value()?, &readable),
        );
        decision.row_filters =
            answer.map_err(|e| Denial(format!("row filters could not be decided: {e}")))?;
        Ok(())
    }
}

/// The columns as the request names them (none named: every column of the contract),
/// and where they are in the contract.
fn wanted<'a>(entry: &'a ProductEntry, request: &'a AccessRequest) -> Vec<Wanted<'a>> {
    if request.columns.is_empty() {
        entry
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| (c.name.as_str(), Some(i)))
            .collect()
    } else {
        request
            .columns
            .iter()
            .map(|c| (c.as_str(), entry.column(c)))
            .collect()
    }
}

/// The Cedar context: the purpose, when the request names one.
fn context(request: &AccessRequest) -> Result<Context, Denial> {
    match &request.purpose {
        None => Ok(Context::empty()),
        Some(p) => Context::from_pairs([(
            "purpose".to_owned(),
            RestrictedExpression::new_string(p.clone()),
        )])
        .map_err(|e| Denial(format!("cannot build the request context: {e}"))),
    }
}

/// `read`, then (when not read in clear) `readMasked`, for every asked unit.
fn ask_units(
    slot: &Slot,
    asker: &Asker<'_>,
    units: &Units,
    mut explanation: Option<&mut Explanation>,
) -> Vec<Option<ClassAnswer>> {
    let entry = &slot.entry;
    let model = &asker.policies.model;
    let mut answers: Vec<Option<ClassAnswer>> = vec![None; units.count];
    for &unit in &units.asked {
        let (resource, members, class) = if units.explaining {
            (
                entry.column_uid(model, unit),
                vec![entry.columns[unit].name.clone()],
                entry.columns[unit].class,
            )
        } else {
            (entry.classes[unit].uid.clone(), Vec::new(), unit)
        };
        let plans = slot.classes.get(class);
        let read = asker.answer(
            Action::Read,
            &resource,
            plans.map(|[read, _]| read),
            &members,
            explanation.as_deref_mut(),
        );
        answers[unit] = Some(if read.allowed {
            ClassAnswer::Clear(read.reasons)
        } else if read.errored {
            // An evaluation error decides nothing, not even a masked read.
            ClassAnswer::Denied(read.reasons)
        } else {
            let masked = asker.answer(
                Action::ReadMasked,
                &resource,
                plans.map(|[_, masked]| masked),
                &members,
                explanation.as_deref_mut(),
            );
            if masked.allowed {
                ClassAnswer::Masked(masked.reasons)
            } else {
                let mut reasons = read.reasons;
                reasons.extend(masked.reasons);
                ClassAnswer::Denied(reasons)
            }
        });
    }
    answers
}

/// The decision on one wanted column.
fn column_outcome(
    entry: &ProductEntry,
    units: &Units,
    answers: &[Option<ClassAnswer>],
    name: &str,
    index: Option<usize>,
    dialect: Dialect,
) -> ColumnDecision {
    let Some(i) = index else {
        return denied(
            name,
            &match &entry.table {
                None => format!("column `{name}` is not in the contract of `{}`", entry.id),
                Some(table) => format!(
                    "column `{name}` is not in table `{table}` of `{}`",
                    entry.id
                ),
            },
        );
    };
    let column = &entry.columns[i];
    match answers[units.unit_of(entry, i)].as_ref() {
        Some(answer) if !column.duplicate => column_decision(name, column, answer, dialect),
        _ => denied(
            name,
            &format!(
                "column `{}` is declared more than once in the contract (in one table, or in several: ask by table)",
                column.name
            ),
        ),
    }
}

/// Allow when no column is denied, deny when all are, partial otherwise.
fn outcome(columns: &[ColumnDecision]) -> Outcome {
    let denied_count = columns
        .iter()
        .filter(|c| c.effect == ColumnEffect::Deny)
        .count();
    if denied_count == 0 {
        Outcome::Allow
    } else if denied_count == columns.len() {
        Outcome::Deny
    } else {
        Outcome::Partial
    }
}

/// Every requested column denied, for the same reason.
fn deny_all(columns: &[String], why: &str) -> Vec<ColumnDecision> {
    columns.iter().map(|name| denied(name, why)).collect()
}

fn denied(name: &str, why: &str) -> ColumnDecision {
    ColumnDecision {
        name: name.to_owned(),
        effect: ColumnEffect::Deny,
        mask_method: None,
        mask_expression: None,
        reasons: vec![Reason::message(why)],
    }
}

fn column_decision(
    name: &str,
    column: &ColumnEntry,
    answer: &ClassAnswer,
    dialect: Dialect,
) -> ColumnDecision {
    let mut out = ColumnDecision {
        name: name.to_owned(),
        effect: ColumnEffect::Deny,
        mask_method: None,
        mask_expression: None,
        reasons: Vec::new(),
    };
    match answer {
        ClassAnswer::Clear(reasons) => {
            out.effect = ColumnEffect::Allow;
            out.reasons.clone_from(reasons);
        }
        ClassAnswer::Masked(reasons) => {
            out.reasons.clone_from(reasons);
            match (&column.masking, &column.masks) {
                (Masking::Known(method), Some(masks)) => {
                    out.effect = ColumnEffect::Mask;
                    out.mask_method = Some(*method);
                    out.mask_expression = Some(masks[dialect.index()].clone());
                }
                (Masking::Unknown(raw), _) => out.reasons.push(Reason::message(format!(
                    "masking method `{raw}` is not one Charter can express (hash, redact, nullify, last4): denied"
                ))),
                _ => out.reasons.push(Reason::message(
                    "a masked read is permitted but the contract names no masking method: denied",
                )),
            }
        }
        ClassAnswer::Denied(reasons) => {
            out.reasons.clone_from(reasons);
            if column.pii && column.masking == Masking::None {
                out.reasons.push(Reason::message(
                    "the column holds personal data and its contract names no masking method",
                ));
            }
        }
    }
    out
}
