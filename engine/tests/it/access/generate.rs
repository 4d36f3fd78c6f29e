//! A deterministic synthetic mesh for benchmarks and timing: `n` products in 20
//! domains, 24 columns each (some PII with every masking method, a `region` column in
//! every third product), and requests of 20 columns against them.
//!
//! Shared by `engine/benches/access.rs` and the tests. Meshes are built by writing
//! each product as a seed-format contract and reading it back with the real reader.

use charter_engine::access::{AccessRequest, Principal, ProductRef};
use charter_engine::contract::{Access, Field, Interface, Product, ReaderSettings, read};
use charter_engine::mesh::{Loaded, Mesh};
use serde_json::json;

const PLAIN: [(&str, &str); 14] = [
    ("order_id", "string"),
    ("event_ts", "timestamp"),
    ("status", "string"),
    ("amount", "decimal(10,2)"),
    ("currency", "string"),
    ("quantity", "integer"),
    ("sku", "string"),
    ("channel", "string"),
    ("created_at", "timestamp"),
    ("updated_at", "timestamp"),
    ("discount", "double"),
    ("is_gift", "boolean"),
    ("warehouse_id", "string"),
    ("delivery_date", "date"),
];

const PII: [(&str, &str, Option<&str>); 9] = [
    ("customer_id", "string", Some("hash")),
    ("email", "string", Some("hash")),
    ("phone", "string", Some("last4")),
    ("full_name", "string", Some("redact")),
    ("birth_date", "date", Some("nullify")),
    ("street", "string", Some("redact")),
    ("iban", "string", Some("show-last-4")),
    ("ip_address", "string", Some("sha256")),
    ("loyalty_card", "string", Some("last4")),
];

/// Product `i` of the synthetic mesh.
pub fn product(i: usize) -> Product {
    let domain = format!("domain{:02}", i % 20);
    let name = format!("product{i:04}");
    let mut fields: Vec<Field> = PLAIN
        .iter()
        .map(|(n, t)| Field {
            name: (*n).into(),
            data_type: Some((*t).into()),
            nullable: true,
            ..Field::default()
        })
        .collect();
    fields.extend(PII.iter().map(|(n, t, m)| Field {
        name: (*n).into(),
        data_type: Some((*t).into()),
        nullable: true,
        pii: true,
        masking: m.map(str::to_owned),
        ..Field::default()
    }));
    let region = if i.is_multiple_of(3) {
        "region"
    } else {
        "country"
    };
    fields.push(Field {
        name: region.into(),
        data_type: Some("string".into()),
        nullable: true,
        ..Field::default()
    });
    Product {
        id: format!("{domain}.{name}"),
        domain: domain.clone(),
        name: name.clone(),
        version: "1.0.0".into(),
        status: Some(if i % 50 == 49 { "retired" } else { "active" }.into()),
        owner: Some(format!("team-{domain}@acme.example")),
        classification: Some(["internal", "confidential", "public", "restricted"][i % 4].into()),
        fields,
        access: Access {
            roles: vec!["analyst".into(), format!("{domain}-reader")],
            policies: Vec::new(),
            ..Access::default()
        },
        interfaces: vec![Interface {
            kind: "trino".into(),
            table: format!("lake.{domain}.{name}"),
            ..Interface::default()
        }],
        tags: vec!["synthetic".into()],
        ..Product::default()
    }
}

/// The first `n` products.
pub fn products(n: usize) -> Vec<Product> {
    (0..n).map(product).collect()
}

/// A 20-column request (12 plain columns, 7 PII, the region/country column) against
/// product `i`, by an analyst in the EU who may read restricted products.
pub fn request(i: usize) -> AccessRequest {
    let p = product(i);
    let mut columns: Vec<String> = PLAIN
        .iter()
        .take(12)
        .map(|(n, _)| (*n).to_owned())
        .collect();
    columns.extend(PII.iter().take(7).map(|(n, _, _)| (*n).to_owned()));
    columns.push(p.fields.last().map(|f| f.name.clone()).unwrap_or_default());
    AccessRequest {
        principal: Principal {
            id: "ana@acme.example".into(),
            roles: vec!["analyst".into(), "restricted-reader".into()],
            groups: vec!["team-analytics@acme.example".into()],
            attributes: [("region".to_owned(), "eu".to_owned())].into(),
        },
        product: if i.is_multiple_of(2) {
            ProductRef::Id(p.id)
        } else {
            ProductRef::Table(p.interfaces[0].table.clone())
        },
        columns,
        purpose: Some("analytics".into()),
        dialect: None,
    }
}

/// A product as a seed-format (`datamesh.io/v1`) contract.
pub fn seed_yaml(product: &Product) -> String {
    let fields: Vec<serde_json::Value> = product
        .fields
        .iter()
        .map(|f| {
            let mut field = json!({"name": f.name, "constraints": {"pii": f.pii}, "tags": f.tags});
            if let Some(t) = &f.data_type {
                field["type"] = json!(t);
            }
            if let Some(m) = &f.masking {
                field["constraints"]["masking"] = json!(m);
            }
            if let Some(c) = &f.classification {
                field["classification"] = json!(c);
            }
            field
        })
        .collect();
    let mut spec = json!({
        "access": {"roles": product.access.roles},
        "interfaces": product.interfaces.iter().map(|i| json!({"type": i.kind, "table": i.table})).collect::<Vec<_>>(),
        "tags": product.tags,
        "schema": {"fields": fields},
    });
    for (key, value) in [
        ("owner", &product.owner),
        ("status", &product.status),
        ("classification", &product.classification),
    ] {
        if let Some(v) = value {
            spec[key] = json!(v);
        }
    }
    let doc = json!({
        "apiVersion": "datamesh.io/v1",
        "kind": "DataProduct",
        "metadata": {"name": product.id, "domain": product.domain, "version": "1.0.0"},
        "spec": spec,
    });
    yaml_serde::to_string(&doc).unwrap_or_default()
}

/// A mesh of products, each read back from its seed-format contract (`NNNNN-<id>.yaml`).
pub fn mesh(products: &[Product]) -> Mesh {
    let settings = ReaderSettings::default();
    let loaded = products
        .iter()
        .enumerate()
        .map(|(i, product)| {
            let file = format!("{i:05}-{}.yaml", product.id);
            match read(&file, &seed_yaml(product), &settings) {
                Ok(contract) => Loaded::Contract(Box::new(contract)),
                Err(e) => panic!("{file}: the generated contract does not read: {e}"),
            }
        })
        .collect();
    Mesh::from_loaded(loaded)
}
