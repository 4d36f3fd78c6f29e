//! The policy side of access decisions, prepared once per pack revision: the Cedar
//! schema and every policy (by `@id`, with file and line), strictly validated; the
//! access settings; the compiled row-filter rule.

use std::collections::{BTreeSet, HashMap};
use std::str::FromStr;

use cedar_policy::ffi::DetailedError;
use cedar_policy::{
    ActionConstraint, Authorizer, Effect, Entities, Entity, EntityUid, Policy, PolicyId, PolicySet,
    Schema, SchemaFragment, ValidationMode, Validator,
};
use serde::{Deserialize, Serialize};
use serde_json::Value as Json;

use super::entities::{COLUMN_ATTRIBUTES, ClassKeyFields, Model};
use super::error::AccessError;
use super::row_filter::RowFilterRule;
use super::settings::AccessSettings;
use crate::pack::PolicyPack;

/// One Cedar policy of the pack.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyInfo {
    /// The policy's `@id`.
    pub id: String,
    /// `permit` or `forbid`.
    pub effect: String,
    /// The file, relative to the pack (`cedar/products.cedar`).
    pub file: String,
    /// 1-based line where the policy starts.
    pub line: u32,
}

/// The policy side of access decisions, prepared once per pack revision: the
/// validated Cedar policies and schema, the access settings and the compiled
/// row-filter rule. Share it between engines built for successive meshes.
#[derive(Debug)]
pub struct AccessPolicies {
    pub(crate) cedar: CedarPolicies,
    pub(crate) model: Model,
    pub(crate) settings: AccessSettings,
    pub(crate) row_filters: Option<RowFilterRule>,
    pub(crate) key_fields: ClassKeyFields,
    /// Policy id → index in `cedar.infos` (file order).
    pub(crate) order: HashMap<String, usize>,
    /// Action entities, when the schema groups actions (policies may ask `action in …`).
    pub(crate) actions: Vec<Entity>,
    /// The policies whose action scope can hold for `query`, `read` and `readMasked`
    /// (the others can neither be satisfied nor fail for that action).
    pub(crate) per_action: [PolicySet; 3],
    pub(crate) authorizer: Authorizer,
    pub(crate) revision: String,
}

impl AccessPolicies {
    /// Parses and strictly validates the pack's Cedar schema and policies, reads the
    /// access settings and compiles the row-filter rule.
    ///
    /// # Errors
    /// No schema; a schema or policy that does not parse; a policy without a unique
    /// `@id`; a policy that does not validate (with file, line and the validator's
    /// message); a bad `access` setting; row-filter rules that do not compile.
    pub fn from_pack(pack: &PolicyPack) -> Result<Self, AccessError> {
        let cedar = CedarPolicies::load(pack)?;
        let model = Model::new()?;
        let settings = AccessSettings::from_settings(pack.settings())?;
        let row_filters = RowFilterRule::compile(pack, settings.row_filter_time_limit)?;
        let column_literals = cedar
            .literals
            .iter()
            .any(|uid| uid.type_name() == &model.column);
        let key_fields = ClassKeyFields::new(&cedar.column_attributes, column_literals);
        let order = cedar
            .infos
            .iter()
            .enumerate()
            .map(|(i, p)| (p.id.clone(), i))
            .collect();
        let schema_actions = cedar
            .schema
            .action_entities()
            .map_err(|e| AccessError::Entities(format!("schema actions: {e}")))?;
        let grouped = schema_actions.iter().any(|a| {
            schema_actions
                .ancestors(&a.uid())
                .is_some_and(|mut it| it.next().is_some())
        });
        let actions = if grouped {
            schema_actions.iter().cloned().collect()
        } else {
            Vec::new()
        };
        let per_action = [&model.query, &model.read, &model.read_masked]
            .map(|action| cedar.for_action(action, &schema_actions));
        Ok(Self {
            cedar,
            model,
            settings,
            row_filters,
            key_fields,
            order,
            actions,
            per_action,
            authorizer: Authorizer::new(),
            revision: pack.revision().to_owned(),
        })
    }

    /// The uid of an action and the policies whose action scope can hold for it.
    pub(super) fn action(&self, which: super::ask::Action) -> (&EntityUid, &PolicySet) {
        use super::ask::Action;
        match which {
            Action::Query => (&self.model.query, &self.per_action[0]),
            Action::Read => (&self.model.read, &self.per_action[1]),
            Action::ReadMasked => (&self.model.read_masked, &self.per_action[2]),
        }
    }

