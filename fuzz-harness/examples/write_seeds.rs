//! Writes the seed corpus of the fuzz targets into `fuzz/corpus/<target>/seed-*`:
//! the sample mesh's contracts and the ODCS examples for `contract_read`, encoded access
//! requests for `access_decide`, and contract bytes (any bytes will do) for `rule_eval`.
//!
//! `cargo run -p charter-fuzz-harness --example write_seeds`

use std::path::Path;

use charter_fuzz_harness::repo;
use charter_proto::v1 as pb;
use prost::Message as _;

fn main() -> std::io::Result<()> {
    let corpus = repo().join("fuzz/corpus");
    let contracts = corpus.join("contract_read");
    let rules = corpus.join("rule_eval");
    std::fs::create_dir_all(&contracts)?;
    std::fs::create_dir_all(&rules)?;
    let mut sources = Vec::new();
    collect(&repo().join("testdata/mesh"), &mut sources)?;
    collect(&repo().join("testdata/schemas/odcs-examples"), &mut sources)?;
    for (i, path) in sources.iter().enumerate() {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("contract");
        let bytes = std::fs::read(path)?;
        std::fs::write(contracts.join(format!("seed-{name}")), &bytes)?;
        if i % 3 == 0 && bytes.len() < 16 * 1024 {
            std::fs::write(rules.join(format!("seed-{name}")), &bytes)?;
        }
    }

    let access = corpus.join("access_decide");
    std::fs::create_dir_all(&access)?;
    let principal = |id: &str, roles: &[&str]| pb::Principal {
        id: id.into(),
        roles: roles.iter().map(|r| (*r).to_owned()).collect(),
        groups: vec!["team-orders@acme.example".into()],
        attributes: [("region".to_owned(), "eu".to_owned())].into(),
    };
    let request =
        |principal: pb::Principal, product: pb::access_request::Product, columns: &[&str]| {
            pb::AccessRequest {
                principal: Some(principal),
                product: Some(product),
                columns: columns.iter().map(|c| (*c).to_owned()).collect(),
                ..pb::AccessRequest::default()
            }
        };
    let id = |s: &str| pb::access_request::Product::ProductId(s.into());
    let table = |s: &str| pb::access_request::Product::Table(s.into());
    let seeds = [
        request(
            principal("ana", &["analyst"]),
            id("orders.order_events"),
            &["order_id", "customer_id"],
        ),
        request(
            principal("ana", &["analyst"]),
            table("lake.orders.order_events"),
            &[],
        ),
        request(
            principal("sam", &["pii-reader", "analyst"]),
            id("customer-engagement.customer_profiles"),
            &[],
        ),
        request(
            principal("eve", &[]),
            id("billing.payments"),
            &["amount", "card_number"],
        ),
        pb::AccessRequest {
            purpose: "support".into(),
            dialect: "ansi".into(),
            explain: true,
            ..request(
                principal("max", &["support"]),
                id("customer-engagement.support_tickets"),
                &[],
            )
        },
        request(principal("ana", &["analyst"]), id("orders.missing"), &["x"]),
    ];
    for (i, seed) in seeds.iter().enumerate() {
        std::fs::write(access.join(format!("seed-{i}.pb")), seed.encode_to_vec())?;
    }
    Ok(())
}

fn collect(dir: &Path, out: &mut Vec<std::path::PathBuf>) -> std::io::Result<()> {
    let mut entries: Vec<_> = std::fs::read_dir(dir)?.collect::<Result<_, _>>()?;
    entries.sort_by_key(std::fs::DirEntry::path);
    for entry in entries {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            out.push(path);
        }
    }
    Ok(())
}
