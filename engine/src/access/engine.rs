//! The prepared access engine: built once per (pack revision, mesh revision), then
//! deciding requests concurrently (`Send + Sync`, share it in an `Arc`).
//!
//! Building makes the Cedar entities of every domain, product and column (checked
//! against the schema once), indexes products by id and by physical table, prepares
//! each product's entity store and row-filter input, and plans each product's
//! questions (see `ask.rs`). Deciding is in `evaluate.rs`.

use std::borrow::Borrow;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use rayon::prelude::*;

use cedar_policy::{Entities, Entity, EntityUid};

use super::ask::{Action, Plan, PlanKey, PlanSets, plan};
use super::decision::{Decision, Reason, Revision};
use super::entities::{Model, ProductEntities, ProductEntry, build_product, domain_entity};
use super::error::AccessError;
use super::policies::AccessPolicies;
use super::request::{AccessRequest, ProductRef, RequestError};
use super::row_filter_input::ProductInput;
use super::row_filter_memo::{Budget, RowFilterMemo};
use super::settings::AccessSettings;
use crate::contract::{Contract, Product};
use crate::mesh::Mesh;
use crate::pack::PolicyPack;

/// Where a product id or table leads.
#[derive(Debug, Clone)]
enum Target {
    Product(usize),
    /// Declared by more than one contract (fail closed).
    Ambiguous(Vec<String>),
}

#[derive(Debug)]
pub(super) struct Slot {
    pub(super) entry: ProductEntry,
    /// What policies can reach from this product, but the principal: its domain, the
    /// product, one column per class, the entities policies name literally, grouped
    /// actions. A request adds its principal to a clone.
    pub(super) store: Entities,
    /// How `query` on the product is answered.
    pub(super) query: Plan,
    /// How `read` and `readMasked` are answered, per class of columns.
    pub(super) classes: Vec<[Plan; 2]>,
    /// `input.product` of the row-filter rule, when the rule applies to this product.
    pub(super) rego: Option<ProductInput>,
    /// The rule's answers for the input shapes seen so far.
    pub(super) row_filters: RowFilterMemo,
}

/// Access decisions over one mesh with one policy pack.
///
/// ```no_run
/// # fn demo(pack: &charter_engine::PolicyPack, mesh: &charter_engine::mesh::Mesh) -> Result<(), Box<dyn std::error::Error>> {
/// use charter_engine::access::{AccessEngine, AccessRequest, Principal, ProductRef};
/// let engine = AccessEngine::new(pack, mesh)?;
/// let decision = engine.decide(&AccessRequest {
///     principal: Principal { id: "ana".into(), roles: vec!["analyst".into()], ..Default::default() },
///     product: ProductRef::Id("sales.orders".into()),
///     columns: vec!["order_id".into(), "email".into()],
///     purpose: None,
///     dialect: None,
/// })?;
/// println!("{}", serde_json::to_string(&decision)?);
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct AccessEngine {
    pub(super) policies: Arc<AccessPolicies>,
    mesh_revision: String,
    slots: Vec<Slot>,
    by_id: HashMap<String, Target>,
    by_table: HashMap<String, Target>,
    unreadable: Vec<String>,
    /// How many row-filter answers all products remember together.
    pub(super) remembered: Budget,
}

const _: () = {
    const fn shareable<T: Send + Sync>() {}
    shareable::<AccessEngine>();
    shareable::<AccessPolicies>();
};

impl AccessEngine {
    /// Prepares the pack and builds the engine for `mesh`.
    ///
    /// # Errors
    /// See [`AccessPolicies::from_pack`] and [`AccessEngine::with_policies`].
    pub fn new(pack: &PolicyPack, mesh: &Mesh) -> Result<Self, AccessError> {
        Self::with_policies(Arc::new(AccessPolicies::from_pack(pack)?), mesh)
    }

