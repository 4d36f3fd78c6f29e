//! What the repository-wide rules keep of one contract: who it is, where its values are
//! written (for a finding's line), its upstream edges (for cycles), and the projection of
//! its Rego input the rules can observe. `charter report` keeps this for every contract
//! between its two stages instead of the contract (model, Rego input and all).

use std::borrow::Cow;
use std::sync::Arc;

use regorus::Value;

use crate::contract::{Contract, ContractLimits, Locations, PathMap};
use crate::mesh::{ContractFile, read_limited};
use crate::projection::need::Need;
use crate::projection::shared::Shared;

/// One contract as the repository-wide rules see it.
#[derive(Debug, Clone)]
pub struct MeshProduct {
    pub(crate) id: String,
    pub(crate) domain: String,
    pub(crate) file: String,
    pub(crate) upstream: Vec<String>,
    lines: Lines,
    /// The projected Rego input, or why the product could not be converted.
    pub(crate) input: Result<Value, String>,
}

/// Where a kept contract's lines come from.
#[derive(Debug, Clone)]
enum Lines {
    /// The contract's locations, its text included.
    Held(Locations),
    /// The file, read again if a finding needs a line: most contracts get no
    /// repository-wide finding, and their text is most of what they would keep.
    Reread {
        file: ContractFile,
        limits: ContractLimits,
        /// The hash of the bytes the contract was read from.
        hash: String,
        map: PathMap,
    },
}

/// What to keep of each contract of one repository: the projection the rules need, with
/// the parts products have in common stored once (see [`MeshRules::keeper`]).
///
/// [`MeshRules::keeper`]: super::MeshRules::keeper
#[derive(Debug)]
pub struct Keeper<'a> {
    need: &'a Need,
    /// What the contract rules converted of each product (`None`: all of it), which the
    /// projection is taken from: it holds at least what `need` does.
    converted: Option<&'a Arc<Need>>,
    shared: Shared,
}

impl<'a> Keeper<'a> {
    pub(crate) fn new(need: &'a Need, converted: Option<&'a Arc<Need>>) -> Self {
        Self {
            need,
            converted,
            shared: Shared::default(),
        }
    }

    /// What the repository-wide rules keep of `contract`, its text included.
    #[must_use]
    pub fn keep(&self, contract: &Contract) -> MeshProduct {
        self.product(contract, Lines::Held(contract.locations.clone()))
    }

    /// As [`Keeper::keep`], for a contract read from `file` (within `limits`): its text is
    /// not kept, and the file is read again if a finding needs a line.
    #[must_use]
    pub fn keep_file(
        &self,
        file: &ContractFile,
        contract: &Contract,
        limits: &ContractLimits,
    ) -> MeshProduct {
        let lines = Lines::Reread {
            file: file.clone(),
            limits: *limits,
            hash: contract.hash.clone(),
            map: contract.locations.path_map().clone(),
        };
        self.product(contract, lines)
    }

    fn product(&self, contract: &Contract, lines: Lines) -> MeshProduct {
        let product = &contract.product;
        MeshProduct {
            id: product.id.clone(),
            domain: product.domain.clone(),
            file: product.source.file.clone(),
            upstream: product.lineage.upstream.clone(),
            lines,
            input: crate::rules::converted_input(contract, self.converted)
                .map(|value| self.need.project(&value, &self.shared)),
        }
    }
}

impl MeshProduct {
    /// The file the contract was read from, as findings show it.
    #[must_use]
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Where the contract's values are written. A file read again that no longer has the
    /// bytes the contract was read from (it changed during the run) has no lines: every
    /// path is at line 1.
    pub(crate) fn locations(&self) -> Cow<'_, Locations> {
        match &self.lines {
            Lines::Held(locations) => Cow::Borrowed(locations),
            Lines::Reread {
                file,
                limits,
                hash,
                map,
            } => {
                let text = read_limited(file, limits)
                    .ok()
                    .filter(|bytes| blake3::hash(bytes).to_hex().as_str() == hash)
                    .and_then(|bytes| String::from_utf8(bytes).ok());
                Cow::Owned(match text {
                    Some(text) => {
                        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
                        Locations::new(Arc::from(text), map.clone())
                    }
                    None => Locations::none(),
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ReaderSettings;
    use crate::mesh::{Loaded, load_file};

    #[test]
    fn a_file_read_again_gives_its_lines_unless_it_changed() {
        let dir = tempfile::tempdir().expect("a temporary folder");
        let path = dir.path().join("orders.yaml");
        let yaml = "# the orders\napiVersion: datamesh.io/v1\nkind: DataProduct\nmetadata:\n  name: sales.orders\n  domain: sales\n  version: 1.0.0\nspec:\n  owner: team@acme.example\n";
        std::fs::write(&path, yaml).expect("written");
        let file = ContractFile::given(&path, false).expect("a file");
        let settings = ReaderSettings::default();
        let Loaded::Contract(contract) = load_file(&file, &settings) else {
            panic!("a contract");
        };
        let need = Need::whole();
        let kept = Keeper::new(&need, None).keep_file(&file, &contract, &settings.limits);
        assert_eq!(kept.locations().line("owner"), 9);
        assert_eq!(kept.locations().line("id"), 5);

        std::fs::write(&path, format!("\n\n{yaml}")).expect("written");
        assert_eq!(
            kept.locations().line("owner"),
            1,
            "a changed file has no lines"
        );
    }
}
