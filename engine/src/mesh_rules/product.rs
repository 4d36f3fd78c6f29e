//! What the repository-wide rules keep of one contract: who it is, where its values are
//! written (for a finding's line), its upstream edges (for cycles), and the projection of
//! its Rego input the rules can observe. `charter report` keeps this for every contract
//! between its two stages instead of the contract (model, Rego input and all).

use regorus::Value;

use super::need::Need;
use super::shared::Shared;
use crate::contract::{Contract, Locations};

/// One contract as the repository-wide rules see it.
#[derive(Debug, Clone)]
pub struct MeshProduct {
    pub(crate) id: String,
    pub(crate) domain: String,
    pub(crate) file: String,
    pub(crate) upstream: Vec<String>,
    pub(crate) locations: Locations,
    /// The projected Rego input, or why the product could not be converted.
    pub(crate) input: Result<Value, String>,
}

/// What to keep of each contract of one repository: the projection the rules need, with
/// the parts products have in common stored once (see [`MeshRules::keeper`]).
///
/// [`MeshRules::keeper`]: super::MeshRules::keeper
#[derive(Debug)]
pub struct Keeper<'a> {
    need: &'a Need,
    shared: Shared,
}

impl<'a> Keeper<'a> {
    pub(crate) fn new(need: &'a Need) -> Self {
        Self {
            need,
            shared: Shared::default(),
        }
    }

    /// What the repository-wide rules keep of `contract`.
    #[must_use]
    pub fn keep(&self, contract: &Contract) -> MeshProduct {
        MeshProduct::new(contract, self)
    }
}

impl MeshProduct {
    fn new(contract: &Contract, keeper: &Keeper<'_>) -> Self {
        let product = &contract.product;
        Self {
            id: product.id.clone(),
            domain: product.domain.clone(),
            file: product.source.file.clone(),
            upstream: product.lineage.upstream.clone(),
            locations: contract.locations.clone(),
            input: contract
                .rego_input()
                .map(|value| keeper.need.project(&value, &keeper.shared)),
        }
    }

    /// The file the contract was read from, as findings show it.
    #[must_use]
    pub fn file(&self) -> &str {
        &self.file
    }
}
