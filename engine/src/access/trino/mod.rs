//! Trino's OPA access-control contract, decided over the mesh: what each operation of
//! the `trino-opa` plugin means for data products, independent of HTTP (the service
//! answers it; an export can compile the same meaning).
//!
//! - tables resolve to products by physical table `catalog.schema.table`;
//! - `SelectFromColumns` (and creating a view over them) is allowed only when the product
//!   may be queried and no listed column is denied (no column listed: the product alone);
//! - writes are the Cedar action `write`, DDL `manage` (see [`operation`]);
//! - `ExecuteQuery`, `AccessCatalog` and metadata listings are allowed for any caller;
//!   catalogs and schemas are listed to anyone, tables when the product may be queried,
//!   columns unless denied;
//! - a table no contract governs is denied unless the settings say
//!   `trino.ungoverned_tables: allow` (and never while a contract of the mesh is
//!   unreadable: its table might be the one asked about); `information_schema` tables
//!   are metadata, filtered by the listings above;
//! - any other operation is denied;
//! - row filters and masks on a governed table that cannot be decided are an error
//!   ([`TrinoFailure`]), never "no filter".

mod filters;
mod operation;
mod request;

pub use operation::{Operation, operation};
pub use request::{
    MalformedRequest, TrinoAction, TrinoCatalog, TrinoColumn, TrinoContext, TrinoFunction,
    TrinoIdentity, TrinoInput, TrinoRequest, TrinoResource, TrinoSchema, TrinoTable, TrinoUser,
};

use super::decision::{ColumnEffect, Decision, ProductEffect};
use super::engine::AccessEngine;
use super::mask::Dialect;
use super::product_action::ActionDecision;
use super::request::{AccessRequest, Principal, ProductRef};

/// Settings of the Trino contract (`trino:` in the pack's settings).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TrinoSettings {
    /// Allow tables no contract governs (`trino.ungoverned_tables: allow`); denied by default.
    pub allow_ungoverned: bool,
}

/// A bad `trino` setting.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("setting `trino.ungoverned_tables` must be `allow` or `deny`, not `{0}`")]
pub struct TrinoSettingsError(pub String);

impl TrinoSettings {
    /// Reads `trino.ungoverned_tables` (`allow` or `deny`, default `deny`) from the settings.
    ///
    /// # Errors
    /// Any other value.
    pub fn from_settings(settings: &serde_json::Value) -> Result<Self, TrinoSettingsError> {
        match settings.pointer("/trino/ungoverned_tables") {
            None | Some(serde_json::Value::Null) => Ok(Self::default()),
            Some(serde_json::Value::String(s)) if s == "allow" => Ok(Self {
                allow_ungoverned: true,
            }),
            Some(serde_json::Value::String(s)) if s == "deny" => Ok(Self::default()),
            Some(other) => Err(TrinoSettingsError(other.to_string())),
        }
    }
}

/// One question asked of the engine while answering Trino, for the decision log.
#[derive(Debug, Clone)]
pub enum Asked {
    /// A read decision (select, masks, row filters, listings).
    Access(Box<(AccessRequest, Decision)>),
    /// A `write` or `manage` decision on a product.
    Action {
        /// The table Trino named.
        table: String,
        /// The Cedar action.
        action: &'static str,
        /// The answer.
        decision: ActionDecision,
    },
    /// An operation decided without a product (open, ungoverned or unknown).
    Operation {
        /// Allowed or not.
        allowed: bool,
        /// Why.
        reason: String,
    },
}

/// An answer to Trino and every question asked for it.
#[derive(Debug, Clone)]
pub struct TrinoAnswer<T> {
    /// What Trino gets in `result`.
    pub result: T,
    /// What was decided on the way (each is logged).
    pub asked: Vec<Asked>,
}

/// A filter or mask that cannot be decided on a governed table: HTTP 500, never `{}`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct TrinoFailure(pub String);

/// Trino's questions over one access engine.
#[derive(Debug, Clone, Copy)]
pub struct Trino<'a> {
    engine: &'a AccessEngine,
    settings: TrinoSettings,
}

/// Whether a table is governed, and if not, what its fate is.
enum Governed {
    Yes,
    No { allowed: bool, reason: String },
}

impl<'a> Trino<'a> {
    /// Trino's questions over `engine`, with `settings`.
    #[must_use]
    pub fn new(engine: &'a AccessEngine, settings: TrinoSettings) -> Self {
        Self { engine, settings }
    }

    fn governed(&self, table: &str) -> Governed {
        let lower = table.to_ascii_lowercase();
        match self.engine.governs(&ProductRef::Table(table.to_owned())) {
            Some(_) => Governed::Yes,
            None if lower.split('.').nth(1) == Some("information_schema") => Governed::No {
                allowed: true,
                reason: format!("`{table}` is metadata, filtered per table and column"),
            },
            None if !self.settings.allow_ungoverned => Governed::No {
                allowed: false,
                reason: format!(
                    "no contract governs table `{table}` (settings: trino.ungoverned_tables is not `allow`)"
                ),
            },
            None if self.engine.unreadable_count() > 0 => Governed::No {
                allowed: false,
                reason: format!(
                    "no readable contract governs table `{table}`, but {} contract file(s) could not be read: it may be theirs",
                    self.engine.unreadable_count()
                ),
            },
            None => Governed::No {
                allowed: true,
                reason: format!(
                    "no contract governs table `{table}` (settings: trino.ungoverned_tables: allow)"
                ),
            },
        }
    }

