//! One Cedar question (an action of the request on one resource), answered with
//! reasons ready for a decision and, when asked, every policy's own outcome.
//!
//! Each question about a product or a class of columns is also *planned* once per mesh
//! revision: Cedar's partial evaluation, with the principal and the context unknown,
//! tells which policies are false whatever the principal (they are left out of the
//! question) and which answers do not depend on the principal at all (they are not
//! asked again).

use std::collections::HashMap;
use std::sync::Arc;

use cedar_policy::{
    Context, Decision as CedarDecision, Effect, Entities, EntityUid, PolicyId, PolicySet, Request,
    RequestBuilder,
};

use super::decision::{Evaluation, Explanation, PolicyEvaluation, PolicyOutcome, Reason};
use super::policies::{AccessPolicies, PolicyInfo};

/// The actions of Charter's model.
#[derive(Debug, Clone, Copy)]
pub(super) enum Action {
    Query,
    Read,
    ReadMasked,
}

/// How a question is answered for any principal.
#[derive(Debug, Clone)]
pub(super) enum Plan {
    /// The answer does not depend on the principal or the context: allow or deny, with
    /// its reasons, written once when planned.
    Known { allowed: bool, reasons: Vec<Reason> },
    /// Ask Cedar, with only the policies that may hold.
    Ask(Arc<PolicySet>),
}

/// A plan before its policy subset is shared: [`Plan::Known`], or the policy indexes to ask with.
#[derive(Debug, Clone)]
pub(super) enum PlanKey {
    Known { allowed: bool, reasons: Vec<Reason> },
    Ask(Vec<usize>),
}

/// Shares equal policy subsets between plans.
#[derive(Debug, Default)]
pub(super) struct PlanSets {
    sets: HashMap<Vec<usize>, Arc<PolicySet>>,
}

impl PlanSets {
    pub(super) fn plan(&mut self, key: PlanKey, policies: &AccessPolicies) -> Plan {
        match key {
            PlanKey::Known { allowed, reasons } => Plan::Known { allowed, reasons },
            PlanKey::Ask(keep) => {
                let shared = self.sets.entry(keep).or_insert_with_key(|keep| {
                    let mut subset = PolicySet::new();
                    for &i in keep {
                        if let Some(policy) = policies.policy(i) {
                            // Ids are unique in the pack's set, so adding cannot fail.
                            let _ = subset.add(policy.clone());
                        }
                    }
                    Arc::new(subset)
                });
                Plan::Ask(Arc::clone(shared))
            }
        }
    }
}

/// Plans `which` on `resource` over a product's `store` (which lacks the principal),
/// by partial evaluation with the principal and the context unknown.
pub(super) fn plan(
    policies: &AccessPolicies,
    which: Action,
    resource: &EntityUid,
    store: &Entities,
) -> PlanKey {
    let (action, set) = policies.action(which);
    let request = RequestBuilder::default()
        .unknown_principal_with_type(policies.model.user.clone())
        .action(action.clone())
        .resource(resource.clone())
        .build();
    let response = policies
        .authorizer
        .is_authorized_partial(&request, set, store);
    let index = |id: &PolicyId| policies.order.get(id_str(id)).copied();
    let mut satisfied: Vec<(usize, Effect)> = response
        .definitely_satisfied()
        .filter_map(|p| index(p.id()).map(|i| (i, p.effect())))
        .collect();
    satisfied.sort_unstable_by_key(|(i, _)| *i);
    let residual: Vec<usize> = response
        .nontrivial_residuals()
        .filter_map(|p| index(p.id()))
        .collect();
    let errored: Vec<usize> = response.definitely_errored().filter_map(index).collect();
    if residual.is_empty()
        && errored.is_empty()
        && let Some(decision) = response.decision()
    {
        let allowed = decision == CedarDecision::Allow;
        let determining = if allowed {
            Effect::Permit
        } else {
            Effect::Forbid
        };
        let ids = satisfied
            .iter()
            .filter(|(_, e)| *e == determining)
            .filter_map(|&(i, _)| policies.cedar.infos.get(i))
            .map(|p| p.id.as_str());
        let reasons = reasons(policies, which, resource, allowed, ids);
        return PlanKey::Known { allowed, reasons };
    }
    let mut keep: Vec<usize> = satisfied
        .iter()
        .map(|(i, _)| *i)
        .chain(residual)
        .chain(errored)
        .collect();
    keep.sort_unstable();
    keep.dedup();
    PlanKey::Ask(keep)
}

/// The determining policies as reasons, or why nothing permits.
fn reasons<'p>(
    policies: &AccessPolicies,
    which: Action,
    resource: &EntityUid,
    allowed: bool,
    ids: impl Iterator<Item = &'p str>,
) -> Vec<Reason> {
    let (action, _) = policies.action(which);
    let action_name = action.id().unescaped();
    let verb = if allowed { "permitted" } else { "forbidden" };
    let mut reasons: Vec<Reason> = ids
        .map(|id| Reason {
            policy: Some(id.to_owned()),
            message: format!("{action_name} {verb} by `{id}`"),
        })
        .collect();
    if reasons.is_empty() {
        let on = if resource.type_name() == &policies.model.column {
            "the column".to_owned()
        } else {
            format!("`{}`", resource.id().unescaped())
        };
        reasons.push(Reason::message(format!(
            "no policy permits `{action_name}` on {on}"
        )));
    }
    reasons
}

