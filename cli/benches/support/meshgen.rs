//! The benchmarks' synthetic mesh: deterministic, shaped like a large real one.
//!
//! `domains` × `per_domain` products (40 × 250 by default), three in four in the seed
//! format and one in four ODCS; 8–30 fields each; PII fields, most with a masking method and
//! some without (a finding); PII-looking names left unmarked; a `region` column on a share
//! of products; lineage inside the domain, across domains and to sources outside the mesh;
//! a share of products with other violations. [`wide_product`] adds the product the access
//! benchmarks query: 40 distinct columns, 8 of them PII with a mask, and a `region` column.

#![allow(dead_code, reason = "each benchmark uses part of the generator")]

use std::fmt::Write as _;
use std::path::Path;

const AREAS: [&str; 8] = [
    "orders",
    "inventory",
    "customer",
    "billing",
    "logistics",
    "marketing",
    "finance",
    "support",
];
const UNITS: [&str; 5] = ["core", "analytics", "ops", "partner", "eu"];
const PII: [(&str, &str); 8] = [
    ("email", "hash"),
    ("phone", "last4"),
    ("shipping_address", "redact"),
    ("ip_address", "hash"),
    ("birth_date", "nullify"),
    ("customer_id", "hash"),
    ("iban", "last4"),
    ("full_name", "redact"),
];
const ROLES: [&str; 6] = [
    "analyst",
    "data-scientist",
    "finance-analyst",
    "marketing-analyst",
    "ops-analyst",
    "support-agent",
];

/// The mesh's shape.
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    /// Number of domains (at most 40).
    pub domains: usize,
    /// Products per domain.
    pub per_domain: usize,
}

impl Shape {
    /// 40 domains × 250 products, the shape of the performance figures.
    pub const LARGE: Self = Self {
        domains: 40,
        per_domain: 250,
    };

    /// The number of products.
    pub fn products(self) -> usize {
        self.domains * self.per_domain
    }

    /// A folder name that tells shapes (and generator versions) apart.
    pub fn folder(self) -> String {
        format!("bench-mesh-v3-{}x{}", self.domains, self.per_domain)
    }
}

/// The name of domain `d`.
pub fn domain(d: usize) -> String {
    format!(
        "{}-{}",
        AREAS[d % AREAS.len()],
        UNITS[d / AREAS.len() % UNITS.len()]
    )
}

/// The id of product `p` of domain `d`.
pub fn product_id(d: usize, p: usize) -> String {
    format!("{}.product_{p:04}", domain(d))
}

/// A tiny deterministic generator (xorshift), so every run sees the same mesh.
pub struct Rng(u64);