    /// Builds the engine for `mesh` with already prepared policies: every `Domain`,
    /// `DataProduct` and `Column` entity, checked against the schema once.
    ///
    /// # Errors
    /// The schema does not describe the entities Charter builds.
    pub fn with_policies(policies: Arc<AccessPolicies>, mesh: &Mesh) -> Result<Self, AccessError> {
        Self::build(policies, MeshSource::Borrowed(mesh))
    }

    /// [`AccessEngine::with_policies`], taking the mesh: each contract is dropped as soon as
    /// its product is built, so a large mesh and its engine are not held at once.
    ///
    /// # Errors
    /// See [`AccessEngine::with_policies`].
    pub fn from_mesh(policies: Arc<AccessPolicies>, mesh: Mesh) -> Result<Self, AccessError> {
        Self::build(policies, MeshSource::Owned(mesh))
    }

    fn build(policies: Arc<AccessPolicies>, mesh: MeshSource<'_>) -> Result<Self, AccessError> {
        let contracts = mesh.get().contracts();
        let identities = Identities::of(contracts);
        // A product of several tables also gets one slot per table, which requests by
        // physical table resolve to.
        let jobs = identities.slot_jobs(contracts);
        let targets = Targets {
            contracts,
            identities: &identities,
            slot_of: jobs
                .iter()
                .enumerate()
                .map(|(i, &(ci, table))| ((ci, table), i))
                .collect(),
        };
        let by_id = targets.by_id();
        let by_table = targets.by_table();
        let literals = literal_entities(contracts, &jobs, &policies)?;
        let bases = domain_stores(contracts, &literals, &policies)?;
        let mut tables_of: Vec<Vec<Option<String>>> = vec![Vec::new(); contracts.len()];
        for &(ci, table) in &jobs {
            tables_of[ci].push(table.map(str::to_owned));
        }
        let mesh_revision = mesh.get().revision().to_owned();
        let unreadable = mesh
            .get()
            .failures()
            .iter()
            .map(|f| f.file.clone())
            .collect();
        // Per contract, in parallel: its slots (entities checked against the schema, the
        // entity store, the plans' keys and the row-filter rule's input).
        let context = SlotContext {
            policies: &policies,
            bases: &bases,
        };
        let built = match mesh {
            MeshSource::Borrowed(mesh) => context.all(mesh.contracts().par_iter(), tables_of)?,
            MeshSource::Owned(mesh) => {
                context.all(mesh.into_contracts().into_par_iter(), tables_of)?
            }
        };
        check_principal(&policies)?;
        let slots = plan_slots(built, &policies);
        Ok(Self {
            policies,
            mesh_revision,
            slots,
            by_id,
            by_table,
            unreadable,
            remembered: Budget::default(),
        })
    }

    /// The prepared policies (to build the engine of the next mesh revision with).
    #[must_use]
    pub fn policies(&self) -> &Arc<AccessPolicies> {
        &self.policies
    }

    /// The revisions decisions report.
    #[must_use]
    pub fn revision(&self) -> Revision {
        Revision {
            policies: self.policies.revision.clone(),
            mesh: self.mesh_revision.clone(),
        }
    }

    /// How many products can be decided.
    #[must_use]
    pub fn product_count(&self) -> usize {
        self.slots
            .iter()
            .filter(|s| s.entry.table.is_none())
            .count()
    }

    /// Decides a request. Anything that cannot be decided is denied, with a reason.
    ///
    /// # Errors
    /// Only a malformed request (see [`AccessRequest::check`]).
    pub fn decide(&self, request: &AccessRequest) -> Result<Decision, RequestError> {
        self.run(request, false)
    }

    /// Decides a request and records every policy evaluated for each action asked
    /// ([`Decision::explanation`]). Slower: for people, not for query engines.
    ///
    /// # Errors
    /// Only a malformed request (see [`AccessRequest::check`]).
    pub fn explain(&self, request: &AccessRequest) -> Result<Decision, RequestError> {
        self.run(request, true)
    }

