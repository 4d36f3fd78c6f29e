//! Replays every seed and every input a fuzzer found (`fuzz/corpus/<target>/seed-*`,
//! `fuzz/regressions/<target>/*`) through the fuzz targets' bodies.
#![cfg(test)]

use std::path::PathBuf;

use charter_fuzz_harness::{access_decide, access_decided, contract_read, repo, rule_eval};

fn inputs(target: &str) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let corpus = repo().join("fuzz/corpus").join(target);
    let regressions = repo().join("fuzz/regressions").join(target);
    for (dir, seeds_only) in [(corpus, true), (regressions, false)] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if name.starts_with('.') || (seeds_only && !name.starts_with("seed-")) {
                continue;
            }
            files.push(entry.path());
        }
    }
    files.sort();
    files
}

fn replay(target: &str, body: fn(&[u8]), at_least: usize) {
    let files = inputs(target);
    assert!(
        files.len() >= at_least,
        "{target}: expected at least {at_least} inputs, found {}",
        files.len()
    );
    for file in files {
        let bytes = std::fs::read(&file).unwrap();
        if std::panic::catch_unwind(|| body(&bytes)).is_err() {
            panic!("{target} fails on {}", file.display());
        }
    }
}

#[test]
fn contract_read_inputs() {
    replay("contract_read", contract_read, 20);
}

#[test]
fn access_decide_inputs() {
    replay("access_decide", access_decide, 6);
    // Every seed is a well-formed request: it must reach a decision, or it tests nothing.
    for file in inputs("access_decide") {
        let name = file.file_name().unwrap().to_string_lossy().into_owned();
        if name.starts_with("seed-") {
            let bytes = std::fs::read(&file).unwrap();
            assert!(access_decided(&bytes), "{name} stops short of a decision");
        }
    }
}

#[test]
fn rule_eval_inputs() {
    replay("rule_eval", rule_eval, 5);
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig { cases: 300, ..Default::default() })]

    /// Beyond the corpus: generated products through both rule engines.
    #[test]
    fn rule_eval_generated(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..4096)) {
        rule_eval(&bytes);
    }
}
