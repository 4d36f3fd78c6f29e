//! Questions about resources that are not data products (a gateway's `todo`, `user`,
//! `report`…), decided by the pack's Cedar policies directly: principal `User::"<id>"`
//! as requests build it, action `Action::"<name>"`, resource `<Type>::"<id>"` with its
//! properties as attributes (typed by the schema), the request context as Cedar context.
//! Anything the schema does not describe, and any evaluation error, is a deny with its
//! reason.

use cedar_policy::{Context, Entities, Entity, EntityId, EntityUid, Request};

use super::decision::Reason;
use super::engine::AccessEngine;
use super::product_action::ActionDecision;
use super::request::{Principal, RequestError};

/// A resource of any type the pack's schema declares.
#[derive(Debug, Clone, PartialEq)]
pub struct OtherResource<'a> {
    /// The Cedar entity type, e.g. `todo`.
    pub kind: &'a str,
    /// The entity id.
    pub id: &'a str,
    /// Attributes, as JSON (an object, or `null` for none).
    pub properties: &'a serde_json::Value,
}

impl AccessEngine {
    /// Whether `principal` may do `action` on `resource`, asked of Cedar directly.
    ///
    /// # Errors
    /// Only a principal without an id.
    pub fn decide_other(
        &self,
        principal: &Principal,
        action: &str,
        resource: &OtherResource<'_>,
        context: &serde_json::Value,
    ) -> Result<ActionDecision, RequestError> {
        if principal.id.trim().is_empty() {
            return Err(RequestError::MissingPrincipal);
        }
        let (request, store) = match self.other_request(principal, action, resource, context) {
            Ok(asked) => asked,
            Err(why) => {
                return Ok(ActionDecision {
                    allowed: false,
                    product: None,
                    reasons: vec![Reason::message(why)],
                });
            }
        };
        let response =
            self.policies
                .authorizer
                .is_authorized(&request, &self.policies.cedar.set, &store);
        Ok(ActionDecision::from_response(
            &response,
            action,
            resource.kind,
            None,
        ))
    }

    /// The Cedar request and its entities (the principal, the resource as given, the
    /// actions), each checked against the pack's schema; `Err` says why not.
    fn other_request(
        &self,
        principal: &Principal,
        action: &str,
        resource: &OtherResource<'_>,
        context: &serde_json::Value,
    ) -> Result<(Request, Entities), String> {
        let schema = &self.policies.cedar.schema;
        let user = self
            .policies
            .model
            .principal(principal)
            .map_err(|e| format!("cannot build the principal entity: {e}"))?;
        let principal_uid = user.uid();
        let attrs = match resource.properties {
            serde_json::Value::Null => serde_json::json!({}),
            other => other.clone(),
        };
        let json = serde_json::json!({
            "uid": {"type": resource.kind, "id": resource.id},
            "attrs": attrs,
            "parents": [],
        });
        let entity = Entity::from_json_value(json, Some(schema)).map_err(|e| {
            format!(
                "resource `{}::{}` does not fit the pack's schema: {e}",
                resource.kind, resource.id
            )
        })?;
        let resource_uid = entity.uid();
        let action_uid = EntityUid::from_type_name_and_id(
            self.policies.model.query.type_name().clone(),
            EntityId::new(action),
        );
        let context = match context {
            serde_json::Value::Null => Ok(Context::empty()),
            value => Context::from_json_value(value.clone(), Some((schema, &action_uid))),
        }
        .map_err(|e| format!("the context does not fit the schema: {e}"))?;
        let request = Request::new(
            principal_uid,
            action_uid,
            resource_uid,
            context,
            Some(schema),
        )
        .map_err(|e| {
            format!(
                "the policy pack cannot decide `{action}` on `{}`: {e}",
                resource.kind
            )
        })?;
        let mut entities = vec![user, entity];
        entities.extend(self.policies.actions.iter().cloned());
        let store = Entities::from_entities(entities, None)
            .map_err(|e| format!("cannot build the entities of the request: {e}"))?;
        Ok((request, store))
    }
}