    /// Every mesh entity (`Domain`, `DataProduct`, `Column`) in Cedar's entities JSON
    /// format, for running the same request through Cedar's own tooling: each product's
    /// domain (once), the product, then its columns, in the mesh's file order.
    ///
    /// # Errors
    /// Cedar cannot serialize an entity (not expected for entities built here).
    pub fn entities_json(&self) -> Result<serde_json::Value, AccessError> {
        self.all_entities()?
            .iter()
            .map(|e| {
                e.to_json_value()
                    .map_err(|err| AccessError::Entities(err.to_string()))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(serde_json::Value::Array)
    }

    fn all_entities(&self) -> Result<Vec<Entity>, AccessError> {
        let mut seen = HashSet::new();
        let mut out = Vec::new();
        for slot in &self.slots {
            let e = &slot.entry;
            let stored = |uid: &EntityUid| {
                slot.store.get(uid).cloned().ok_or_else(|| {
                    AccessError::Entities(format!(
                        "entity {uid} is missing from its product's store"
                    ))
                })
            };
            let heads = [stored(&e.domain_uid)?, stored(&e.uid)?];
            let columns = e.column_entities(&self.policies.model)?;
            for entity in heads.into_iter().chain(columns) {
                if seen.insert(entity.uid()) {
                    out.push(entity);
                }
            }
        }
        Ok(out)
    }

    /// Whether a product id or table is governed: declared by exactly one contract
    /// (`Some(true)`), by several (`Some(false)`: it cannot be decided), or by none
    /// (`None`).
    #[must_use]
    pub fn governs(&self, product: &ProductRef) -> Option<bool> {
        let target = match product {
            ProductRef::Id(id) => self.by_id.get(id.trim()),
            ProductRef::Table(table) => self.by_table.get(&table.trim().to_ascii_lowercase()),
        };
        target.map(|t| matches!(t, Target::Product(_)))
    }

    /// How many contract files of the mesh could not be read (their products, and so
    /// their tables, are unknown).
    #[must_use]
    pub fn unreadable_count(&self) -> usize {
        self.unreadable.len()
    }

    pub(super) fn resolve(&self, product: &ProductRef) -> Result<&Slot, Vec<Reason>> {
        let target = match product {
            ProductRef::Id(id) => self.by_id.get(id.trim()),
            ProductRef::Table(table) => self.by_table.get(&table.trim().to_ascii_lowercase()),
        };
        match target {
            Some(Target::Product(i)) => Ok(&self.slots[*i]),
            Some(Target::Ambiguous(by)) => Err(vec![Reason::message(format!(
                "{product} is declared by more than one contract ({}): it cannot be decided",
                by.join(", ")
            ))]),
            None => {
                let mut reasons = vec![Reason::message(format!("{product} is not in the mesh"))];
                if !self.unreadable.is_empty() {
                    let shown_files: Vec<&str> =
                        self.unreadable.iter().take(5).map(String::as_str).collect();
                    let more = self.unreadable.len().saturating_sub(shown_files.len());
                    reasons.push(Reason::message(format!(
                        "{} contract file(s) of the mesh could not be read ({}{}); their products are unknown",
                        self.unreadable.len(),
                        shown_files.join(", "),
                        if more > 0 { format!(" and {more} more") } else { String::new() }
                    )));
                }
                Err(reasons)
            }
        }
    }
}

/// Who declares what: a contract is identified by its ODCS contract id, or by its product
/// id. A contract whose identity more than one file declares cannot be decided safely;
/// nor can a product id or a table that several contracts declare.
struct Identities<'a> {
    files_of: HashMap<String, Vec<String>>,
    contracts_of_id: HashMap<&'a str, Vec<usize>>,
}

impl<'a> Identities<'a> {
    fn identity(p: &Product) -> String {
        match &p.contract_id {
            Some(id) => format!("contract:{id}"),
            None => format!("product:{}", p.id),
        }
    }

    fn of(contracts: &'a [Contract]) -> Self {
        let mut files_of: HashMap<String, Vec<String>> = HashMap::new();
        let mut contracts_of_id: HashMap<&str, Vec<usize>> = HashMap::new();
        for (ci, contract) in contracts.iter().enumerate() {
            let p = &contract.product;
            files_of
                .entry(Self::identity(p))
                .or_default()
                .push(p.source.file.clone());
            contracts_of_id.entry(&p.id).or_default().push(ci);
        }
        Self {
            files_of,
            contracts_of_id,
        }
    }

