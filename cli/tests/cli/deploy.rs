//! `deploy/`: the Kubernetes manifests validate against the Kubernetes schemas (with the
//! packaged validator `kubernetes-validate`, which ships the schemas: nothing is downloaded),
//! every flag the Deployment passes is one `charter serve` accepts, the probes are gRPC
//! health checks, and the Containerfile's run-time stage is non-root and shell-less.
#![cfg(test)]

use std::path::PathBuf;
use std::process::Command;

use crate::common::{charter, repo, stdout};

fn manifests() -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo().join("deploy/kubernetes"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "yaml"))
        .collect();
    files.sort();
    files
}

fn yaml(path: &std::path::Path) -> serde_json::Value {
    yaml_serde::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The validator: `$CHARTER_K8S_VALIDATE`, else `kubernetes-validate` on the PATH.
fn validator() -> Option<PathBuf> {
    let candidate = std::env::var_os("CHARTER_K8S_VALIDATE")
        .map_or_else(|| PathBuf::from("kubernetes-validate"), PathBuf::from);
    Command::new(&candidate)
        .arg("--version")
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|_| candidate)
}

#[test]
fn manifests_validate_against_the_kubernetes_schemas() {
    let Some(validator) = validator() else {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "kubernetes-validate is missing and CI=true (.ci/run installs it)"
        );
        eprintln!(
            "skipped: kubernetes-validate not found (pip install kubernetes-validate, or set CHARTER_K8S_VALIDATE)"
        );
        return;
    };
    let files = manifests();
    let kinds: Vec<String> = files
        .iter()
        .map(|f| yaml(f)["kind"].as_str().unwrap().to_owned())
        .collect();
    for kind in [
        "ConfigMap",
        "Deployment",
        "HorizontalPodAutoscaler",
        "PodDisruptionBudget",
        "Service",
    ] {
        assert!(
            kinds.iter().any(|k| k == kind),
            "no {kind} in deploy/kubernetes"
        );
    }
    let out = Command::new(&validator)
        .arg("--strict")
        .args(&files)
        .output()
        .unwrap();
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{text}");
    assert_eq!(text.matches("passed").count(), files.len(), "{text}");

    // The validator does reject a misspelt field (so a pass means something).
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yaml");
    let text = std::fs::read_to_string(repo().join("deploy/kubernetes/deployment.yaml")).unwrap();
    std::fs::write(
        &bad,
        text.replace("readOnlyRootFilesystem", "readOnlyRootFileSystem"),
    )
    .unwrap();
    let out = Command::new(&validator)
        .arg("--strict")
        .arg(&bad)
        .output()
        .unwrap();
    assert!(!out.status.success());
}

#[test]
fn the_deployment_passes_only_flags_serve_accepts_and_probes_grpc_health() {
    let help = stdout(&charter(&["serve", "--help"]));
    let deployment = yaml(&repo().join("deploy/kubernetes/deployment.yaml"));
    let pod = &deployment["spec"]["template"]["spec"];
    let container = &pod["containers"][0];
    let args = container["args"].as_array().unwrap();
    assert_eq!(args[0], "serve");
    for arg in &args[1..] {
        let flag = arg.as_str().unwrap().split('=').next().unwrap();
        assert!(
            help.contains(&format!("{flag} ")) || help.contains(&format!("{flag}\n")),
            "`{flag}` is not a flag of charter serve"
        );
    }
    // Every $(VAR) comes from the ConfigMap.
    let config = yaml(&repo().join("deploy/kubernetes/configmap.yaml"));
    for arg in args {
        let arg = arg.as_str().unwrap();
        if let Some(start) = arg.find("$(") {
            let var = &arg[start + 2..arg.len() - 1];
            assert!(
                !config["data"][var].is_null(),
                "{var} is not in the ConfigMap"
            );
        }
    }
    for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
        assert_eq!(container[probe]["grpc"]["port"], 50051, "{probe}");
    }
    assert_eq!(
        container["readinessProbe"]["grpc"]["service"],
        "charter.v1.DecisionService"
    );
    assert_eq!(pod["securityContext"]["runAsNonRoot"], true);
    assert_eq!(container["securityContext"]["readOnlyRootFilesystem"], true);
}

#[test]
fn the_container_runs_without_root_or_shell() {
    let text = std::fs::read_to_string(repo().join("deploy/Containerfile")).unwrap();
    let stages: Vec<&str> = text.split("\nFROM ").skip(1).collect();
    assert!(stages.len() >= 2, "multi-stage");
    let run = stages.last().unwrap();
    assert!(
        run.starts_with("gcr.io/distroless/"),
        "the run-time image has no shell: {run}"
    );
    assert!(
        !run.contains("\nRUN "),
        "nothing runs in the run-time stage"
    );
    let user = run.lines().find_map(|l| l.strip_prefix("USER ")).unwrap();
    assert!(
        !user.starts_with('0') && !user.starts_with("root"),
        "USER {user}"
    );
    assert!(
        run.contains("ENTRYPOINT [\"/usr/local/bin/charter\"]"),
        "exec form, no shell"
    );
}
