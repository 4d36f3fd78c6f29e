//! Shared helpers: packs (the default one, with files added or replaced), meshes from
//! contract files or from products.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use charter_engine::PolicyPack;
use charter_engine::contract::{Product, ReaderSettings};
use charter_engine::mesh::{LoadOptions, Mesh};

/// The workspace root (where `testdata/` is).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("engine/ has a parent")
        .to_path_buf()
}

/// The default pack with `overrides` applied: `Some(text)` adds or replaces a file,
/// `None` removes it.
pub fn pack_with(overrides: &BTreeMap<String, Option<String>>) -> PolicyPack {
    let mut files: BTreeMap<String, String> = charter_policies::files()
        .into_iter()
        .map(|(p, t)| (p, t.to_owned()))
        .collect();
    for (path, text) in overrides {
        match text {
            Some(text) => files.insert(path.clone(), text.clone()),
            None => files.remove(path),
        };
    }
    PolicyPack::from_files(files).expect("the default pack's settings read")
}

/// The default pack.
pub fn default_pack() -> PolicyPack {
    pack_with(&BTreeMap::new())
}

/// A mesh read (by the real readers) from contract files written into a temporary folder.
pub fn mesh_from_files(files: &BTreeMap<String, String>, pack: &PolicyPack) -> Mesh {
    let dir = tempfile::tempdir().expect("a temporary folder");
    for (path, text) in files {
        let full = dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create folders");
        }
        std::fs::write(&full, text).expect("write a contract");
    }
    load_mesh(dir.path(), pack)
}

/// A mesh read from a folder.
pub fn load_mesh(root: &Path, pack: &PolicyPack) -> Mesh {
    Mesh::load(
        root,
        &LoadOptions::default(),
        &ReaderSettings::from_settings(pack.settings()),
    )
    .expect("the mesh loads")
}

/// A mesh of products, each written as a seed-format contract and read back.
pub fn mesh_from_products(products: Vec<Product>) -> Mesh {
    super::generate::mesh(&products)
}