    /// The files declaring `p`'s identity, when more than one does.
    fn duplicated(&self, p: &Product) -> Option<Vec<String>> {
        self.files_of
            .get(&Self::identity(p))
            .filter(|files| files.len() > 1)
            .cloned()
    }

    /// The slots to build: every contract whose identity is its own, and each table of a
    /// product of several.
    fn slot_jobs(&self, contracts: &'a [Contract]) -> Vec<(usize, Option<&'a str>)> {
        contracts
            .iter()
            .enumerate()
            .filter(|(_, c)| self.duplicated(&c.product).is_none())
            .flat_map(|(ci, c)| {
                let p = &c.product;
                let tables: Vec<Option<&str>> = if p.tables.len() > 1 {
                    p.tables.iter().map(|t| Some(t.name.as_str())).collect()
                } else {
                    Vec::new()
                };
                std::iter::once((ci, None)).chain(tables.into_iter().map(move |t| (ci, t)))
            })
            .collect()
    }
}

/// Where requests by product id and by physical table resolve to.
struct Targets<'a> {
    contracts: &'a [Contract],
    identities: &'a Identities<'a>,
    slot_of: HashMap<(usize, Option<&'a str>), usize>,
}

impl Targets<'_> {
    fn target(&self, ci: usize, table: Option<&str>) -> Target {
        let product = &self.contracts[ci].product;
        if let Some(files) = self.identities.duplicated(product) {
            return Target::Ambiguous(files);
        }
        let scoped = table.filter(|_| product.tables.len() > 1);
        self.slot_of
            .get(&(ci, scoped))
            .or_else(|| self.slot_of.get(&(ci, None)))
            .map_or_else(|| Target::Ambiguous(Vec::new()), |&i| Target::Product(i))
    }

    fn by_id(&self) -> HashMap<String, Target> {
        self.identities
            .contracts_of_id
            .iter()
            .map(|(id, cis)| {
                let target = match cis.as_slice() {
                    [ci] => self.target(*ci, None),
                    _ => Target::Ambiguous(
                        cis.iter()
                            .map(|&ci| self.contracts[ci].product.source.file.clone())
                            .collect(),
                    ),
                };
                ((*id).to_owned(), target)
            })
            .collect()
    }

    /// Tables, trimmed and in ASCII lower case; one two contracts name is ambiguous.
    fn by_table(&self) -> HashMap<String, Target> {
        let mut by_table: HashMap<String, Target> = HashMap::new();
        let mut table_owner: HashMap<String, usize> = HashMap::new();
        for (ci, contract) in self.contracts.iter().enumerate() {
            for interface in &contract.product.interfaces {
                let table = interface.table.trim().to_ascii_lowercase();
                if table.is_empty() {
                    continue;
                }
                let serves = Some(interface.serves.as_str()).filter(|s| !s.is_empty());
                match table_owner.get(&table) {
                    Some(&owner) if owner != ci => {
                        let owners = vec![
                            self.contracts[owner].product.source.file.clone(),
                            contract.product.source.file.clone(),
                        ];
                        by_table.insert(table, Target::Ambiguous(owners));
                    }
                    Some(_) => {}
                    None => {
                        table_owner.insert(table.clone(), ci);
                        by_table.insert(table, self.target(ci, serves));
                    }
                }
            }
        }
        by_table
    }
}

/// Where the engine's contracts come from: read only, or taken (and dropped one by one).
enum MeshSource<'a> {
    Borrowed(&'a Mesh),
    Owned(Mesh),
}

impl MeshSource<'_> {
    fn get(&self) -> &Mesh {
        match self {
            Self::Borrowed(mesh) => mesh,
            Self::Owned(mesh) => mesh,
        }
    }
}

/// The plans' keys of a slot: `query`, and `read` / `readMasked` per class.
type SlotKeys = (PlanKey, Vec<[PlanKey; 2]>);

