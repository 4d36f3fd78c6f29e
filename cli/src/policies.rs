//! Which policy pack a command runs with: `--policies DIR`, or the embedded default.

use std::path::Path;

use anyhow::Context;
use charter_engine::PolicyPack;

/// Loads the pack in `dir`, or the default pack embedded in the binary. Symlinks out of
/// the folder (or its git work tree) stop the pack from loading unless
/// `follow_external_symlinks` (see [`PolicyPack::from_dir_with`]).
pub fn load(dir: Option<&Path>, follow_external_symlinks: bool) -> anyhow::Result<PolicyPack> {
    match dir {
        Some(dir) => PolicyPack::from_dir_with(dir, follow_external_symlinks)
            .with_context(|| format!("cannot load the policies in `{}`", dir.display())),
        None => PolicyPack::from_files(charter_policies::files())
            .context("the embedded default policy pack is broken"),
    }
}
