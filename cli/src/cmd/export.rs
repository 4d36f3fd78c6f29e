//! `charter export`: the mesh's access decisions compiled into an engine's own policies,
//! and `--check`: drift per table between a previous export and what the mesh implies now.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use charter_engine::access::Directory;
use charter_engine::access::trino::TrinoSettings;
use charter_engine::export::{
    ExportedFile, Refusal, compile_with_directory, ranger, snowflake, trino_rego, unity,
};
use charter_engine::mesh::Mesh;
use clap::{Args, ValueEnum};

/// Arguments of `charter export`.
#[derive(Args, Debug)]
#[command(
    group = clap::ArgGroup::new("mode").required(true).args(["output", "check"]),
    after_help = "Examples:\n  charter export --target snowflake --mesh testdata/mesh --output deploy/\n  charter export --target snowflake --mesh testdata/mesh --check deploy/\n  charter export --target ranger --dialect hive --mesh testdata/mesh --output deploy/\n  charter export --target trino-rego --mesh testdata/mesh --principals principals.yaml --output deploy/\n  opa run --server --bundle deploy/trino-rego/\n\nExit codes: 0 written (or no drift), 1 drift or a refused table, 2 could not export."
)]
pub struct ExportArgs {
    /// The engine to compile for.
    #[arg(long, value_enum)]
    pub target: ExportTarget,
    /// The mesh: a folder of data-product contracts.
    #[arg(long, value_name = "DIR")]
    pub mesh: PathBuf,
    /// A policy folder to use instead of the embedded default pack.
    #[arg(long, value_name = "DIR")]
    pub policies: Option<PathBuf>,
    /// The principal directory of `charter serve --principals`: every synthetic principal is
    /// completed by it, so a group whose members get a role is exported where the role is.
    #[arg(long, value_name = "FILE")]
    pub principals: Option<PathBuf>,
    /// The Ranger service definition to write for (`--target ranger` only; default `trino`).
    #[arg(long, value_enum)]
    pub dialect: Option<ExportDialect>,
    /// Where to write the files (`<target>/<catalog.schema.table>.sql`; for `trino-rego`,
    /// the bundle folder `trino-rego/`).
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Compare a previous export in DIR with what the mesh implies now; exit 1 on drift.
    #[arg(long, value_name = "DIR")]
    pub check: Option<PathBuf>,
    #[command(flatten)]
    pub limits: super::limits::LimitArgs,
}

/// Export targets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportTarget {
    /// Snowflake masking and row access policies, grants.
    Snowflake,
    /// Databricks Unity Catalog masks, row filters, grants.
    Unity,
    /// Apache Ranger policy-import files: access, data-masking and row-filter policies.
    Ranger,
    /// An OPA bundle for Trino's OPA access control, answering as `charter serve` does.
    TrinoRego,
}

impl ExportTarget {
    fn folder(self) -> &'static str {
        match self {
            ExportTarget::Snowflake => "snowflake",
            ExportTarget::Unity => "unity",
            ExportTarget::Ranger => "ranger",
            ExportTarget::TrinoRego => "trino-rego",
        }
    }
}

/// Policy dialects (`--dialect`), for targets with more than one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ExportDialect {
    /// Ranger's Trino service definition (`catalog`, `schema`, `table`, `column`).
    Trino,
    /// Ranger's Hive service definition (`database`, `table`, `column`).
    Hive,
}