/// What building a product's slots shares.
struct SlotContext<'a> {
    policies: &'a AccessPolicies,
    /// Per domain, the store its products' stores start from.
    bases: &'a HashMap<EntityUid, Entities>,
}

impl SlotContext<'_> {
    /// The slots of every contract, in order (`tables_of`: each contract's slots to build).
    fn all<C: Borrow<Contract> + Send>(
        &self,
        contracts: impl IndexedParallelIterator<Item = C>,
        tables_of: Vec<Vec<Option<String>>>,
    ) -> Result<Vec<(Slot, SlotKeys)>, AccessError> {
        contracts
            .zip(tables_of)
            .flat_map_iter(|(contract, tables)| self.slots(&contract.borrow().product, tables))
            .collect()
    }

    /// The slots of one product (one per entry of `tables`), with their plans' keys.
    fn slots(
        &self,
        product: &Product,
        tables: Vec<Option<String>>,
    ) -> Vec<Result<(Slot, SlotKeys), AccessError>> {
        let policies = self.policies;
        tables
            .iter()
            .map(|table| {
                let (mut slot, heads) = build_slot(product, table.as_deref(), policies)?;
                let base = self.bases.get(&slot.entry.domain_uid).ok_or_else(|| {
                    AccessError::Entities(format!("product `{}`: no domain store", slot.entry.id))
                })?;
                slot.store = product_store(&slot, &heads, base, policies)?;
                let keys = plan_keys(&slot, policies);
                Ok((slot, keys))
            })
            .collect()
    }
}

/// Plans from their keys, equal policy subsets shared between slots.
fn plan_slots(built: Vec<(Slot, SlotKeys)>, policies: &AccessPolicies) -> Vec<Slot> {
    let mut sets = PlanSets::default();
    built
        .into_iter()
        .map(|(mut slot, (query, classes))| {
            slot.query = sets.plan(query, policies);
            slot.classes = classes
                .into_iter()
                .map(|[read, masked]| [sets.plan(read, policies), sets.plan(masked, policies)])
                .collect();
            slot
        })
        .collect()
}

/// Per domain, the entities every store of its products starts from: the `Domain`, the
/// entities policies name literally and the grouped actions. Cedar keeps entities behind
/// `Arc`s, so the products' stores share them instead of holding a copy each (a Cedar
/// entity with attributes takes kilobytes).
fn domain_stores(
    contracts: &[Contract],
    literals: &[Entity],
    policies: &AccessPolicies,
) -> Result<HashMap<EntityUid, Entities>, AccessError> {
    let mut bases: HashMap<EntityUid, Entities> = HashMap::new();
    for contract in contracts {
        let product = &contract.product;
        let uid = Model::uid(&policies.model.domain, &product.domain);
        if bases.contains_key(&uid) {
            continue;
        }
        let mut entities = vec![domain_entity(product, &policies.model)?];
        entities.extend(literals.iter().filter(|l| l.uid() != uid).cloned());
        entities.extend(policies.actions.iter().cloned());
        let store = Entities::from_entities(entities, None)
            .map_err(|err| AccessError::Entities(format!("domain `{uid}`: {err}")))?;
        bases.insert(uid, store);
    }
    Ok(bases)
}

fn row_filter_applies(settings: &AccessSettings, entry: &ProductEntry) -> bool {
    match &settings.row_filter_columns {
        None => true,
        Some(columns) => columns.iter().any(|c| entry.column(c).is_some()),
    }
}

/// A product's store: its domain's, with the product and its classes' representatives
/// (with the attributes policies read) added.
fn product_store(
    slot: &Slot,
    heads: &ProductEntities,
    base: &Entities,
    policies: &AccessPolicies,
) -> Result<Entities, AccessError> {
    let e = &slot.entry;
    let mut entities: Vec<Entity> = vec![heads.product.clone()];
    for class in &e.classes {
        entities.push(e.column_entity_reading(
            &policies.model,
            class.representative,
            |attribute| policies.cedar.column_attributes.mentions(attribute),
        )?);
    }
    // A literal the policies name is already there, with every attribute.
    entities.retain(|entity| base.get(&entity.uid()).is_none());
    base.clone()
        .add_entities(entities, None)
        .map_err(|err| AccessError::Entities(format!("product `{}`: {err}", e.id)))
}