    fn read(
        &self,
        principal: &Principal,
        table: &str,
        columns: &[String],
    ) -> (AccessRequest, Decision) {
        let request = AccessRequest {
            principal: principal.clone(),
            product: ProductRef::Table(table.to_owned()),
            columns: columns.to_vec(),
            purpose: None,
            dialect: Some(Dialect::Trino),
        };
        let decision = match self.engine.decide(&request) {
            Ok(d) => d,
            // The principal was checked by the caller; anything else malformed denies.
            Err(e) => deny_all(&request, &e.to_string(), self.engine),
        };
        (request, decision)
    }

    /// `SelectFromColumns`: the product may be queried and no listed column is denied.
    fn select(&self, principal: &Principal, table: &TrinoTable, asked: &mut Vec<Asked>) -> bool {
        let name = table.qualified();
        if let Governed::No { allowed, reason } = self.governed(&name) {
            asked.push(Asked::Operation { allowed, reason });
            return allowed;
        }
        let columns = table.columns.clone().unwrap_or_default();
        let (request, decision) = self.read(principal, &name, &columns);
        // No columns (`SELECT count(*)`, a table listing): the product alone decides; the
        // engine answers for every column then, and a denied one must not hide the table.
        let allowed = decision.product.effect == ProductEffect::Allow
            && (columns.is_empty()
                || decision
                    .columns
                    .iter()
                    .all(|c| c.effect != ColumnEffect::Deny));
        asked.push(Asked::Access(Box::new((request, decision))));
        allowed
    }

    fn change(
        &self,
        principal: &Principal,
        table: &TrinoTable,
        action: &'static str,
        asked: &mut Vec<Asked>,
    ) -> bool {
        let name = table.qualified();
        if let Governed::No { allowed, reason } = self.governed(&name) {
            asked.push(Asked::Operation { allowed, reason });
            return allowed;
        }
        let decision = self
            .engine
            .decide_action(principal, &ProductRef::Table(name.clone()), action)
            .unwrap_or_else(|e| ActionDecision {
                allowed: false,
                product: None,
                reasons: vec![super::decision::Reason {
                    policy: None,
                    message: e.to_string(),
                }],
            });
        let allowed = decision.allowed;
        asked.push(Asked::Action {
            table: name,
            action,
            decision,
        });
        allowed
    }

    /// `/allow`: the boolean for one operation.
    #[must_use]
    pub fn allow(&self, input: &TrinoInput, principal: &Principal) -> TrinoAnswer<bool> {
        let mut asked = Vec::new();
        let action = &input.action;
        let table = action.resource.as_ref().and_then(|r| r.table.as_ref());
        let op = operation(&action.operation);
        let result = match (op, table) {
            (Operation::Open, _) => {
                asked.push(open(&action.operation));
                true
            }
            (Operation::Select, Some(table)) => self.select(principal, table, &mut asked),
            (Operation::Write, Some(table)) => self.change(principal, table, "write", &mut asked),
            (Operation::Manage, Some(table)) => {
                let mut ok = self.change(principal, table, "manage", &mut asked);
                // A rename must also be allowed on the new name.
                if let Some(target) = action
                    .target_resource
                    .as_ref()
                    .and_then(|r| r.table.as_ref())
                {
                    ok &= self.change(principal, target, "manage", &mut asked);
                }
                ok
            }
            (Operation::OwnQuery, _) => {
                let owner = action.resource.as_ref().and_then(|r| r.user.as_ref());
                let allowed = owner.is_some_and(|o| o.user == principal.id);
                asked.push(Asked::Operation {
                    allowed,
                    reason: format!("`{}` on the caller's own queries only", action.operation),
                });
                allowed
            }
            (Operation::Filter, _) => match &action.resource {
                Some(resource) => {
                    self.filter_item(&action.operation, resource, principal, &mut asked)
                }
                None => false,
            },
            (Operation::BuiltinFunction, _) => {
                let function = action.resource.as_ref().and_then(|r| r.function.as_ref());
                let allowed = function.is_some_and(builtin);
                asked.push(Asked::Operation {
                    allowed,
                    reason: format!("`{}` on built-in functions only", action.operation),
                });
                allowed
            }
            _ => {
                asked.push(Asked::Operation {
                    allowed: false,
                    reason: format!(
                        "operation `{}` is not one Charter allows (or it names no table)",
                        action.operation
                    ),
                });
                false
            }
        };
        TrinoAnswer { result, asked }
    }
}

/// The log entry of an operation open to every caller.
fn open(operation: &str) -> Asked {
    Asked::Operation {
        allowed: true,
        reason: format!("`{operation}` is allowed for any caller"),
    }
}

/// A function of Trino's `system.builtin` schema (or named without a schema).
fn builtin(function: &TrinoFunction) -> bool {
    matches!(
        (
            function.catalog_name.as_deref(),
            function.schema_name.as_deref()
        ),
        (Some("system"), Some("builtin")) | (None, None)
    )
}

/// A deny for a request the engine refused as malformed.
fn deny_all(request: &AccessRequest, why: &str, engine: &AccessEngine) -> Decision {
    use super::decision::{ColumnDecision, Outcome, ProductDecision, Reason};
    Decision {
        decision: Outcome::Deny,
        decision_id: uuid::Uuid::now_v7().to_string(),
        revision: engine.revision(),
        product: ProductDecision {
            id: None,
            table: match &request.product {
                ProductRef::Table(t) => Some(t.clone()),
                ProductRef::Id(_) => None,
            },
            effect: ProductEffect::Deny,
        },
        columns: request
            .columns
            .iter()
            .map(|c| ColumnDecision {
                name: c.clone(),
                effect: ColumnEffect::Deny,
                mask_method: None,
                mask_expression: None,
                reasons: Vec::new(),
            })
            .collect(),
        row_filters: Vec::new(),
        reasons: vec![Reason {
            policy: None,
            message: why.to_owned(),
        }],
        dialect: Dialect::Trino,
        explanation: None,
    }
}
