//! `charter bundle build|verify|inspect` end to end: the real binary on copies of the sample
//! mesh, bundles tampered with by the test (files changed, added, removed; links and paths
//! leaving the root) refused with the file at fault and exit code 1.
#![cfg(test)]

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::common::{charter_in, repo, stderr, stdout};

const RSA_KEY: &str = "testdata/bundle/rsa-test-key.pem";
const RSA_PUB: &str = "testdata/bundle/rsa-test-key.pub.pem";

fn key(name: &str) -> String {
    repo().join(name).display().to_string()
}

fn mesh() -> String {
    repo().join("testdata/mesh").display().to_string()
}

/// Builds a bundle into `dir` with extra `args`; returns its path.
fn build(dir: &Path, name: &str, args: &[&str]) -> PathBuf {
    let out = dir.join(name);
    let mesh = mesh();
    let mut all = vec!["bundle", "build", "--mesh", &mesh, "--output"];
    let out_s = out.display().to_string();
    all.push(&out_s);
    all.extend_from_slice(args);
    let o = charter_in(dir, &all);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    out
}

fn verify(dir: &Path, bundle: &Path, args: &[&str]) -> (Option<i32>, String) {
    let b = bundle.display().to_string();
    let mut all = vec!["bundle", "verify", &b];
    all.extend_from_slice(args);
    let o = charter_in(dir, &all);
    (o.status.code(), stdout(&o) + &stderr(&o))
}

/// Every entry of a tar.gz: (header, bytes).
fn entries(bundle: &Path) -> Vec<(tar::Header, Vec<u8>)> {
    let bytes = std::fs::read(bundle).unwrap();
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes.as_slice()));
    archive
        .entries()
        .unwrap()
        .map(|e| {
            let mut e = e.unwrap();
            let mut data = Vec::new();
            e.read_to_end(&mut data).unwrap();
            (e.header().clone(), data)
        })
        .collect()
}

fn write(bundle: &Path, entries: &[(tar::Header, Vec<u8>)]) {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    for (header, data) in entries {
        let mut header = header.clone();
        header.set_size(data.len() as u64);
        header.set_cksum();
        tar.append(&header, data.as_slice()).unwrap();
    }
    std::fs::write(bundle, tar.into_inner().unwrap().finish().unwrap()).unwrap();
}

fn file_header(path: &str) -> tar::Header {
    let mut h = tar::Header::new_gnu();
    h.set_path(path).unwrap();
    h.set_mode(0o644);
    h.set_entry_type(tar::EntryType::Regular);
    h
}

#[test]
fn builds_are_deterministic_and_carry_the_layout() {
    let dir = tempfile::tempdir().unwrap();
    let a = build(dir.path(), "a.tar.gz", &[]);
    let b = build(dir.path(), "b.tar.gz", &[]);
    assert_eq!(std::fs::read(&a).unwrap(), std::fs::read(&b).unwrap());
    let s = build(
        dir.path(),
        "s1.tar.gz",
        &["--signing-key", &key(RSA_KEY), "--signing-alg", "RS256"],
    );
    let t = build(
        dir.path(),
        "s2.tar.gz",
        &["--signing-key", &key(RSA_KEY), "--signing-alg", "RS256"],
    );
    assert_eq!(std::fs::read(&s).unwrap(), std::fs::read(&t).unwrap());

    let names: Vec<String> = entries(&s)
        .iter()
        .map(|(h, _)| h.path().unwrap().display().to_string())
        .collect();
    let mut sorted = names.clone();
    sorted.sort();
    assert_eq!(names, sorted, "entries are sorted");
    assert!(names.contains(&".manifest".to_owned()));
    assert!(names.contains(&".signatures.json".to_owned()));
    assert!(names.contains(&"charter/policies/cedar/products.cedar".to_owned()));
    assert!(names.contains(&"charter/contracts/domains/billing/invoices.yaml".to_owned()));
    for (h, _) in entries(&s) {
        assert_eq!(
            (h.mtime().unwrap(), h.uid().unwrap(), h.mode().unwrap()),
            (0, 0, 0o644)
        );
    }
    // Every contract and pack file of the sources is in the bundle, byte for byte.
    let contracts: Vec<_> = walkdir::WalkDir::new(repo().join("testdata/mesh"))
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && e.path().extension().is_some_and(|x| x == "yaml"))
        .collect();
    for e in &contracts {
        let rel = e.path().strip_prefix(repo().join("testdata/mesh")).unwrap();
        if rel == Path::new("waivers.yaml") {
            continue;
        }
        let name = format!("charter/contracts/{}", rel.display());
        let (_, data) = entries(&s)
            .into_iter()
            .find(|(h, _)| h.path().unwrap().display().to_string() == name)
            .unwrap_or_else(|| panic!("{name} is missing"));
        assert_eq!(data, std::fs::read(e.path()).unwrap(), "{name}");
    }

    let manifest: serde_json::Value = serde_json::from_slice(
        &entries(&s)
            .into_iter()
            .find(|(h, _)| h.path().unwrap() == Path::new(".manifest"))
            .unwrap()
            .1,
    )
    .unwrap();
    assert_eq!(manifest["roots"], serde_json::json!(["charter"]));
    assert_eq!(
        manifest["metadata"]["charter"]["version"],
        env!("CARGO_PKG_VERSION")
    );
    let o = charter_in(
        dir.path(),
        &[
            "bundle",
            "inspect",
            &s.display().to_string(),
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0));
    let inspected: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(inspected["manifest"], manifest);
    assert_eq!(inspected["signature"]["alg"], "RS256");
}

