//! Findings grouped by domain and product: the shape the text, JUnit and Markdown renderers share.

use std::collections::{BTreeMap, HashMap};

use crate::report::Finding;
use crate::report::Report;

/// The domain name used for a finding that names a product but no domain.
pub(super) const NO_DOMAIN: &str = "(no domain)";

/// A report's findings, grouped.
#[derive(Debug)]
pub(super) struct Grouped<'a> {
    /// Every domain, by name, with every product (with or without findings).
    pub domains: Vec<DomainGroup<'a>>,
    /// Findings of files that were not read as a product, by file.
    pub unreadable: Vec<FileGroup<'a>>,
}

/// One domain and its products.
#[derive(Debug)]
pub(super) struct DomainGroup<'a> {
    /// Domain name.
    pub name: &'a str,
    /// Products by id then file.
    pub products: Vec<ProductGroup<'a>>,
}

/// One product and its findings.
#[derive(Debug)]
pub(super) struct ProductGroup<'a> {
    /// Product id.
    pub id: &'a str,
    /// Contract file.
    pub file: &'a str,
    /// Findings in report order (file, line, rule, message).
    pub findings: Vec<&'a Finding>,
}

/// One unreadable file and its findings.
#[derive(Debug)]
pub(super) struct FileGroup<'a> {
    /// The file.
    pub file: &'a str,
    /// Findings in report order.
    pub findings: Vec<&'a Finding>,
}

impl DomainGroup<'_> {
    /// Whether any product of the domain has a finding.
    pub fn has_findings(&self) -> bool {
        self.products.iter().any(|p| !p.findings.is_empty())
    }
}

/// Groups a report's findings under its domains and products.
///
/// A finding belongs to the product with its file and product id; a finding without a product id
/// belongs to the first product read from its file, or, when there is none, to the unreadable
/// files. A finding naming a product the report does not list gets a product of its own, so
/// nothing is ever dropped.
pub(super) fn group(report: &Report) -> Grouped<'_> {
    let mut domains: BTreeMap<&str, Vec<ProductGroup<'_>>> = BTreeMap::new();
    let mut by_key: HashMap<(&str, &str), (&str, usize)> = HashMap::new();
    let mut by_file: HashMap<&str, (&str, usize)> = HashMap::new();
    for p in &report.products {
        let products = domains.entry(p.domain.as_str()).or_default();
        let at = (p.domain.as_str(), products.len());
        products.push(ProductGroup {
            id: &p.id,
            file: &p.file,
            findings: Vec::new(),
        });
        by_key.entry((p.file.as_str(), p.id.as_str())).or_insert(at);
        by_file.entry(p.file.as_str()).or_insert(at);
    }

    let mut unreadable: BTreeMap<&str, Vec<&Finding>> = BTreeMap::new();
    for f in &report.findings {
        let at = match f.product.as_deref() {
            Some(id) => match by_key.get(&(f.file.as_str(), id)) {
                Some(&at) => at,
                None => {
                    let domain = f.domain.as_deref().unwrap_or(NO_DOMAIN);
                    let products = domains.entry(domain).or_default();
                    let at = (domain, products.len());
                    products.push(ProductGroup {
                        id,
                        file: &f.file,
                        findings: Vec::new(),
                    });
                    by_key.insert((f.file.as_str(), id), at);
                    at
                }
            },
            None => match by_file.get(f.file.as_str()) {
                Some(&at) => at,
                None => {
                    unreadable.entry(f.file.as_str()).or_default().push(f);
                    continue;
                }
            },
        };
        if let Some(product) = domains
            .get_mut(at.0)
            .and_then(|products| products.get_mut(at.1))
        {
            product.findings.push(f);
        }
    }

    let domains = domains
        .into_iter()
        .map(|(name, mut products)| {
            products.sort_by(|a, b| (a.id, a.file).cmp(&(b.id, b.file)));
            DomainGroup { name, products }
        })
        .collect();
    let unreadable = unreadable
        .into_iter()
        .map(|(file, findings)| FileGroup { file, findings })
        .collect();
    Grouped {
        domains,
        unreadable,
    }
}
