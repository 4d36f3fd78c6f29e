//! OPA's bundle signature verification vectors (`../shared/conformance/opa-bundle/`, from
//! open-policy-agent/opa `v1/bundle/verify_test.go`): each must succeed or fail as in OPA.
#![cfg(test)]

use std::collections::BTreeMap;
use std::path::PathBuf;

use charter_engine::bundle::signature::verify_jwt;
use charter_engine::bundle::{
    BundleError, FileInfo, KeyConfig, VerificationConfig, verify_file, verify_signatures,
};
use serde_json::Value;

fn vectors() -> Option<Value> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../shared/conformance/opa-bundle/signature_verification_vectors.json");
    if !path.exists() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "`{}` is missing and CI=true",
            path.display()
        );
        eprintln!("skipped: `{}` is absent", path.display());
        return None;
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{e}"));
    Some(serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}")))
}

fn config(case: &Value) -> VerificationConfig {
    let mut keys = BTreeMap::new();
    if let Some(map) = case["keys"].as_object() {
        for (id, key) in map {
            keys.insert(
                id.clone(),
                KeyConfig {
                    key: key["key"].as_str().unwrap_or_default().as_bytes().to_vec(),
                    algorithm: key["algorithm"].as_str().unwrap_or_default().to_owned(),
                    scope: String::new(),
                },
            );
        }
    }
    VerificationConfig {
        keys,
        key_id: case["keyid"].as_str().unwrap_or_default().to_owned(),
        scope: case["scope"].as_str().unwrap_or_default().to_owned(),
    }
}

/// The error must be of the kind OPA's message names, where it names one.
fn assert_kind(name: &str, want: &str, got: &BundleError) {
    let ok = if want.contains("scope mismatch") {
        matches!(got, BundleError::ScopeMismatch { .. })
    } else if want.contains("not included in bundle signature") {
        matches!(got, BundleError::NotSigned(_))
    } else if want.contains("unsupported hashing algorithm") {
        matches!(got, BundleError::HashAlgorithm(_))
    } else if want.contains("digest mismatch") {
        matches!(got, BundleError::Digest { .. })
    } else if want.starts_with(".signatures.json") {
        matches!(got, BundleError::Signatures(_))
    } else if want.contains("unknown signature algorithm") || want.contains("PEM") {
        matches!(got, BundleError::Key(_))
    } else {
        matches!(got, BundleError::Jwt(_))
    };
    assert!(ok, "{name}: OPA says `{want}`, Charter `{got}` ({got:?})");
}

fn check(name: &str, case: &Value, result: Result<usize, BundleError>) -> usize {
    match (case["want_error"].as_str(), result) {
        (None, Ok(files)) => {
            if let Some(want) = case["want_files_count"].as_u64() {
                assert_eq!(files as u64, want, "{name}: signed files");
            }
            1
        }
        (None, Err(e)) => panic!("{name}: OPA accepts it, Charter refuses: {e}"),
        (Some(want), Ok(_)) => panic!("{name}: OPA refuses it (`{want}`), Charter accepts"),
        (Some(want), Err(e)) => {
            assert_kind(name, want, &e);
            1
        }
    }
}

#[test]
fn opa_signature_vectors() {
    let Some(vectors) = vectors() else { return };
    let mut checked = 0;
    for case in vectors["verify_bundle_signature"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = case["name"].as_str().unwrap_or("?");
        let tokens: Vec<String> = case["signatures"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect();
        let result = verify_signatures(&tokens, &config(case)).map(|files| files.len());
        checked += check(name, case, result);
    }
    for case in vectors["verify_jwt_signature"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = case["name"].as_str().unwrap_or("?");
        let token = case["token"].as_str().unwrap_or_default();
        let result = verify_jwt(token, &config(case)).map(|d| d.files.len());
        checked += check(name, case, result);
    }
    for case in vectors["verify_bundle_file"]
        .as_array()
        .into_iter()
        .flatten()
    {
        let name = case["name"].as_str().unwrap_or("?");
        let path = case["file"][0].as_str().unwrap_or_default();
        let content = case["file"][1].as_str().unwrap_or_default();
        let mut signed: BTreeMap<String, FileInfo> =
            serde_json::from_value::<BTreeMap<String, FileInfo>>(case["signed_files"].clone())
                .unwrap_or_else(|e| panic!("{name}: {e}"))
                .into_iter()
                .map(|(k, v)| (k.trim_start_matches('/').to_owned(), v))
                .collect();
        let result = verify_file(path, content.as_bytes(), &mut signed);
        // The digest OPA reports must be the one Charter computes (canonical JSON, MD5).
        if let (Some(want), Err(BundleError::Digest { got, .. })) =
            (case["want_error"].as_str(), &result)
        {
            assert!(
                want.contains(&format!("got: {got})")),
                "{name}: {want} vs {got}"
            );
        }
        checked += check(name, case, result.map(|()| 1));
    }
    assert_eq!(checked, 21, "every vector is checked");
}
