//! Latency percentiles of whole decisions (product, 20 columns, masks, row filters) on
//! the synthetic 1,000-product mesh. A long run, so `#[ignore]`:
//!
//! ```text
//! cargo test --release -p charter-engine --test it -- --ignored --nocapture decision_latency
//! ```

use std::time::{Duration, Instant};

use charter_engine::access::AccessEngine;

use super::generate;
use super::support::{default_pack, mesh_from_products};

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let rank = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[rank.min(sorted.len() - 1)]
}

#[test]
#[ignore = "a long timing run; use --release"]
fn decision_latency() {
    let pack = default_pack();
    let mesh = mesh_from_products(generate::products(1_000));
    let started = Instant::now();
    let engine = AccessEngine::new(&pack, &mesh).expect("the engine builds");
    let build = started.elapsed();
    let requests: Vec<_> = (0..1_000).map(generate::request).collect();
    for r in &requests {
        std::hint::black_box(engine.decide(r).expect("decides"));
    }
    let total = 100_000;
    let mut samples = Vec::with_capacity(total);
    for i in 0..total {
        let request = &requests[(i * 7919) % requests.len()];
        let t = Instant::now();
        let decision = engine.decide(request).expect("decides");
        samples.push(t.elapsed());
        std::hint::black_box(decision);
    }
    samples.sort_unstable();
    let mean = samples.iter().sum::<Duration>() / u32::try_from(samples.len()).expect("fits");
    println!(
        "1,000 products, 20-column requests, {total} decisions: build {build:?}; mean {mean:?}, \
         p50 {:?}, p90 {:?}, p99 {:?}, p99.9 {:?}, max {:?}",
        percentile(&samples, 0.50),
        percentile(&samples, 0.90),
        percentile(&samples, 0.99),
        percentile(&samples, 0.999),
        samples[samples.len() - 1],
    );
}