impl Rng {
    /// A generator from a non-zero seed.
    pub fn new(seed: u64) -> Self {
        Self(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    /// A number in `0..n`.
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// One generated field.
struct Field {
    name: String,
    /// `Some(masking)` for PII: `Some("")` is PII without a masking method.
    pii: Option<&'static str>,
}

/// The fields of product `i`: an id, then metrics, PII every fifth field, sometimes a region.
fn fields(i: usize, rng: &mut Rng, violate: bool) -> Vec<Field> {
    let count = 8 + rng.below(23) as usize;
    let mut out = vec![Field {
        name: "id".into(),
        pii: None,
    }];
    if i.is_multiple_of(3) {
        out.push(Field {
            name: "region".into(),
            pii: None,
        });
    }
    for f in out.len()..count {
        if f.is_multiple_of(5) {
            let (name, masking) = PII[(i + f / 5) % PII.len()];
            let unmasked = violate && f == 5 || rng.below(25) == 0;
            out.push(Field {
                name: format!("{name}_{f}"),
                pii: Some(if unmasked { "" } else { masking }),
            });
        } else if f.is_multiple_of(11) && rng.below(4) == 0 {
            // Looks like personal data, is not marked: the heuristics' work.
            out.push(Field {
                name: format!("contact_email_{f}"),
                pii: None,
            });
        } else if violate && f == 3 {
            out.push(Field {
                name: format!("metricValue{f}"),
                pii: None,
            });
        } else {
            out.push(Field {
                name: format!("metric_{f}"),
                pii: None,
            });
        }
    }
    out
}

/// Upstreams of product `p` of domain `d`: the previous product of the domain, one of
/// another domain, and a source outside the mesh.
fn upstreams(shape: Shape, d: usize, p: usize, rng: &mut Rng) -> Vec<String> {
    let mut up = Vec::new();
    if p > 0 {
        up.push(product_id(d, p - 1));
    }
    // Only from earlier domains, so that lineage stays acyclic, as in a healthy mesh.
    if d > 0 && rng.below(3) == 0 {
        let other = rng.below(d as u64) as usize;
        up.push(product_id(
            other,
            rng.below(shape.per_domain as u64) as usize,
        ));
    }
    up.push(format!("raw.kafka.events_{}", rng.below(500)));
    up
}

fn seed_contract(shape: Shape, d: usize, p: usize, rng: &mut Rng) -> String {
    let i = d * shape.per_domain + p;
    let domain = domain(d);
    let violate = rng.below(5) == 0;
    let mut s = String::new();
    let _ = write!(
        s,
        "apiVersion: datamesh.io/v1\nkind: DataProduct\nmetadata:\n  name: {}\n  domain: {domain}\n  version: {}.{}.0\nspec:\n  owner: \"team-{domain}@acme.example\"\n  status: active\n  classification: {}\n  retention: {{ period: \"{}d\" }}\n  sla:\n    freshness: \"{}m\"\n    availability: \"{}%\"\n  schema:\n    type: iceberg\n    fields:\n",
        product_id(d, p),
        1 + rng.below(3),
        rng.below(10),
        if violate {
            "restricted"
        } else {
            "confidential"
        },
        if violate { 1900 } else { 365 },
        5 + rng.below(60),
        if rng.below(10) == 0 { "98.5" } else { "99.9" },
    );
    for field in fields(i, rng, violate) {
        let constraints = match field.pii {
            None if field.name == "id" => "{ primary_key: true, null: false }".to_owned(),
            None => "{ null: true }".to_owned(),
            Some("") => "{ pii: true }".to_owned(),
            Some(masking) => format!("{{ pii: true, masking: {masking} }}"),
        };
        let ty = if field.pii.is_some() || field.name == "region" || field.name == "id" {
            "string"
        } else {
            "decimal(18,2)"
        };
        let _ = write!(
            s,
            "      - name: {}\n        type: {ty}\n        constraints: {constraints}\n",
            field.name
        );
    }
    let upstream: Vec<String> = upstreams(shape, d, p, rng)
        .into_iter()
        .map(|u| format!("\"{u}\""))
        .collect();
    let _ = write!(
        s,
        "  quality:\n    checks:\n      - column: id\n        assertion: expect_column_values_to_not_be_null\n        threshold: 1.0\n      - column: metric_2\n        assertion: expect_column_values_to_be_between\n        threshold: 0.95\n  lineage:\n    upstream: [{}]\n    downstream: []\n  access:\n    roles: [\"{}\", \"{}\"]\n  interfaces:\n    - {{ type: trino, table: lake.{}.product_{p:04} }}\n",
        upstream.join(", "),
        ROLES[rng.below(6) as usize],
        ROLES[rng.below(6) as usize],
        domain.replace('-', "_"),
    );
    s
}

fn odcs_contract(shape: Shape, d: usize, p: usize, rng: &mut Rng) -> String {
    let i = d * shape.per_domain + p;
    let domain = domain(d);
    let name = format!("product_{p:04}");
    let mut s = String::new();
    let _ = write!(
        s,
        "apiVersion: v3.1.0\nkind: DataContract\nid: 00000000-0000-4000-8000-{i:012}\ndomain: {domain}\nname: {name}\nversion: 1.{}.0\nstatus: active\nservers:\n  - {{ server: lake, type: trino, catalog: lake, schema: {} }}\nschema:\n  - name: {name}\n    physicalName: {name}\n    properties:\n",
        rng.below(10),
        domain.replace('-', "_"),
    );
    for field in fields(i, rng, false) {
        match field.pii {
            None if field.name == "id" => {
                s.push_str("      - name: id\n        logicalType: string\n        required: true\n        primaryKey: true\n        quality:\n          - { metric: nullValues, mustBe: 0 }\n");
            }
            None => {
                let ty = if field.name == "region" {
                    "string"
                } else {
                    "number"
                };
                let _ = write!(
                    s,
                    "      - name: {}\n        logicalType: {ty}\n",
                    field.name
                );
            }
            Some(masking) => {
                let _ = write!(
                    s,
                    "      - name: {}\n        logicalType: string\n        classification: pii\n",
                    field.name
                );
                if !masking.is_empty() {
                    let _ = write!(
                        s,
                        "        customProperties:\n          - {{ property: masking, value: {masking} }}\n"
                    );
                }
            }
        }
    }
    let upstream: Vec<String> = upstreams(shape, d, p, rng);
    let _ = write!(
        s,
        "team:\n  name: team-{domain}\n  members:\n    - {{ username: \"team-{domain}@acme.example\", role: Owner }}\nroles:\n  - {{ role: {}, access: read }}\nslaProperties:\n  - {{ property: latency, value: {}, unit: m }}\n  - {{ property: retention, value: 365, unit: d }}\n  - {{ property: availability, value: 99.9 }}\ncustomProperties:\n  - {{ property: classification, value: confidential }}\n  - {{ property: upstream, value: [{}] }}\n",
        ROLES[rng.below(6) as usize],
        5 + rng.below(60),
        upstream.join(", "),
    );
    s
}

/// The product every access benchmark asks about: `wide.orders_wide`, table
/// `lake.wide.orders_wide`, 40 distinct columns: 8 PII with a mask, a `region`, 31 others.
pub const WIDE_PRODUCT: &str = "wide.orders_wide";

/// The wide product's columns, in order, with their masking method for PII.
pub fn wide_columns() -> Vec<(String, Option<&'static str>)> {
    let mut columns = vec![("order_id".to_owned(), None), ("region".to_owned(), None)];
    for (name, masking) in PII {
        columns.push((name.to_owned(), Some(masking)));
    }
    for n in 0..30 {
        columns.push((format!("measure_{n:02}"), None));
    }
    columns
}

/// The wide product's contract.
pub fn wide_product() -> String {
    let mut s = String::from(
        "apiVersion: datamesh.io/v1\nkind: DataProduct\nmetadata:\n  name: wide.orders_wide\n  domain: wide\n  version: 1.0.0\nspec:\n  owner: \"team-wide@acme.example\"\n  status: active\n  classification: confidential\n  retention: { period: \"365d\" }\n  sla:\n    freshness: \"15m\"\n    availability: \"99.9%\"\n  schema:\n    type: iceberg\n    fields:\n",
    );
    for (name, masking) in wide_columns() {
        let constraints = match masking {
            Some(m) => format!("{{ pii: true, masking: {m} }}"),
            None if name == "order_id" => "{ primary_key: true, null: false }".to_owned(),
            None => "{ null: true }".to_owned(),
        };
        let _ = write!(
            s,
            "      - name: {name}\n        type: string\n        constraints: {constraints}\n"
        );
    }
    s.push_str("  quality:\n    checks:\n      - column: order_id\n        assertion: expect_column_values_to_not_be_null\n        threshold: 1.0\n  lineage:\n    upstream: []\n    downstream: []\n  access:\n    roles: [\"analyst\"]\n  interfaces:\n    - { type: trino, table: lake.wide.orders_wide }\n");
    s
}

/// Writes the mesh under `root` (once: a finished mesh is marked and reused), with the
/// wide product too when `wide`.
pub fn generate(root: &Path, shape: Shape, wide: bool) -> std::io::Result<()> {
    let marker = root.join(".complete");
    if marker.exists() {
        return Ok(());
    }
    let _ = std::fs::remove_dir_all(root);
    let mut rng = Rng::new(0x9E37_79B9_7F4A_7C15);
    for d in 0..shape.domains {
        let dir = root.join("domains").join(domain(d));
        std::fs::create_dir_all(&dir)?;
        for p in 0..shape.per_domain {
            let text = if p % 4 == 3 {
                odcs_contract(shape, d, p, &mut rng)
            } else {
                seed_contract(shape, d, p, &mut rng)
            };
            std::fs::write(dir.join(format!("product_{p:04}.yaml")), text)?;
        }
    }
    if wide {
        let dir = root.join("domains").join("wide");
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("orders_wide.yaml"), wide_product())?;
    }
    std::fs::write(marker, "")
}

/// Resident memory of process `pid`: (now, peak), in KiB, from `/proc` (Linux).
pub fn rss_kib(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}
