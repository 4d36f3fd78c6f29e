//! One Cedar question (an action of the request on one resource), answered with
//! reasons ready for a decision and, when asked, every policy's own outcome.

use cedar_policy::{Context, Decision as CedarDecision, Entities, EntityUid, PolicySet, Request};

use super::decision::{Evaluation, Explanation, PolicyEvaluation, PolicyOutcome, Reason};
use super::policies::{AccessPolicies, PolicyInfo};

/// The actions of Charter's model.
#[derive(Debug, Clone, Copy)]
pub(super) enum Action {
    Query,
    Read,
    ReadMasked,
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
    pub(super) fn ask(
        &self,
        which: Action,
        resource: &EntityUid,
        columns: &[String],
        explanation: Option<&mut Explanation>,
    ) -> Answer {
        let model = &self.policies.model;
        let (action, set) = match which {
            Action::Query => (&model.query, &self.policies.per_action[0]),
            Action::Read => (&model.read, &self.policies.per_action[1]),
            Action::ReadMasked => (&model.read_masked, &self.policies.per_action[2]),
        };
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
        let verb = if allowed { "permitted" } else { "forbidden" };
        let mut reasons: Vec<Reason> = ids
            .into_iter()
            .map(|id| Reason {
                policy: Some(id.to_owned()),
                message: format!("{action_name} {verb} by `{id}`"),
            })
            .collect();
        if reasons.is_empty() {
            let on = if resource.type_name() == &self.policies.model.column {
                "the column".to_owned()
            } else {
                format!("`{}`", resource.id().unescaped())
            };
            reasons.push(Reason::message(format!(
                "no policy permits `{action_name}` on {on}"
            )));
        }
        Answer {
            allowed,
            errored: false,
            reasons,
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
