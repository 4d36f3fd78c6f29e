//! Which policy pack a command runs with: `--policies DIR`, or the embedded default.

use std::path::Path;

use anyhow::Context;
use charter_engine::PolicyPack;

/// Loads the pack in `dir`, or the default pack embedded in the binary.
pub fn load(dir: Option<&Path>) -> anyhow::Result<PolicyPack> {
    match dir {
        Some(dir) => PolicyPack::from_dir(dir)
            .with_context(|| format!("cannot load the policies in `{}`", dir.display())),
        None => PolicyPack::from_files(charter_policies::files())
            .context("the embedded default policy pack is broken"),
    }
}
