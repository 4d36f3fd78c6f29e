//! `charter bundle build|verify|inspect`: policy bundles (OPA's format) that carry a policy
//! pack, a mesh's contracts and a principal directory to `charter serve --bundle-url`.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use charter_engine::bundle::{self, Bundle, CharterMetadata, Contents, Listing, SigningKey};
use charter_engine::mesh::{discover, read_limited};
use charter_engine::render::{Format, Options, Verification, render};
use clap::{Args, Subcommand, ValueEnum};

pub use crate::bundle_files::{VerifyKeyArgs, open, write_atomically};
use crate::serve::snapshot::Sources;

/// Arguments of `charter bundle`.
#[derive(Args, Debug)]
pub struct BundleArgs {
    #[command(subcommand)]
    pub command: BundleCommand,
}

/// The `charter bundle` subcommands.
#[derive(Subcommand, Debug)]
pub enum BundleCommand {
    /// Build a bundle (.tar.gz) of a policy pack, a mesh's contracts and a principal directory.
    Build(BuildArgs),
    /// Check a bundle's signature and layout (exit 0 valid, 1 invalid, 2 could not check).
    Verify(VerifyArgs),
    /// Show a bundle's manifest, signature header and files (nothing is verified).
    Inspect(InspectArgs),
}

/// Arguments of `charter bundle build`.
#[derive(Args, Debug)]
#[command(
    after_help = "Examples:\n  charter bundle build --mesh testdata/mesh --output bundle.tar.gz\n  charter bundle build --policies policies --mesh . --principals principals.yaml \\\n      --signing-key bundle-key.pem --signing-alg RS256 --signing-key-id prod --output bundle.tar.gz"
)]
pub struct BuildArgs {
    /// The mesh: a folder of data-product contracts.
    #[arg(long, value_name = "DIR")]
    pub mesh: PathBuf,
    /// A policy folder (rego/, cedar/, data/); the embedded default pack when absent.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// A principal directory file to carry (stored as charter/principals.yaml).
    #[arg(long, value_name = "FILE")]
    pub principals: Option<PathBuf>,
    /// The revision written in .manifest [default: the snapshot's content revision].
    #[arg(long, value_name = "REV")]
    pub revision: Option<String>,
    /// Where to write the bundle.
    #[arg(long, value_name = "FILE")]
    pub output: PathBuf,
    /// Sign with this key: a PEM private key (RS256: RSA, ES256: PKCS#8 EC) or the HS256 secret.
    #[arg(long, value_name = "PEM", requires = "signing_alg")]
    pub signing_key: Option<PathBuf>,
    /// The signing algorithm.
    #[arg(long, value_enum, requires = "signing_key")]
    pub signing_alg: Option<SigningAlg>,
    /// The key id written in the signature's header (`kid`).
    #[arg(long, value_name = "ID", requires = "signing_key")]
    pub signing_key_id: Option<String>,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}

/// Algorithms Charter signs bundles with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
#[value(rename_all = "UPPER")]
pub enum SigningAlg {
    /// RSASSA-PKCS1-v1_5 with SHA-256.
    Rs256,
    /// ECDSA P-256 with SHA-256.
    Es256,
    /// HMAC with SHA-256 (a shared secret).
    Hs256,
}

impl SigningAlg {
    fn name(self) -> &'static str {
        match self {
            Self::Rs256 => "RS256",
            Self::Es256 => "ES256",
            Self::Hs256 => "HS256",
        }
    }
}

/// Arguments of `charter bundle verify`.
#[derive(Args, Debug)]
#[command(
    after_help = "Example:\n  charter bundle verify bundle.tar.gz --verification-key bundle-key.pub.pem\n\nWithout --verification-key the bundle must be unsigned. Exit codes: 0 valid, 1 invalid, 2 could not check."
)]
pub struct VerifyArgs {
    /// The bundle.
    pub file: PathBuf,
    #[command(flatten)]
    pub key: VerifyKeyArgs,
    /// Output format.
    #[arg(long, default_value = "text", ignore_case = true, value_parser = super::format::of::<Verification<'static>>())]
    pub format: Format,
}

/// Arguments of `charter bundle inspect`.
#[derive(Args, Debug)]
#[command(after_help = "Example:\n  charter bundle inspect bundle.tar.gz")]
pub struct InspectArgs {
    /// The bundle.
    pub file: PathBuf,
    /// Output format.
    #[arg(long, default_value = "text", ignore_case = true, value_parser = super::format::of::<Listing<'static>>())]
    pub format: Format,
}