/// The entities of one product, checked against the schema, and its row-filter input;
/// with its `Domain` and `DataProduct` entities, for its store.
fn build_slot(
    product: &Product,
    table: Option<&str>,
    policies: &AccessPolicies,
) -> Result<(Slot, ProductEntities), AccessError> {
    let (entry, heads) = build_product(
        product,
        table,
        &policies.model,
        &policies.settings,
        &policies.key_fields,
    )?;
    let mut entities = vec![heads.domain.clone(), heads.product.clone()];
    entities.extend(entry.column_entities(&policies.model)?);
    Entities::from_entities(entities, Some(&policies.cedar.schema))
        .map_err(|e| AccessError::Entities(format!("product `{}`: {e}", entry.id)))?;
    let rego = policies
        .row_filters
        .as_ref()
        .filter(|_| row_filter_applies(&policies.settings, &entry))
        .map(|_| ProductInput::of(product, table));
    let slot = Slot {
        entry,
        store: Entities::empty(),
        query: Plan::Known {
            allowed: false,
            reasons: Vec::new(),
        },
        classes: Vec::new(),
        rego,
        row_filters: RowFilterMemo::default(),
    };
    Ok((slot, heads))
}

/// Checks that a principal as requests build it conforms to the schema.
fn check_principal(policies: &AccessPolicies) -> Result<(), AccessError> {
    let sample = super::request::Principal {
        id: "schema-check".into(),
        roles: vec!["role".into()],
        groups: vec!["group".into()],
        attributes: [("attribute".to_owned(), "value".to_owned())].into(),
    };
    let principal = policies
        .model
        .principal(&sample)
        .map_err(AccessError::Entities)?;
    Entities::from_entities([principal], Some(&policies.cedar.schema))
        .map(drop)
        .map_err(|e| AccessError::Entities(format!("the principal: {e}")))
}

/// The mesh entities policies name literally, and their ancestors.
fn literal_entities(
    contracts: &[Contract],
    jobs: &[(usize, Option<&str>)],
    policies: &AccessPolicies,
) -> Result<Vec<Entity>, AccessError> {
    let wanted: HashSet<&EntityUid> = policies.cedar.literals.iter().collect();
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let model = &policies.model;
    let mut out: Vec<Entity> = Vec::new();
    for &(ci, table) in jobs {
        let product = &contracts[ci].product;
        let (e, heads) = build_product(
            product,
            table,
            model,
            &policies.settings,
            &policies.key_fields,
        )?;
        let hit = |entity: &Entity| wanted.contains(&entity.uid());
        let columns: Vec<Entity> = (0..e.columns.len())
            .filter(|&i| wanted.contains(&e.column_uid(model, i)))
            .map(|i| e.column_entity(model, i))
            .collect::<Result<_, _>>()?;
        if hit(&heads.domain) || hit(&heads.product) || !columns.is_empty() {
            out.push(heads.domain.clone());
            if hit(&heads.product) || !columns.is_empty() {
                out.push(heads.product.clone());
            }
            out.extend(columns);
        }
    }
    let mut seen = HashSet::new();
    out.retain(|e| seen.insert(e.uid()));
    Ok(out)
}

/// The plans of a product's questions: `query`, and `read` / `readMasked` per class.
fn plan_keys(slot: &Slot, policies: &AccessPolicies) -> (PlanKey, Vec<[PlanKey; 2]>) {
    let query = plan(policies, Action::Query, &slot.entry.uid, &slot.store);
    let classes = slot
        .entry
        .classes
        .iter()
        .map(|class| {
            [
                plan(policies, Action::Read, &class.uid, &slot.store),
                plan(policies, Action::ReadMasked, &class.uid, &slot.store),
            ]
        })
        .collect();
    (query, classes)
}