    /// The policy at `index` in file order.
    pub(super) fn policy(&self, index: usize) -> Option<&Policy> {
        let id = self.cedar.infos.get(index)?;
        self.cedar.set.policy(&PolicyId::new(&id.id))
    }

    /// Every Cedar policy, in file order.
    #[must_use]
    pub fn policies(&self) -> &[PolicyInfo] {
        &self.cedar.infos
    }

    /// The validator's warnings (`file:line: policy `id`: message`); they do not refuse the pack.
    #[must_use]
    pub fn warnings(&self) -> &[String] {
        &self.cedar.warnings
    }

    /// The pack revision the policies came from.
    #[must_use]
    pub fn revision(&self) -> &str {
        &self.revision
    }

    /// Whether the pack has a `charter.access.row_filters` rule.
    #[must_use]
    pub fn has_row_filters(&self) -> bool {
        self.row_filters.is_some()
    }
}

/// The pack's Cedar policies and schema, parsed and validated.
#[derive(Debug)]
pub(crate) struct CedarPolicies {
    pub set: PolicySet,
    pub schema: Schema,
    pub infos: Vec<PolicyInfo>,
    /// One single-policy set per entry of `infos` (for explanations).
    pub singles: Vec<PolicySet>,
    /// Attribute names read or tested (`resource.pii`, `resource has masking`) by the
    /// policies that may apply to a `Column` (not those scoped to another resource type,
    /// as `resource is DataProduct`): the column attributes that can change a decision.
    pub column_attributes: AttributeUse,
    /// Entity literals of the policies, other than actions.
    pub literals: Vec<EntityUid>,
    /// Validator warnings, as `file:line: message`.
    pub warnings: Vec<String>,
}

impl CedarPolicies {
    /// Parses the schema and every policy of `pack`, and validates them strictly.
    pub fn load(pack: &PolicyPack) -> Result<Self, AccessError> {
        let schema = load_schema(pack)?;
        let files: Vec<_> = pack.files_in("cedar", ".cedar").collect();
        let mut collected = Collected::default();
        for (file_index, file) in files.iter().enumerate() {
            for (line, policy) in parse_file(&file.path, &file.text)? {
                collected.add(&file.path, file_index, line, &policy)?;
            }
        }
        let Collected {
            set,
            infos,
            singles,
            origin,
        } = collected;
        let texts: Vec<&str> = files.iter().map(|f| f.text.as_str()).collect();
        let warnings = validate(&schema, &set, &infos, &origin, &texts)?;
        let mut column_attributes = AttributeUse::default();
        let mut literals = Vec::new();
        for policy in set.policies() {
            // A policy whose JSON form cannot be had counts as reading every attribute.
            match policy.to_json() {
                Ok(json) if !may_apply_to_columns(&json) => {}
                Ok(json) => collect_attributes(&json, None, &mut column_attributes),
                Err(_) => column_attributes
                    .read
                    .extend(COLUMN_ATTRIBUTES.map(str::to_owned)),
            }
            for uid in policy.entity_literals() {
                if uid.type_name().basename() != "Action" && !literals.contains(&uid) {
                    literals.push(uid);
                }
            }
        }
        Ok(Self {
            set,
            schema,
            infos,
            singles,
            column_attributes,
            literals,
            warnings,
        })
    }
}

/// The policies of the pack as they are read, file by file.
#[derive(Default)]
struct Collected {
    set: PolicySet,
    infos: Vec<PolicyInfo>,
    singles: Vec<PolicySet>,
    /// Policy id → (file, index of the file).
    origin: HashMap<String, (String, usize)>,
}

impl Collected {
    /// Adds `policy` under its `@id`, which must be there and unique.
    fn add(
        &mut self,
        path: &str,
        file_index: usize,
        line: u32,
        policy: &Policy,
    ) -> Result<(), AccessError> {
        let refuse = |message: String| AccessError::PolicyId {
            file: path.to_owned(),
            line,
            message,
        };
        let Some(id) = policy
            .annotation("id")
            .map(str::trim)
            .filter(|id| !id.is_empty())
        else {
            return Err(refuse(
                "policy has no `@id(\"…\")` annotation; every policy needs a unique id".into(),
            ));
        };
        if let Some(first) = self.infos.iter().find(|i| i.id == id) {
            return Err(refuse(format!(
                "policy id `{id}` is already used at {}:{}",
                first.file, first.line
            )));
        }
        let renamed = policy.new_id(PolicyId::new(id));
        let single =
            PolicySet::from_policies([renamed.clone()]).map_err(|e| refuse(e.to_string()))?;
        self.set.add(renamed).map_err(|e| refuse(e.to_string()))?;
        self.singles.push(single);
        self.origin
            .insert(id.to_owned(), (path.to_owned(), file_index));
        self.infos.push(PolicyInfo {
            id: id.to_owned(),
            effect: effect_name(policy.effect()).to_owned(),
            file: path.to_owned(),
            line,
        });
        Ok(())
    }
}

