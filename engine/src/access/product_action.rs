//! Other actions on a whole data product than `query`: `write` (insert, update, delete,
//! truncate) and `manage` (DDL: create, drop, rename, alter, comment), as query engines
//! ask them. One plain Cedar question over the product's entities; an action the pack's
//! schema does not declare, an unknown product or an evaluation error is a deny with
//! its reason.

use cedar_policy::{Context, Decision as CedarDecision, EntityId, EntityUid, Request};

use super::decision::Reason;
use super::engine::AccessEngine;
use super::request::{Principal, ProductRef, RequestError};

/// The answer to a product action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ActionDecision {
    /// Whether the action is allowed.
    pub allowed: bool,
    /// The product id, when the reference resolved to one.
    pub product: Option<String>,
    /// The determining policies, or why it is denied.
    pub reasons: Vec<Reason>,
}

impl AccessEngine {
    /// Whether `principal` may do `action` (a Cedar action on `DataProduct`, e.g. `write`
    /// or `manage`) on `product`.
    ///
    /// # Errors
    /// Only a principal without an id.
    pub fn decide_action(
        &self,
        principal: &Principal,
        product: &ProductRef,
        action: &str,
    ) -> Result<ActionDecision, RequestError> {
        if principal.id.trim().is_empty() {
            return Err(RequestError::MissingPrincipal);
        }
        let deny = |product: Option<String>, reasons: Vec<Reason>| ActionDecision {
            allowed: false,
            product,
            reasons,
        };
        let slot = match self.resolve(product) {
            Ok(slot) => slot,
            Err(reasons) => return Ok(deny(None, reasons)),
        };
        let id = Some(slot.entry.id.clone());
        let model = &self.policies.model;
        let entity = match model.principal(principal) {
            Ok(e) => e,
            Err(e) => {
                return Ok(deny(
                    id,
                    vec![Reason::message(format!(
                        "cannot build the principal entity: {e}"
                    ))],
                ));
            }
        };
        let principal_uid = entity.uid();
        let store = match slot.store.clone().add_entities([entity], None) {
            Ok(store) => store,
            Err(e) => {
                return Ok(deny(
                    id,
                    vec![Reason::message(format!(
                        "cannot build the entities of the request: {e}"
                    ))],
                ));
            }
        };
        let action_uid = EntityUid::from_type_name_and_id(
            model.query.type_name().clone(),
            EntityId::new(action),
        );
        let request = match Request::new(
            principal_uid,
            action_uid,
            slot.entry.uid.clone(),
            Context::empty(),
            Some(&self.policies.cedar.schema),
        ) {
            Ok(r) => r,
            Err(e) => {
                return Ok(deny(
                    id,
                    vec![Reason::message(format!(
                        "the policy pack cannot decide `{action}` on a data product: {e}"
                    ))],
                ));
            }
        };
        let response =
            self.policies
                .authorizer
                .is_authorized(&request, &self.policies.cedar.set, &store);
        Ok(ActionDecision::from_response(
            &response,
            action,
            &slot.entry.id,
            id,
        ))
    }
}

impl ActionDecision {
    /// Cedar's answer to `action` on `on` as a decision: an evaluation error denies; the
    /// reasons name the deciding policies, or say that none permits.
    pub(super) fn from_response(
        response: &cedar_policy::Response,
        action: &str,
        on: &str,
        product: Option<String>,
    ) -> Self {
        let errors: Vec<Reason> = response
            .diagnostics()
            .errors()
            .map(|e| Reason::message(format!("a policy failed to evaluate: {e}")))
            .collect();
        if !errors.is_empty() {
            return Self {
                allowed: false,
                product,
                reasons: errors,
            };
        }
        let allowed = response.decision() == CedarDecision::Allow;
        let mut reasons: Vec<Reason> = response
            .diagnostics()
            .reason()
            .map(|p| Reason {
                policy: Some(p.to_string()),
                message: format!(
                    "policy `{p}` {} `{action}`",
                    if allowed { "permits" } else { "forbids" }
                ),
            })
            .collect();
        if reasons.is_empty() {
            reasons.push(Reason::message(format!(
                "no policy permits `{action}` on `{on}`"
            )));
        }
        Self {
            allowed,
            product,
            reasons,
        }
    }
}
