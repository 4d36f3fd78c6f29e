//! `charter report --base GIT_REF`: every contract against its version at a git revision.
//!
//! The base versions are read with `git` itself: one `ls-tree` lists the files under the
//! checked folder at the revision, one `cat-file --batch` streams all their contents.
//! The comparison (products matched by id, changes classified, `versioning/*` findings)
//! is the engine's [`charter_engine::diff::compare_with_base`].

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Command, Stdio};

use anyhow::{Context, bail};
use charter_engine::contract::ContractLimits;
use charter_engine::diff::{BaseFile, compare_with_base};
use charter_engine::mesh::{ContractGlobs, LoadOptions, Mesh};
use charter_engine::report::Finding;

use super::gate::Prepared;

/// Findings of comparing every contract with its version at `git_ref`.
///
/// # Errors
/// `dir` is not in a git work tree, `git_ref` names no commit, or `git` fails.
pub fn findings(
    dir: &Path,
    git_ref: &str,
    mesh: &Mesh,
    prepared: &Prepared,
) -> anyhow::Result<Vec<Finding>> {
    let base = base_files(dir, git_ref, mesh, &prepared.reader.limits)?;
    Ok(compare_with_base(&base, mesh, &prepared.reader))
}

/// Runs `git` in `dir` and returns its stdout, or its stderr as the error.
fn git(dir: &Path, args: &[&str]) -> anyhow::Result<Result<Vec<u8>, String>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("cannot run `git` (is it installed and on the PATH?)")?;
    Ok(if out.status.success() {
        Ok(out.stdout)
    } else {
        Err(String::from_utf8_lossy(&out.stderr).trim().to_owned())
    })
}

/// The contract files under `dir` at `git_ref`, paths relative to `dir`.
fn base_files(
    dir: &Path,
    git_ref: &str,
    mesh: &Mesh,
    limits: &ContractLimits,
) -> anyhow::Result<Vec<BaseFile>> {
    let contracts = ContractGlobs::new(&LoadOptions::default())?;
    let prefix = match git(dir, &["rev-parse", "--show-prefix"])? {
        Ok(out) => String::from_utf8(out)
            .context("the folder's path in the repository is not UTF-8")?
            .trim_end_matches(['\n', '\r'])
            .to_owned(),
        Err(message) => bail!(
            "`--base` needs a git repository, and `{}` is not in one: {message}",
            dir.display()
        ),
    };
    if git_ref.is_empty() || git_ref.starts_with('-') {
        bail!("`{git_ref}` is not a git revision");
    }
    let commit = match git(
        dir,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("{git_ref}^{{commit}}"),
        ],
    )? {
        Ok(out) => String::from_utf8_lossy(&out).trim().to_owned(),
        Err(_) => bail!(
            "unknown git revision `{git_ref}` in the repository of `{}` (fetch it first, e.g. `git fetch origin main`)",
            dir.display()
        ),
    };
    let mut args = vec!["ls-tree", "-r", "-z", "-l", "--full-tree", commit.as_str()];
    if !prefix.is_empty() {
        args.extend(["--", prefix.as_str()]);
    }
    let listing = git(dir, &args)?
        .map_err(|m| anyhow::anyhow!("`git ls-tree` failed at `{git_ref}`: {m}"))?;

    let known: std::collections::HashSet<&str> = mesh
        .contracts()
        .iter()
        .map(|c| c.product.source.file.as_str())
        .chain(mesh.failures().iter().map(|f| f.file.as_str()))
        .collect();
    let mut wanted: Vec<(String, String)> = Vec::new();
    for entry in listing.split(|&b| b == 0).filter(|e| !e.is_empty()) {
        let Some(tab) = entry.iter().position(|&b| b == b'\t') else {
            continue;
        };
        let (Ok(head), Ok(path)) = (
            std::str::from_utf8(&entry[..tab]),
            std::str::from_utf8(&entry[tab + 1..]),
        ) else {
            continue;
        };
        let mut parts = head.split_whitespace();
        let (Some(mode), Some("blob"), Some(oid), Some(size)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        // A symlink at the base is a blob holding its target's path: not a contract, and
        // never resolved.
        if mode == "120000" {
            continue;
        }
        let Some(rel) = path.strip_prefix(prefix.as_str()) else {
            continue;
        };
        let too_big = size
            .parse::<u64>()
            .map_or(true, |s| limits.check_size(s).is_err());
        // A file that is still on disk but not in the mesh is excluded (or not a
        // contract): it has no place in the comparison either.
        if too_big || !contracts.matches(rel) || (!known.contains(rel) && dir.join(rel).exists()) {
            continue;
        }
        wanted.push((oid.to_owned(), rel.to_owned()));
    }
    read_blobs(dir, wanted, limits.max_file_size)
}

/// The contents of `(object id, path)` blobs, in one `git cat-file --batch`. A blob over
/// `max_size` (whatever the listing said) is skipped without being held in memory.
fn read_blobs(
    dir: &Path,
    wanted: Vec<(String, String)>,
    max_size: u64,
) -> anyhow::Result<Vec<BaseFile>> {
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let mut child = Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(["cat-file", "--batch"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .context("cannot run `git cat-file`")?;
    let (Some(mut stdin), Some(stdout)) = (child.stdin.take(), child.stdout.take()) else {
        bail!("cannot talk to `git cat-file`");
    };
    let request: String = wanted.iter().map(|(oid, _)| format!("{oid}\n")).collect();
    // Written from a thread: git answers while it reads, and both pipes have a bound.
    let writer = std::thread::spawn(move || stdin.write_all(request.as_bytes()));
    let mut reader = BufReader::with_capacity(1 << 20, stdout);
    let mut files = Vec::with_capacity(wanted.len());
    let mut header = String::new();
    for (oid, path) in wanted {
        header.clear();
        reader
            .read_line(&mut header)
            .context("cannot read from `git cat-file`")?;
        let mut fields = header.split_whitespace();
        let (Some(got), Some(kind), size) = (fields.next(), fields.next(), fields.next()) else {
            bail!("`git cat-file` stopped before `{path}`");
        };
        if got != oid || kind == "missing" {
            continue;
        }
        let size: u64 = size.and_then(|s| s.parse().ok()).with_context(|| {
            format!("unexpected answer from `git cat-file`: `{}`", header.trim())
        })?;
        if size > max_size {
            // Streamed past (with its final line break), never held.
            let skipped = std::io::copy(&mut (&mut reader).take(size + 1), &mut std::io::sink())
                .with_context(|| format!("cannot read `{path}` from `git cat-file`"))?;
            if skipped != size + 1 {
                bail!("`git cat-file` stopped inside `{path}`");
            }
            continue;
        }
        let size = usize::try_from(size).context("a blob too large for this machine")?;
        let mut bytes = vec![0; size + 1];
        reader
            .read_exact(&mut bytes)
            .with_context(|| format!("cannot read `{path}` from `git cat-file`"))?;
        bytes.pop();
        if kind == "blob" {
            files.push(BaseFile { file: path, bytes });
        }
    }
    let written = writer.join();
    let status = child.wait().context("`git cat-file` did not finish")?;
    if !matches!(written, Ok(Ok(()))) || !status.success() {
        let mut message = String::new();
        if let Some(mut err) = child.stderr.take() {
            let _ = err.read_to_string(&mut message);
        }
        bail!("`git cat-file` failed: {}", message.trim());
    }
    Ok(files)
}
