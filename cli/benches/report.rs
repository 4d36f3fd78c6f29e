#![expect(
    clippy::print_stdout,
    clippy::print_stderr,
    reason = "a benchmark reports on its terminal"
)]

//! `charter report --format json` over a synthetic mesh of 10,000 contracts, cold and warm.
//!
//! Run with `cargo bench -p charter-cli --bench report` (release build). The mesh is
//! generated deterministically (8–30 fields per contract, both formats, a share of
//! violations) under `target/bench-mesh-<N>/` and reused across runs. `CHARTER_BENCH_CONTRACTS`
//! sets N (default 10000). Prints wall times and contracts per second.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

const DOMAINS: [&str; 8] = [
    "orders",
    "inventory",
    "customer-engagement",
    "billing",
    "logistics",
    "marketing",
    "finance",
    "support",
];
const PII_NAMES: [(&str, &str); 6] = [
    ("email", "hash"),
    ("phone", "last4"),
    ("shipping_address", "redact"),
    ("ip_address", "hash"),
    ("birth_date", "nullify"),
    ("customer_id", "hash"),
];
const ROLES: [&str; 6] = [
    "analyst",
    "data-scientist",
    "finance-analyst",
    "marketing-analyst",
    "ops-analyst",
    "support-agent",
];

/// A tiny deterministic generator (xorshift), so every run sees the same mesh.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

fn seed_contract(i: usize, rng: &mut Rng) -> String {
    let domain = DOMAINS[i % DOMAINS.len()];
    let fields = 8 + rng.below(23) as usize;
    let violate = rng.below(5) == 0;
    let mut s = String::new();
    let _ = write!(
        s,
        "apiVersion: datamesh.io/v1\nkind: DataProduct\nmetadata:\n  name: {domain}.product_{i}\n  domain: {domain}\n  version: {}.{}.0\nspec:\n  owner: \"team-{domain}@acme.example\"\n  status: active\n  classification: {}\n  retention: {{ period: \"{}d\" }}\n  sla:\n    freshness: \"{}m\"\n    availability: \"{}%\"\n  schema:\n    type: iceberg\n    fields:\n      - name: id\n        type: string\n        constraints: {{ primary_key: true, null: false }}\n",
        1 + rng.below(3),
        rng.below(10),
        if violate { "restricted" } else { "internal" },
        if violate { 900 } else { 365 },
        5 + rng.below(60),
        if rng.below(10) == 0 { "98.5" } else { "99.9" },
    );
    for f in 1..fields {
        if f % 5 == 0 {
            let (name, masking) = PII_NAMES[f / 5 % PII_NAMES.len()];
            let masking = if violate && f == 5 {
                String::new()
            } else {
                format!(", masking: {masking}")
            };
            let _ = write!(
                s,
                "      - name: {name}_{f}\n        type: string\n        constraints: {{ pii: true{masking} }}\n"
            );
        } else {
            let name = if violate && f == 3 {
                format!("metricValue{f}")
            } else {
                format!("metric_{f}")
            };
            let _ = write!(
                s,
                "      - name: {name}\n        type: decimal(18,2)\n        constraints: {{ null: true }}\n"
            );
        }
    }
    let _ = write!(
        s,
        "  quality:\n    checks:\n      - column: id\n        assertion: expect_column_values_to_not_be_null\n        threshold: 1.0\n      - column: metric_1\n        assertion: expect_column_values_to_be_between\n        threshold: 0.95\n  lineage:\n    upstream: [\"raw.kafka.events_{i}\"]\n    downstream: []\n  access:\n    roles: [\"{}\", \"{}\"]\n  interfaces:\n    - {{ type: trino, table: lake.{}.product_{i} }}\n",
        ROLES[rng.below(6) as usize],
        ROLES[rng.below(6) as usize],
        domain.replace('-', "_"),
    );
    s
}