#[test]
fn the_revision_follows_the_content_unless_given() {
    let dir = tempfile::tempdir().unwrap();
    let mesh = dir.path().join("mesh");
    crate::common::copy_dir(&repo().join("testdata/mesh"), &mesh);
    let revision = |name: &str, extra: &[&str]| {
        let out = dir.path().join(name).display().to_string();
        let m = mesh.display().to_string();
        let mut args = vec!["bundle", "build", "--mesh", &m, "--output", &out];
        args.extend_from_slice(extra);
        assert_eq!(charter_in(dir.path(), &args).status.code(), Some(0));
        let o = charter_in(dir.path(), &["bundle", "inspect", &out, "--format", "json"]);
        let v: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
        v["manifest"]["revision"].as_str().unwrap().to_owned()
    };
    let first = revision("1.tar.gz", &[]);
    assert_eq!(revision("2.tar.gz", &[]), first);
    let file = mesh.join("domains/billing/invoices.yaml");
    let text = std::fs::read_to_string(&file).unwrap();
    std::fs::write(&file, text.replace("invoices", "invoices2")).unwrap();
    assert_ne!(revision("3.tar.gz", &[]), first);
    assert_eq!(
        revision("4.tar.gz", &["--revision", "release-7"]),
        "release-7"
    );
}

