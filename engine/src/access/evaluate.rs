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
use super::engine::AccessEngine;
use super::entities::{ColumnEntry, Masking};
use super::mask::Dialect;
use super::request::{AccessRequest, ProductRef, RequestError};

/// What Cedar said for a class of columns.
#[derive(Clone)]
enum ClassAnswer {
    Clear(Vec<Reason>),
    Masked(Vec<Reason>),
    Denied(Vec<Reason>),
}

impl AccessEngine {
    pub(super) fn run(
        &self,
        request: &AccessRequest,
        explain: bool,
    ) -> Result<Decision, RequestError> {
        request.check()?;
        let dialect = request
            .dialect
            .unwrap_or(self.policies.settings.default_dialect);
        let mut decision = Decision {
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
        };
        let slot = match self.resolve(&request.product) {
            Ok(slot) => slot,
            Err(reasons) => {
                decision.reasons = reasons;
                decision.columns = deny_all(&request.columns, "the product cannot be decided");
                return Ok(decision);
            }
        };
        let entry = &slot.entry;
        decision.product.id = Some(entry.id.clone());

        // The columns as the request names them, and where they are in the contract.
        let wanted: Vec<(&str, Option<usize>)> = if request.columns.is_empty() {
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
        };
        // A principal that may not query the product learns nothing of its columns.
        let fail = |mut decision: Decision, why: String| {
            decision.reasons.push(Reason::message(why));
            decision.columns = deny_all(&request.columns, "the decision failed");
            decision
        };

        let model = &self.policies.model;
        let principal = match model.principal(&request.principal) {
            Ok(p) => p,
            Err(e) => {
                return Ok(fail(
                    decision,
                    format!("cannot build the principal entity: {e}"),
                ));
            }
        };
        let principal_uid = principal.uid();
        let context = match &request.purpose {
            None => Context::empty(),
            Some(p) => match Context::from_pairs([(
                "purpose".to_owned(),
                RestrictedExpression::new_string(p.clone()),
            )]) {
                Ok(c) => c,
                Err(e) => {
                    return Ok(fail(
                        decision,
                        format!("cannot build the request context: {e}"),
                    ));
                }
            },
        };

        // What Cedar is asked about: one column per class, in first-use order; when
        // explaining, every column itself (people read the explanation column by column).
        let explaining = decision.explanation.is_some();
        let unit_of = |i: usize| {
            if explaining {
                i
            } else {
                entry.columns[i].class
            }
        };
        let unit_count = if explaining {
            entry.columns.len()
        } else {
            entry.classes.len()
        };
        let mut units: Vec<usize> = Vec::new();
        let mut seen = vec![false; unit_count];
        for &(_, index) in &wanted {
            if let Some(i) = index
                && !entry.columns[i].duplicate
                && !std::mem::replace(&mut seen[unit_of(i)], true)
            {
                units.push(unit_of(i));
            }
        }
        let mut new_entities = vec![principal];
        if explaining {
            for &i in &units {
                if slot.store.get(&entry.column_uid(model, i)).is_some() {
                    continue;
                }
                match entry.column_entity(model, i) {
                    Ok(column) => new_entities.push(column),
                    Err(e) => {
                        return Ok(fail(decision, format!("cannot build a column entity: {e}")));
                    }
                }
            }
        }
        let store = match slot.store.clone().add_entities(new_entities, None) {
            Ok(store) => store,
            Err(e) => {
                return Ok(fail(
                    decision,
                    format!("cannot build the entities of the request: {e}"),
                ));
            }
        };
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
            return Ok(decision);
        }
        decision.product.effect = ProductEffect::Allow;

        let mut answers: Vec<Option<ClassAnswer>> = vec![None; unit_count];
        for &unit in &units {
            let (resource, members) = if explaining {
                (
                    entry.column_uid(model, unit),
                    vec![entry.columns[unit].name.clone()],
                )
            } else {
                (entry.classes[unit].uid.clone(), Vec::new())
            };
            let class = if explaining {
                entry.columns[unit].class
            } else {
                unit
            };
            let plans = slot.classes.get(class);
            let read = asker.answer(
                Action::Read,
                &resource,
                plans.map(|[read, _]| read),
                &members,
                decision.explanation.as_mut(),
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
                    decision.explanation.as_mut(),
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
        decision.columns = wanted
            .iter()
            .map(|&(name, index)| match index {
                None => denied(
                    name,
                    &match &entry.table {
                        None => format!("column `{name}` is not in the contract of `{}`", entry.id),
                        Some(table) => format!(
                            "column `{name}` is not in table `{table}` of `{}`",
                            entry.id
                        ),
                    },
                ),
                Some(i) => {
                    let column = &entry.columns[i];
                    match answers[unit_of(i)].as_ref() {
                        Some(answer) if !column.duplicate => {
                            column_decision(name, column, answer, dialect)
                        }
                        _ => denied(
                            name,
                            &format!(
                                "column `{}` is declared more than once in the contract (in one table, or in several: ask by table)",
                                column.name
                            ),
                        ),
                    }
                }
            })
            .collect();

        if let (Some(rule), Some(input)) = (&self.policies.row_filters, &slot.rego) {
            let readable: Vec<&str> = wanted
                .iter()
                .zip(&decision.columns)
                .filter(|(_, d)| d.effect != ColumnEffect::Deny)
                .filter_map(|((_, i), _)| i.map(|i| entry.columns[i].name.as_str()))
                .collect();
            if !readable.is_empty() || wanted.is_empty() {
                let answer = slot.row_filters.answer(
                    rule.memoizable(),
                    &self.remembered,
                    request,
                    &readable,
                    || rule.evaluate(request, entry, input, &readable),
                );
                match answer {
                    Ok(filters) => decision.row_filters = filters,
                    Err(e) => {
                        decision.product.effect = ProductEffect::Deny;
                        return Ok(fail(
                            decision,
                            format!("row filters could not be decided: {e}"),
                        ));
                    }
                }
            }
        }
        let denied_count = decision
            .columns
            .iter()
            .filter(|c| c.effect == ColumnEffect::Deny)
            .count();
        decision.decision = if denied_count == 0 {
            Outcome::Allow
        } else if denied_count == decision.columns.len() {
            Outcome::Deny
        } else {
            Outcome::Partial
        };
        Ok(decision)
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
