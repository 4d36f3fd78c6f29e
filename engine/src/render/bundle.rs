//! Policy bundles: the result of verifying one (`charter bundle verify`), as a line for
//! people or one line of JSON; and what one holds (`charter bundle inspect`), as aligned
//! text or the [`Listing`] as JSON.

use std::io::{self, Write};

use super::{Format, Options, Render, json, unsupported};
use crate::bundle::{Listing, Verified};

/// The result of verifying a bundle.
#[derive(Debug, Clone, Copy)]
pub enum Verification<'a> {
    /// The bundle is well-formed and, when a key was given, its signature holds.
    Valid {
        /// The manifest's revision.
        revision: &'a str,
        /// Whether a signature was verified, and over how many files.
        verified: &'a Verified,
    },
    /// The bundle was refused.
    Invalid {
        /// Why.
        error: &'a str,
    },
}

impl Render for Verification<'_> {
    const DOCUMENT: &'static str = "a bundle verification";
    const FORMATS: &'static [Format] = &[Format::Text, Format::Json];

    fn write(&self, format: Format, _: &Options, out: &mut dyn Write) -> io::Result<()> {
        match (format, *self) {
            (Format::Json, Verification::Valid { revision, verified }) => {
                let signed_files = match verified {
                    Verified::Signed { files } => *files,
                    Verified::Unsigned => 0,
                };
                let document = serde_json::json!({
                    "valid": true,
                    "revision": revision,
                    "signed": matches!(verified, Verified::Signed { .. }),
                    "signed_files": signed_files,
                });
                writeln!(out, "{document}")
            }
            (Format::Json, Verification::Invalid { error }) => {
                writeln!(
                    out,
                    "{}",
                    serde_json::json!({"valid": false, "error": error})
                )
            }
            (Format::Text, Verification::Valid { revision, verified }) => match verified {
                Verified::Signed { files } => writeln!(
                    out,
                    "valid: revision {revision}, signature verified, {files} files match it"
                ),
                Verified::Unsigned => writeln!(
                    out,
                    "valid: revision {revision}, unsigned (no verification key given)"
                ),
            },
            (Format::Text, Verification::Invalid { error }) => writeln!(out, "invalid: {error}"),
            (other, _) => Err(unsupported::<Self>(other)),
        }
    }
}

impl Render for Listing<'_> {
    const DOCUMENT: &'static str = "a bundle listing";
    const FORMATS: &'static [Format] = &[Format::Text, Format::Json];

    fn write(&self, format: Format, _: &Options, out: &mut dyn Write) -> io::Result<()> {
        match format {
            Format::Text => text(self, out),
            Format::Json => json(self, out),
            other => Err(unsupported::<Self>(other)),
        }
    }
}

fn text(listing: &Listing<'_>, out: &mut dyn Write) -> io::Result<()> {
    let manifest = listing.manifest;
    writeln!(out, "revision   {}", manifest.revision)?;
    if let Some(roots) = &manifest.roots {
        writeln!(out, "roots      {}", roots.join(", "))?;
    }
    if let Ok(meta) = manifest.charter() {
        writeln!(out, "charter    {}", meta.version)?;
        writeln!(out, "policies   {}", meta.policies_revision)?;
        writeln!(out, "mesh       {}", meta.mesh_revision)?;
        if let Some(principals) = &meta.principals {
            writeln!(out, "principals {principals}")?;
        }
    }
    match &listing.signature {
        Some(header) => match &header.kid {
            Some(kid) => writeln!(
                out,
                "signature  {}, key id `{kid}` (not verified)",
                header.alg
            )?,
            None => writeln!(out, "signature  {} (not verified)", header.alg)?,
        },
        None => writeln!(out, "signature  none")?,
    }
    writeln!(out, "files      {}", listing.files.len())?;
    for file in &listing.files {
        writeln!(
            out,
            "  {:.12}  {:>9}  {}",
            file.sha256, file.size, file.path
        )?;
    }
    Ok(())
}