/// Runs `charter bundle …`.
pub fn run(args: &BundleArgs) -> anyhow::Result<ExitCode> {
    match &args.command {
        BundleCommand::Build(args) => build(args),
        BundleCommand::Verify(args) => verify(args),
        BundleCommand::Inspect(args) => inspect(args),
    }
}

/// What a bundle of `sources` (and `principals`) holds, and the snapshot revision it builds.
///
/// # Errors
/// A file cannot be read, or the pack and contracts do not build into a snapshot.
pub fn contents(
    sources: &Sources,
    principals: Option<&Path>,
    revision: Option<String>,
) -> anyhow::Result<Contents> {
    let snapshot = crate::serve::snapshot::build(sources)?;
    let pack = crate::policies::load(
        sources.policies.as_deref(),
        sources.limits.follow_external_symlinks,
    )?;
    let mut contents = Contents {
        revision: revision.unwrap_or_else(|| snapshot.revision.clone()),
        metadata: Some(CharterMetadata {
            version: env!("CARGO_PKG_VERSION").to_owned(),
            policies_revision: snapshot.policies_revision.clone(),
            mesh_revision: snapshot.mesh_revision.clone(),
            principals: None,
        }),
        ..Contents::default()
    };
    for file in pack.files() {
        contents
            .policies
            .insert(file.path.clone(), file.text.clone().into_bytes());
    }
    let limits = sources.limits.limits;
    for file in discover(&sources.mesh, &sources.limits.load_options())? {
        let bytes = read_limited(&file, &limits)
            .map_err(|message| anyhow::anyhow!("cannot bundle `{}`: {message}", file.display))?;
        let rel = if file.path == sources.mesh {
            file.path.file_name().map_or_else(
                || file.display.clone(),
                |n| n.to_string_lossy().into_owned(),
            )
        } else {
            file.display.clone()
        };
        contents.contracts.insert(rel, bytes);
    }
    if let Some(path) = principals {
        contents.principals = Some(charter_engine::access::Directory::read(path)?);
    }
    Ok(contents)
}

fn build(args: &BuildArgs) -> anyhow::Result<ExitCode> {
    let key = match (&args.signing_key, args.signing_alg) {
        (Some(path), Some(alg)) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read the signing key `{}`", path.display()))?;
            Some(SigningKey::new(
                alg.name(),
                &bytes,
                args.signing_key_id.clone(),
            )?)
        }
        _ => None,
    };
    let sources = Sources {
        mesh: args.mesh.clone(),
        policies: args.policies.clone(),
        limits: args.limits.reading(),
        principals: args.principals.clone(),
    };
    let contents = contents(&sources, args.principals.as_deref(), args.revision.clone())?;
    let bytes = contents.build(key.as_ref())?;
    write_atomically(&args.output, &bytes)?;
    let mut out = std::io::stdout().lock();
    writeln!(
        out,
        "wrote {}: revision {}, {} policy files, {} contracts{}, {}",
        args.output.display(),
        contents.revision,
        contents.policies.len(),
        contents.contracts.len(),
        if contents.principals.is_some() {
            ", a principal directory"
        } else {
            ""
        },
        key.as_ref().map_or_else(
            || "unsigned".to_owned(),
            |k| format!("signed {}", k.algorithm())
        ),
    )?;
    Ok(ExitCode::SUCCESS)
}

fn verify(args: &VerifyArgs) -> anyhow::Result<ExitCode> {
    let config = args.key.config()?;
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read the bundle `{}`", args.file.display()))?;
    let result = open(&bytes, config.as_ref());
    let error;
    let (verification, code) = match &result {
        Ok((contents, verified)) => (
            Verification::Valid {
                revision: &contents.revision,
                verified,
            },
            ExitCode::SUCCESS,
        ),
        Err(e) => {
            error = e.to_string();
            (Verification::Invalid { error: &error }, ExitCode::from(1))
        }
    };
    let mut out = std::io::stdout().lock();
    render(&verification, args.format, &Options::default(), &mut out)?;
    Ok(code)
}

fn inspect(args: &InspectArgs) -> anyhow::Result<ExitCode> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read the bundle `{}`", args.file.display()))?;
    let bundle = Bundle::read(&bytes, bundle::archive::DEFAULT_MAX_UNPACKED)
        .with_context(|| format!("cannot read the bundle `{}`", args.file.display()))?;
    let mut out = std::io::stdout().lock();
    render(
        &bundle.listing(),
        args.format,
        &Options::default(),
        &mut out,
    )?;
    Ok(ExitCode::SUCCESS)
}