fn id_str(id: &PolicyId) -> &str {
    id.as_ref()
}

/// Cedar's answer to one request, with reasons ready for a decision.
pub(super) struct Answer {
    pub(super) allowed: bool,
    /// A policy failed to evaluate (the answer is then a deny).
    pub(super) errored: bool,
    pub(super) reasons: Vec<Reason>,
}

/// Asks Cedar about one action of the request.
pub(super) struct Asker<'a> {
    pub(super) policies: &'a AccessPolicies,
    pub(super) principal: &'a EntityUid,
    pub(super) context: &'a Context,
    pub(super) store: &'a Entities,
}

impl Asker<'_> {
    /// Answers `which` on `resource` as planned: without Cedar when the plan knows
    /// the answer, else asking Cedar with the plan's policies. Explaining (or no plan)
    /// asks with every policy of the action.
    pub(super) fn answer(
        &self,
        which: Action,
        resource: &EntityUid,
        plan: Option<&Plan>,
        columns: &[String],
        explanation: Option<&mut Explanation>,
    ) -> Answer {
        let plan = match plan {
            Some(plan) if explanation.is_none() => plan,
            _ => return self.ask(which, resource, None, columns, explanation),
        };
        match plan {
            Plan::Known { allowed, reasons } => Answer {
                allowed: *allowed,
                errored: false,
                reasons: reasons.clone(),
            },
            Plan::Ask(set) => self.ask(which, resource, Some(set), columns, None),
        }
    }

    /// Asks Cedar `which` on `resource`, with `set` or every policy of the action.
    fn ask(
        &self,
        which: Action,
        resource: &EntityUid,
        set: Option<&PolicySet>,
        columns: &[String],
        explanation: Option<&mut Explanation>,
    ) -> Answer {
        let (action, all) = self.policies.action(which);
        let set = set.unwrap_or(all);
        let request = match Request::new(
            self.principal.clone(),
            action.clone(),
            resource.clone(),
            self.context.clone(),
            None,
        ) {
            Ok(r) => r,
            Err(e) => {
                return Answer {
                    allowed: false,
                    errored: true,
                    reasons: vec![Reason::message(format!(
                        "cannot build the Cedar request: {e}"
                    ))],
                };
            }
        };
        let action_name = action.id().unescaped();
        let response = self
            .policies
            .authorizer
            .is_authorized(&request, set, self.store);
        if let Some(explanation) = explanation {
            explanation.evaluations.push(self.evaluate_each(
                &request,
                action_name,
                resource,
                columns,
                &response,
            ));
        }
        let diagnostics = response.diagnostics();
        let errors: Vec<Reason> = diagnostics
            .errors()
            .map(|e| match e {
                cedar_policy::AuthorizationError::PolicyEvaluationError(err) => Reason {
                    policy: Some(err.policy_id().to_string()),
                    message: format!(
                        "policy `{}` failed to evaluate: {}",
                        err.policy_id(),
                        err.inner()
                    ),
                },
            })
            .collect();
        if !errors.is_empty() {
            // An evaluation error decides nothing: deny (fail closed).
            return Answer {
                allowed: false,
                errored: true,
                reasons: errors,
            };
        }
        let allowed = response.decision() == CedarDecision::Allow;
        let mut ids: Vec<&str> = diagnostics.reason().map(AsRef::as_ref).collect();
        ids.sort_by_key(|id| self.policies.order.get(*id).copied().unwrap_or(usize::MAX));
        Answer {
            allowed,
            errored: false,
            reasons: reasons(self.policies, which, resource, allowed, ids.into_iter()),
        }
    }

    /// Every policy's outcome for one request (policy by policy).
    fn evaluate_each(
        &self,
        request: &Request,
        action: &str,
        resource: &EntityUid,
        columns: &[String],
        response: &cedar_policy::Response,
    ) -> Evaluation {
        let cedar = &self.policies.cedar;
        let policies = cedar
            .infos
            .iter()
            .zip(&cedar.singles)
            .map(|(info, single): (&PolicyInfo, &PolicySet)| {
                let alone = self
                    .policies
                    .authorizer
                    .is_authorized(request, single, self.store);
                let error = alone.diagnostics().errors().next().map(ToString::to_string);
                let satisfied = alone.diagnostics().reason().next().is_some();
                let outcome = match (&error, satisfied) {
                    (Some(_), _) => PolicyOutcome::Errored,
                    (None, true) => PolicyOutcome::Satisfied,
                    (None, false) => PolicyOutcome::Skipped,
                };
                PolicyEvaluation {
                    id: info.id.clone(),
                    effect: info.effect.clone(),
                    outcome,
                    error,
                    file: info.file.clone(),
                    line: info.line,
                }
            })
            .collect();
        Evaluation {
            action: action.to_owned(),
            resource: resource.to_string(),
            columns: columns.to_vec(),
            allowed: response.decision() == CedarDecision::Allow
                && response.diagnostics().errors().next().is_none(),
            policies,
        }
    }
}
