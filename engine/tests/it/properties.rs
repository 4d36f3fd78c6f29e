//! Invariants over generated input: reading never panics, and every contract file yields
//! a product or a `contract/parse` finding with a line — never neither, never both.
#![cfg(test)]

use charter_engine::check::{CheckOptions, NoProgress, PARSE_RULE, check_files};
use charter_engine::contract::{ReaderSettings, read_bytes};
use charter_engine::mesh::{LoadOptions, discover};
use charter_engine::rules::{RuleSet, RuleSetOptions};
use proptest::prelude::*;
use proptest::strategy::ValueTree;

const SEED: &str = include_str!("../../../testdata/mesh/domains/orders/order_events.yaml");

/// A contract mutated at a random place: a byte replaced, a line dropped or duplicated,
/// or a fragment of YAML syntax inserted.
fn mutated() -> impl Strategy<Value = Vec<u8>> {
    let fragments = prop::sample::select(vec![
        "", ":", "- ", "[", "]", "{", "}", "&a ", "*a", "!!int ", "|", ">", "\"", "'", "\t", "\n",
        "? ", "---\n", "null", "~", "1e999", "-1", "0x1F", "true", "\u{feff}", "\u{0}", "  ", "#",
    ]);
    (0..SEED.len(), fragments, 0u8..4, any::<u8>()).prop_map(|(at, fragment, how, byte)| {
        let mut bytes = SEED.as_bytes().to_vec();
        match how {
            0 => bytes.splice(at..at, fragment.bytes()).for_each(drop),
            1 => bytes[at] = byte,
            2 => {
                let start = SEED[..at].rfind('\n').map_or(0, |i| i + 1);
                let end = SEED[at..].find('\n').map_or(SEED.len(), |i| at + i + 1);
                bytes.drain(start..end);
            }
            _ => {
                let start = SEED[..at].rfind('\n').map_or(0, |i| i + 1);
                let end = SEED[at..].find('\n').map_or(SEED.len(), |i| at + i + 1);
                let line = bytes[start..end].to_vec();
                bytes.splice(end..end, line).for_each(drop);
            }
        }
        bytes
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn reading_mutated_contracts_never_panics_and_errors_have_lines(bytes in mutated()) {
        let lines = bytes.iter().filter(|&&b| b == b'\n').count() as u32 + 1;
        match read_bytes("c.yaml", &bytes, &ReaderSettings::default()) {
            Ok(contract) => {
                let line = contract.locations.line("fields[0].masking");
                prop_assert!((1..=lines).contains(&line), "line {line} of {lines}");
            }
            Err(e) => {
                prop_assert!(e.line >= 1 && e.line <= lines + 1, "line {} of {lines}: {}", e.line, e.message);
                prop_assert!(!e.message.is_empty());
            }
        }
    }

    #[test]
    fn reading_arbitrary_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        let _ = read_bytes("c.yaml", &bytes, &ReaderSettings::default());
    }
}

#[test]
fn every_file_yields_a_product_or_a_parse_finding() {
    let dir = tempfile::tempdir().unwrap();
    let mut runner = proptest::test_runner::TestRunner::deterministic();
    let strategy = mutated();
    for i in 0..60 {
        let bytes = strategy.new_tree(&mut runner).unwrap().current();
        std::fs::write(dir.path().join(format!("c{i:02}.yaml")), bytes).unwrap();
    }
    let files = discover(dir.path(), &LoadOptions::default()).unwrap();
    let pack = charter_engine::PolicyPack::from_files(charter_policies::files()).unwrap();
    let rules = RuleSet::compile(&pack, RuleSetOptions::default()).unwrap();
    let report = check_files(
        &files,
        &rules,
        &ReaderSettings::from_settings(pack.settings()),
        &CheckOptions::default(),
        &NoProgress,
    );
    for file in &files {
        let product = report.products.iter().any(|p| p.file == file.display);
        let parse = report
            .findings
            .iter()
            .any(|f| f.file == file.display && f.rule == PARSE_RULE);
        assert!(
            product != parse,
            "{}: product {product}, parse finding {parse}",
            file.display
        );
    }
    assert_eq!(
        report.products.len() + report.summary.unreadable,
        files.len()
    );
}