fn odcs_contract(i: usize, rng: &mut Rng) -> String {
    let domain = DOMAINS[i % DOMAINS.len()];
    let fields = 8 + rng.below(23) as usize;
    let mut s = String::new();
    let _ = write!(
        s,
        "apiVersion: v3.1.0\nkind: DataContract\nid: 00000000-0000-4000-8000-{i:012}\ndomain: {domain}\nname: product_{i}\nversion: 1.{}.0\nstatus: active\nservers:\n  - {{ server: lake, type: trino, catalog: lake, schema: {} }}\nschema:\n  - name: product_{i}\n    physicalName: product_{i}\n    properties:\n      - name: id\n        logicalType: string\n        required: true\n        primaryKey: true\n        quality:\n          - {{ metric: nullValues, mustBe: 0 }}\n",
        rng.below(10),
        domain.replace('-', "_"),
    );
    for f in 1..fields {
        if f % 6 == 0 {
            let (name, masking) = PII_NAMES[f / 6 % PII_NAMES.len()];
            let _ = write!(
                s,
                "      - name: {name}_{f}\n        logicalType: string\n        classification: pii\n        customProperties:\n          - {{ property: masking, value: {masking} }}\n"
            );
        } else {
            let _ = write!(
                s,
                "      - name: attribute_{f}\n        logicalType: number\n"
            );
        }
    }
    let _ = write!(
        s,
        "team:\n  name: team-{domain}\n  members:\n    - {{ username: \"team-{domain}@acme.example\", role: Owner }}\nroles:\n  - {{ role: {}, access: read }}\nslaProperties:\n  - {{ property: latency, value: {}, unit: m }}\n  - {{ property: retention, value: 365, unit: d }}\n  - {{ property: availability, value: 99.9 }}\ncustomProperties:\n  - {{ property: classification, value: internal }}\n",
        ROLES[rng.below(6) as usize],
        5 + rng.below(60),
    );
    s
}

fn generate(root: &Path, count: usize) -> std::io::Result<()> {
    let marker = root.join(".complete");
    if marker.exists() {
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(root);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    for i in 0..count {
        let domain = DOMAINS[i % DOMAINS.len()];
        let dir = root.join("domains").join(domain);
        std::fs::create_dir_all(&dir)?;
        let text = if i % 4 == 3 {
            odcs_contract(i, &mut rng)
        } else {
            seed_contract(i, &mut rng)
        };
        std::fs::write(dir.join(format!("product_{i}.yaml")), text)?;
    }
    std::fs::write(marker, "")
}

fn run(root: &Path, cache: &Path) -> Duration {
    let start = Instant::now();
    let output = Command::new(env!("CARGO_BIN_EXE_charter"))
        .args([
            "report",
            "--format",
            "json",
            "--fail-on",
            "never",
            "--cache-dir",
        ])
        .arg(cache)
        .arg(root)
        .output();
    let elapsed = start.elapsed();
    match output {
        Ok(out) if out.status.success() => elapsed,
        Ok(out) => {
            eprintln!("charter failed: {}", String::from_utf8_lossy(&out.stderr));
            std::process::exit(1)
        }
        Err(e) => {
            eprintln!("cannot run charter: {e}");
            std::process::exit(1)
        }
    }
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` does not, and we skip the work then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let count: usize = std::env::var("CHARTER_BENCH_CONTRACTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    let target = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target");
    let root = target.join(format!("bench-mesh-{count}"));
    let cache = target.join(format!("bench-cache-{count}"));
    if let Err(e) = generate(&root, count) {
        eprintln!("cannot generate the mesh: {e}");
        std::process::exit(1);
    }
    let rate = |d: Duration| count as f64 / d.as_secs_f64();
    let mut cold = Vec::new();
    let mut warm = Vec::new();
    for _ in 0..3 {
        let _ = std::fs::remove_dir_all(&cache);
        cold.push(run(&root, &cache));
        warm.push(run(&root, &cache));
    }
    cold.sort();
    warm.sort();
    let (c, w) = (cold[1], warm[1]);
    println!(
        "report --format json over {count} contracts ({} cores):",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!(
        "  cold (no cache):    median {:>7.3} s  ({:>8.0} contracts/s)  runs {:?}",
        c.as_secs_f64(),
        rate(c),
        cold
    );
    println!(
        "  warm (all cached):  median {:>7.3} s  ({:>8.0} contracts/s)  runs {:?}",
        w.as_secs_f64(),
        rate(w),
        warm
    );
}