/// The static policies of one file with their lines, in file order; templates are refused.
fn parse_file(path: &str, text: &str) -> Result<Vec<(u32, Policy)>, AccessError> {
    let parsed = PolicySet::from_str(text).map_err(|e| {
        let (line, message) = located(&DetailedError::from(&e), text);
        AccessError::Parse {
            file: path.to_owned(),
            line,
            message,
        }
    })?;
    if let Some(template) = parsed.templates().next() {
        let line = line_of_text(text, &template.to_cedar());
        return Err(AccessError::PolicyId {
            file: path.to_owned(),
            line,
            message: "policy templates are not supported: write static policies".into(),
        });
    }
    let mut policies: Vec<(u32, Policy)> = parsed
        .policies()
        .map(|p| {
            (
                p.to_cedar()
                    .as_deref()
                    .map_or(1, |src| line_of_text(text, src)),
                p.clone(),
            )
        })
        .collect();
    policies.sort_by_key(|(line, _)| *line);
    Ok(policies)
}

/// Strict validation against the schema: the first error (in policy order) fails the
/// load, naming its file and line; warnings come back as `file:line: message`.
fn validate(
    schema: &Schema,
    set: &PolicySet,
    infos: &[PolicyInfo],
    origin: &HashMap<String, (String, usize)>,
    texts: &[&str],
) -> Result<Vec<String>, AccessError> {
    let result = Validator::new(schema.clone()).validate(set, ValidationMode::Strict);
    let place = |policy: &PolicyId, detail: &DetailedError| -> (String, u32, String) {
        match origin.get(id_str(policy)) {
            Some((path, index)) => {
                let (line, message) = located(detail, texts[*index]);
                (path.clone(), line, message)
            }
            None => ("cedar".to_owned(), 1, detail.message.clone()),
        }
    };
    let mut errors = result.validation_errors().collect::<Vec<_>>();
    errors.sort_by_key(|e| infos.iter().position(|i| i.id == id_str(e.policy_id())));
    if let Some(first) = errors.first() {
        let (file, line, mut message) = place(first.policy_id(), &DetailedError::from(*first));
        if errors.len() > 1 {
            message.push_str(&format!(
                " (and {} more validation errors)",
                errors.len() - 1
            ));
        }
        return Err(AccessError::Validation {
            file,
            line,
            policy: first.policy_id().to_string(),
            message,
        });
    }
    Ok(result
        .validation_warnings()
        .map(|w| {
            let (file, line, message) = place(w.policy_id(), &DetailedError::from(w));
            format!("{file}:{line}: policy `{}`: {message}", w.policy_id())
        })
        .collect())
}

impl CedarPolicies {
    /// The policies whose action scope holds for `action` (`action == A`, `action in
    /// [A, G]` with `A` in group `G`, or no action constraint).
    pub fn for_action(&self, action: &EntityUid, schema_actions: &Entities) -> PolicySet {
        let applies = |policy: &Policy| match policy.action_constraint() {
            ActionConstraint::Any => true,
            ActionConstraint::Eq(a) => &a == action,
            ActionConstraint::In(group) => group
                .iter()
                .any(|a| a == action || schema_actions.is_ancestor_of(a, action)),
        };
        let mut set = PolicySet::new();
        for policy in self.set.policies().filter(|p| applies(p)) {
            // Ids are unique in `self.set`, so adding cannot fail.
            let _ = set.add(policy.clone());
        }
        set
    }
}

fn load_schema(pack: &PolicyPack) -> Result<Schema, AccessError> {
    let mut fragments = Vec::new();
    for file in pack.files_in("cedar", ".cedarschema") {
        let (fragment, _warnings) =
            SchemaFragment::from_cedarschema_str(&file.text).map_err(|e| {
                let (line, message) = located(&DetailedError::from(&e), &file.text);
                AccessError::Schema {
                    file: file.path.clone(),
                    line,
                    message,
                }
            })?;
        fragments.push(fragment);
    }
    if fragments.is_empty() {
        return Err(AccessError::NoSchema);
    }
    Schema::from_schema_fragments(fragments).map_err(|e| {
        let detail = DetailedError::from(&e);
        AccessError::Schema {
            file: "cedar/*.cedarschema".into(),
            line: 1,
            message: full_message(&detail),
        }
    })
}

