//! The default policy pack, embedded so that `charter` works with nothing else installed.
//!
//! The pack lives beside this crate as ordinary files: `rego/` (contract, mesh and
//! access rules), `cedar/` (access policies and their schema), `data/` (central
//! settings). Central teams replace it with `--policies DIR`, a folder of the same shape.

use include_dir::{Dir, include_dir};

static PACK: Dir<'static> = include_dir!("$CARGO_MANIFEST_DIR");

/// The folders of a pack; everything else beside them (this crate's own sources) is not policy.
const PACK_DIRS: [&str; 4] = ["rego", "cedar", "data", "tests"];

/// Every file of the default pack as `(relative path, contents)`, in path order.
///
/// ```
/// let files = charter_policies::files();
/// assert!(files.iter().any(|(path, _)| path.ends_with(".rego")));
/// ```
#[must_use]
pub fn files() -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    for name in PACK_DIRS {
        if let Some(dir) = PACK.get_dir(name) {
            collect(dir, &mut out);
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}

fn collect(dir: &'static Dir<'static>, out: &mut Vec<(String, &'static str)>) {
    for file in dir.files() {
        if let Some(text) = file.contents_utf8() {
            out.push((file.path().to_string_lossy().replace('\\', "/"), text));
        }
    }
    for sub in dir.dirs() {
        collect(sub, out);
    }
}

/// The folder the default pack is read from at build time, for tools that want the files.
#[must_use]
pub fn source_dir() -> &'static str {
    env!("CARGO_MANIFEST_DIR")
}
