//! Access decisions on a synthetic 1,000-product mesh (24 columns a product), default
//! pack: whole decisions for 20-column requests (product, columns, masks, row filters),
//! and building the engine (what a reload costs).
//!
//! ```text
//! cargo bench -p charter-engine --bench access
//! ```
//! Percentiles (criterion reports mean and median) come from the `#[ignore]` test
//! `decision_latency` in `engine/tests/it/access/timing.rs`.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "benchmark setup: a broken fixture should stop the run"
)]

use std::collections::BTreeMap;
use std::hint::black_box;
use std::sync::Arc;

use charter_engine::PolicyPack;
use charter_engine::access::{AccessEngine, AccessPolicies};
use charter_engine::mesh::Mesh;
use criterion::{Criterion, criterion_group, criterion_main};

#[path = "../tests/it/access/generate.rs"]
mod generate;

/// The allocator of the `charter` binary (and so of `charter serve`).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn pack() -> PolicyPack {
    let files: BTreeMap<String, &str> = charter_policies::files().into_iter().collect();
    PolicyPack::from_files(files).expect("the default pack reads")
}

fn mesh(n: usize) -> Mesh {
    generate::mesh(&generate::products(n))
}

fn decisions(c: &mut Criterion) {
    let pack = pack();
    let mesh = mesh(1_000);
    let policies = Arc::new(AccessPolicies::from_pack(&pack).expect("the default pack validates"));
    let engine = AccessEngine::with_policies(policies.clone(), &mesh).expect("the engine builds");
    let requests: Vec<_> = (0..1_000).map(generate::request).collect();

    let mut group = c.benchmark_group("access");
    let mut i = 0;
    group.bench_function("decide 20 columns, 1000 products", |b| {
        b.iter(|| {
            i = (i + 7919) % requests.len();
            black_box(engine.decide(&requests[i]))
        });
    });
    let all_columns: Vec<_> = requests
        .iter()
        .map(|r| charter_engine::access::AccessRequest {
            columns: Vec::new(),
            ..r.clone()
        })
        .collect();
    group.bench_function("decide whole product (24 columns)", |b| {
        b.iter(|| {
            i = (i + 7919) % all_columns.len();
            black_box(engine.decide(&all_columns[i]))
        });
    });
    group.bench_function("explain 20 columns", |b| {
        b.iter(|| {
            i = (i + 7919) % requests.len();
            black_box(engine.explain(&requests[i]))
        });
    });
    group.finish();

    let mut build = c.benchmark_group("access build");
    build.sample_size(10);
    build.bench_function("engine for 1000 products (prepared policies)", |b| {
        b.iter(|| black_box(AccessEngine::with_policies(policies.clone(), &mesh).is_ok()));
    });
    build.bench_function("policies of the default pack", |b| {
        b.iter(|| black_box(AccessPolicies::from_pack(&pack).is_ok()));
    });
    build.finish();
}

criterion_group!(benches, decisions);
criterion_main!(benches);