/// Runs `charter export`.
pub fn run(args: &ExportArgs) -> anyhow::Result<ExitCode> {
    if let Some(dialect) = args.dialect
        && args.target != ExportTarget::Ranger
    {
        anyhow::bail!(
            "`--dialect {}` means nothing for `--target {}`: only `--target ranger` has dialects (`trino`, `hive`)",
            dialect
                .to_possible_value()
                .map_or_else(String::new, |v| v.get_name().to_owned()),
            args.target.folder()
        );
    }
    let pack = crate::policies::load(
        args.policies.as_deref(),
        args.limits.follow_external_symlinks,
    )?;
    let mesh = Mesh::load(
        &args.mesh,
        &args.limits.load_options(),
        &args.limits.reader(pack.settings()),
    )
    .with_context(|| format!("cannot load the mesh in `{}`", args.mesh.display()))?;
    let directory = args
        .principals
        .as_deref()
        .map(Directory::load)
        .transpose()?;
    let model =
        compile_with_directory(&pack, &mesh, directory.as_ref()).context("cannot export")?;
    let mut refusals: Vec<Refusal> = model.refused.clone();
    let files = match args.target {
        ExportTarget::Snowflake => snowflake::render(&model),
        ExportTarget::Unity => unity::render(&model),
        ExportTarget::Ranger => {
            let dialect = match args.dialect {
                Some(ExportDialect::Hive) => ranger::RangerDialect::Hive,
                Some(ExportDialect::Trino) | None => ranger::RangerDialect::Trino,
            };
            let rendered = ranger::render(&model, dialect);
            refusals.extend(rendered.refused);
            rendered.files
        }
        ExportTarget::TrinoRego => {
            let settings = TrinoSettings::from_settings(pack.settings())?;
            let rendered = trino_rego::render(&model, settings, directory.as_ref());
            refusals.extend(rendered.refused);
            rendered.files
        }
    };
    refusals.sort_by(|a, b| a.location.cmp(&b.location));
    let mut err = std::io::stderr().lock();
    for refusal in &refusals {
        writeln!(err, "refused: {}", refusal.message)?;
    }
    let refused = !refusals.is_empty();
    if let Some(dir) = &args.check {
        let drift = check(dir, &files, args.target)?;
        let mut out = std::io::stdout().lock();
        for (table, what) in &drift {
            writeln!(out, "drift: {table}: {what}")?;
        }
        let tables = files.iter().filter(|f| !f.table.is_empty()).count();
        writeln!(out, "{tables} table(s) checked, {} drifted", drift.len())?;
        return Ok(if drift.is_empty() && !refused {
            ExitCode::SUCCESS
        } else {
            ExitCode::from(1)
        });
    }
    if let Some(dir) = &args.output {
        for file in &files {
            let path = dir.join(&file.path);
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .with_context(|| format!("cannot create `{}`", parent.display()))?;
            }
            std::fs::write(&path, &file.text)
                .with_context(|| format!("cannot write `{}`", path.display()))?;
        }
        writeln!(
            std::io::stdout().lock(),
            "{} file(s) written to {}",
            files.len(),
            dir.display()
        )?;
    }
    Ok(if refused {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Drift per table: missing, changed (the revision line aside) or no longer implied.
fn check(
    dir: &Path,
    files: &[ExportedFile],
    target: ExportTarget,
) -> anyhow::Result<BTreeMap<String, String>> {
    let body = |path: &str, text: &str| {
        if Path::new(path)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("json"))
        {
            // The revisions are in `metaDataInfo` (Ranger) or `generated` (the Trino bundle):
            // everything else must be the same.
            return serde_json::from_str::<serde_json::Value>(text).map_or_else(
                |_| text.to_owned(),
                |mut v| {
                    if let Some(map) = v.as_object_mut() {
                        map.remove("metaDataInfo");
                        map.remove("generated");
                    }
                    v.to_string()
                },
            );
        }
        text.split_once('\n')
            .map_or(String::new(), |(_, rest)| rest.to_owned())
    };
    let mut drift = BTreeMap::new();
    for file in files {
        // A file that is about no one table (the Trino bundle's policy and data) drifts
        // under its path.
        let label = if file.table.is_empty() {
            file.path.clone()
        } else {
            file.table.clone()
        };
        match std::fs::read_to_string(dir.join(&file.path)) {
            Ok(deployed) if body(&file.path, &deployed) == body(&file.path, &file.text) => {}
            Ok(_) => {
                drift.insert(label, "differs from what the mesh implies".to_owned());
            }
            Err(_) => {
                drift.insert(label, "not exported".to_owned());
            }
        }
    }
    for table in deployed_tables(dir, target) {
        if !files.iter().any(|f| f.table == table) {
            drift.insert(
                table,
                "exported but no longer governed by the mesh".to_owned(),
            );
        }
    }
    Ok(drift)
}

/// The tables a previous export in `dir` holds: one `.sql` or `.json` file each, or for
/// the Trino bundle one `tables/<key>/data.json` naming its table.
fn deployed_tables(dir: &Path, target: ExportTarget) -> Vec<String> {
    let names = |folder: &Path| -> Vec<(PathBuf, String)> {
        std::fs::read_dir(folder).map_or_else(
            |_| Vec::new(),
            |entries| {
                entries
                    .flatten()
                    .map(|e| (e.path(), e.file_name().to_string_lossy().into_owned()))
                    .collect()
            },
        )
    };
    if target == ExportTarget::TrinoRego {
        return names(&dir.join("trino-rego/charter/trino/tables"))
            .into_iter()
            .map(|(path, name)| {
                std::fs::read_to_string(path.join("data.json"))
                    .ok()
                    .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
                    .and_then(|v| v["table"].as_str().map(str::to_owned))
                    .unwrap_or(name)
            })
            .collect();
    }
    names(&dir.join(target.folder()))
        .into_iter()
        .filter_map(|(_, name)| {
            name.strip_suffix(".sql")
                .or_else(|| name.strip_suffix(".json"))
                .map(str::to_owned)
        })
        .collect()
}