#[test]
fn signatures_are_checked_against_the_configured_key() {
    let dir = tempfile::tempdir().unwrap();
    let unsigned = build(dir.path(), "u.tar.gz", &[]);
    let signed = build(
        dir.path(),
        "s.tar.gz",
        &[
            "--signing-key",
            &key(RSA_KEY),
            "--signing-alg",
            "RS256",
            "--signing-key-id",
            "prod",
        ],
    );
    let pubkey = key(RSA_PUB);
    assert_eq!(
        verify(dir.path(), &signed, &["--verification-key", &pubkey]).0,
        Some(0)
    );
    assert_eq!(verify(dir.path(), &unsigned, &[]).0, Some(0));
    let (code, out) = verify(dir.path(), &unsigned, &["--verification-key", &pubkey]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not signed"), "{out}");
    let (code, out) = verify(dir.path(), &signed, &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("no verification key"), "{out}");
    // HS256 with the wrong secret; ES256 with another key pair.
    std::fs::write(dir.path().join("secret"), "right").unwrap();
    std::fs::write(dir.path().join("wrong"), "wrong").unwrap();
    let hs = build(
        dir.path(),
        "h.tar.gz",
        &["--signing-key", "secret", "--signing-alg", "HS256"],
    );
    assert_eq!(
        verify(dir.path(), &hs, &["--verification-key", "secret"]).0,
        Some(0)
    );
    assert_eq!(
        verify(dir.path(), &hs, &["--verification-key", "wrong"]).0,
        Some(1)
    );
    let ec = rcgen::KeyPair::generate().unwrap();
    std::fs::write(dir.path().join("ec.pem"), ec.serialize_pem()).unwrap();
    std::fs::write(dir.path().join("ec.pub"), ec.public_key_pem()).unwrap();
    let other = rcgen::KeyPair::generate().unwrap();
    std::fs::write(dir.path().join("other.pub"), other.public_key_pem()).unwrap();
    let es = build(
        dir.path(),
        "e.tar.gz",
        &["--signing-key", "ec.pem", "--signing-alg", "ES256"],
    );
    assert_eq!(
        verify(dir.path(), &es, &["--verification-key", "ec.pub"]).0,
        Some(0)
    );
    let (code, out) = verify(dir.path(), &es, &["--verification-key", "other.pub"]);
    assert_eq!(code, Some(1), "{out}");
    // A key that cannot be read: could not check.
    assert_eq!(
        verify(dir.path(), &signed, &["--verification-key", "absent.pem"]).0,
        Some(2)
    );
}

#[test]
fn tampered_bundles_are_refused_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let signed = build(
        dir.path(),
        "s.tar.gz",
        &["--signing-key", &key(RSA_KEY), "--signing-alg", "RS256"],
    );
    let pubkey = key(RSA_PUB);
    let original = entries(&signed);
    let target = "charter/contracts/domains/billing/invoices.yaml";
    let check = |name: &str, entries: Vec<(tar::Header, Vec<u8>)>, expect: &[&str]| {
        let path = dir.path().join(name);
        write(&path, &entries);
        let (code, out) = verify(dir.path(), &path, &["--verification-key", &pubkey]);
        assert_eq!(code, Some(1), "{name}: {out}");
        for e in expect {
            assert!(out.contains(e), "{name}: `{e}` not in {out}");
        }
    };
    // A changed file.
    let mut changed = original.clone();
    for (h, data) in &mut changed {
        if h.path().unwrap() == Path::new(target) {
            data.extend_from_slice(b"\n# changed\n");
        }
    }
    check("changed.tar.gz", changed, &["digest mismatch", target]);
    // A file the signature does not list.
    let mut extra = original.clone();
    extra.push((
        file_header("charter/contracts/extra.yaml"),
        b"x: 1\n".to_vec(),
    ));
    check(
        "extra.tar.gz",
        extra,
        &[
            "not included in bundle signature",
            "charter/contracts/extra.yaml",
        ],
    );
    // A signed file removed.
    let missing: Vec<_> = original
        .iter()
        .filter(|(h, _)| h.path().unwrap() != Path::new(target))
        .cloned()
        .collect();
    check(
        "missing.tar.gz",
        missing,
        &["not found in the bundle", target],
    );
    // A changed manifest (hashed as canonical JSON: reformatting alone is accepted).
    let mut reformatted = original.clone();
    for (h, data) in &mut reformatted {
        if h.path().unwrap() == Path::new(".manifest") {
            let v: serde_json::Value = serde_json::from_slice(data).unwrap();
            *data = serde_json::to_vec_pretty(&v).unwrap();
        }
    }
    let path = dir.path().join("reformatted.tar.gz");
    write(&path, &reformatted);
    assert_eq!(
        verify(dir.path(), &path, &["--verification-key", &pubkey]).0,
        Some(0)
    );
    // A symbolic link, a path leaving the root.
    let mut link = original.clone();
    let mut h = tar::Header::new_gnu();
    h.set_path("charter/contracts/link.yaml").unwrap();
    h.set_entry_type(tar::EntryType::Symlink);
    h.set_link_name("/etc/passwd").unwrap();
    link.push((h, Vec::new()));
    check(
        "link.tar.gz",
        link,
        &["symbolic link", "charter/contracts/link.yaml"],
    );
    let mut escape = original.clone();
    let mut h = tar::Header::new_old();
    h.as_old_mut().name[..17].copy_from_slice(b"../../escape.yaml");
    h.set_entry_type(tar::EntryType::Regular);
    h.set_mode(0o644);
    escape.push((h, b"x".to_vec()));
    check("escape.tar.gz", escape, &["leaves the bundle's root"]);
    // Not a gzip at all.
    std::fs::write(dir.path().join("junk.tar.gz"), b"not a bundle").unwrap();
    let (code, out) = verify(dir.path(), &dir.path().join("junk.tar.gz"), &[]);
    assert_eq!(code, Some(1), "{out}");
    assert!(out.contains("not a gzipped tar"), "{out}");
}