fn id_str(id: &PolicyId) -> &str {
    id.as_ref()
}

fn effect_name(effect: Effect) -> &'static str {
    match effect {
        Effect::Permit => "permit",
        Effect::Forbid => "forbid",
    }
}

/// The line of a diagnostic's first label in `text`, and its message with help.
fn located(detail: &DetailedError, text: &str) -> (u32, String) {
    let line = detail
        .source_locations
        .first()
        .map_or(1, |l| line_of_offset(text, l.loc.start));
    (line, full_message(detail))
}

fn full_message(detail: &DetailedError) -> String {
    match &detail.help {
        Some(help) => format!("{} ({help})", detail.message),
        None => detail.message.clone(),
    }
}

/// 1-based line of a byte offset.
pub(crate) fn line_of_offset(text: &str, offset: usize) -> u32 {
    let end = offset.min(text.len());
    let newlines = text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    u32::try_from(newlines + 1).unwrap_or(u32::MAX)
}

fn line_of_text(text: &str, needle: &str) -> u32 {
    text.find(needle)
        .map_or(1, |offset| line_of_offset(text, offset))
}

/// Whether a policy's resource scope admits a `Column`: not when it names another
/// entity type (`resource is DataProduct`, `resource == DataProduct::"…"`).
fn may_apply_to_columns(json: &Json) -> bool {
    let scope = &json["resource"];
    let named = match scope["op"].as_str() {
        Some("is") => scope["entity_type"].as_str(),
        Some("==") => scope["entity"]["type"].as_str(),
        _ => None,
    };
    named.is_none_or(|ty| ty == "Column")
}

/// How policies use attribute names: read (`resource.masking`), or only tested
/// (`resource has masking`: the value cannot change the decision, only its presence).
#[derive(Debug, Clone, Default)]
pub(crate) struct AttributeUse {
    /// Names whose value a policy reads.
    pub read: BTreeSet<String>,
    /// Names a policy tests with `has`.
    pub tested: BTreeSet<String>,
}

impl AttributeUse {
    /// Whether a policy reads or tests the name.
    pub fn mentions(&self, name: &str) -> bool {
        self.read.contains(name) || self.tested.contains(name)
    }
}

/// Every attribute name a policy reads (`.attr`) or tests (`has attr`), from its JSON form
/// (`key`: the key `json` sits under). An `attr` anywhere but under `has` counts as read.
fn collect_attributes(json: &Json, key: Option<&str>, out: &mut AttributeUse) {
    match json {
        Json::Object(map) => {
            if let Some(name) = map.get("attr").and_then(Json::as_str) {
                let into = if key == Some("has") {
                    &mut out.tested
                } else {
                    &mut out.read
                };
                into.insert(name.to_owned());
            }
            for (key, value) in map {
                collect_attributes(value, Some(key), out);
            }
        }
        Json::Array(items) => items.iter().for_each(|v| collect_attributes(v, None, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCHEMA: &str = include_str!("../../../policies/cedar/charter.cedarschema");

    fn column_attributes(policies: &str) -> AttributeUse {
        let pack = PolicyPack::from_files([
            ("cedar/charter.cedarschema", SCHEMA),
            ("cedar/test.cedar", policies),
        ])
        .unwrap();
        CedarPolicies::load(&pack).unwrap().column_attributes
    }

    #[test]
    fn column_attributes_are_what_policies_that_may_apply_to_columns_read_or_test() {
        let used = column_attributes(
            r#"
@id("masked-when-a-method-is-set")
permit (principal, action == Action::"readMasked", resource is Column)
when { resource has masking };

@id("pii-needs-a-role")
forbid (principal, action == Action::"read", resource is Column)
when { resource.pii } unless { principal.roles.contains("privacy") };

@id("restricted-products")
forbid (principal, action == Action::"query", resource is DataProduct)
when { resource has classification && resource.classification == "restricted" && resource.tags.contains("x") };

@id("any-resource")
forbid (principal, action, resource)
when { resource has type && resource.type == "blob" };
"#,
        );
        assert_eq!(used.tested, ["masking", "type"].map(str::to_owned).into());
        // Names, whatever entity they are read on (`principal.roles` too).
        assert_eq!(
            used.read,
            ["pii", "roles", "type"].map(str::to_owned).into()
        );
        assert!(used.mentions("masking") && !used.mentions("classification"));
    }
}
