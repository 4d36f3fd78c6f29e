//! Comparing a whole mesh with the files of a base revision.

use std::collections::{HashMap, HashSet};

use rayon::prelude::*;

use crate::contract::{Contract, ReaderSettings, read_bytes};
use crate::mesh::Mesh;
use crate::report::Finding;

use super::classify::diff;
use super::versioning::{removal_finding, versioning_findings};

/// One contract file as it was at the base revision.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BaseFile {
    /// The path relative to the mesh root, `/`-separated (as the mesh names files).
    pub file: String,
    /// The file's bytes at the base revision.
    pub bytes: Vec<u8>,
}

/// The `versioning/*` findings of every product of `mesh` against its version in `base`.
///
/// Products are matched by id, so a moved file is the same product. A base file with the
/// same bytes as the current file at its path is unchanged and not even parsed. A product
/// with no base version is new (no finding); a base product whose id no longer exists is
/// a `versioning/product_removed` finding — unless its file is still there and no longer
/// reads as a contract (that is `contract/parse`'s finding). Base files that do not read
/// as contracts are skipped. When an id appears twice, the file at the same path wins.
#[must_use]
pub fn compare_with_base(
    base: &[BaseFile],
    mesh: &Mesh,
    settings: &ReaderSettings,
) -> Vec<Finding> {
    let current: HashMap<&str, &Contract> = mesh
        .contracts()
        .iter()
        .map(|c| (c.product.source.file.as_str(), c))
        .collect();
    let broken: HashSet<&str> = mesh.failures().iter().map(|f| f.file.as_str()).collect();

    enum Old<'a> {
        Unchanged(&'a str),
        Read(Box<Contract>),
    }
    let olds: Vec<(&BaseFile, Old<'_>)> = base
        .par_iter()
        .filter_map(|file| {
            if let Some(now) = current.get(file.file.as_str())
                && blake3::hash(&file.bytes).to_hex().as_str() == now.hash
            {
                return Some((file, Old::Unchanged(now.product.id.as_str())));
            }
            read_bytes(&file.file, &file.bytes, settings)
                .ok()
                .map(|c| (file, Old::Read(Box::new(c))))
        })
        .collect();

    // Ids that are unchanged somewhere are settled; the rest are compared once, preferring
    // the base file at the same path as the current one.
    let unchanged: HashSet<&str> = olds
        .iter()
        .filter_map(|(_, o)| match o {
            Old::Unchanged(id) => Some(*id),
            Old::Read(_) => None,
        })
        .collect();
    let mut by_id: HashMap<&str, &Contract> = HashMap::new();
    for (file, old) in &olds {
        let Old::Read(c) = old else { continue };
        let id = c.product.id.as_str();
        if unchanged.contains(id) {
            continue;
        }
        let same_path = mesh
            .contract(id)
            .is_some_and(|now| now.product.source.file == file.file);
        if same_path {
            by_id.insert(id, c);
        } else {
            by_id.entry(id).or_insert(c);
        }
    }

    let mut ids: Vec<&str> = by_id.keys().copied().collect();
    ids.sort_unstable();
    let mut findings = Vec::new();
    for id in ids {
        let Some(old) = by_id.get(id) else { continue };
        let now = current
            .get(old.product.source.file.as_str())
            .filter(|c| c.product.id == id)
            .copied()
            .or_else(|| mesh.contract(id));
        match now {
            Some(now) => {
                let changes = diff(&old.product, &now.product);
                findings.extend(versioning_findings(&old.product, now, &changes));
            }
            None if broken.contains(old.product.source.file.as_str()) => {}
            None => findings.push(removal_finding(old)),
        }
    }
    findings
}
