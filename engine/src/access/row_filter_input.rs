//! `input.product` of the row-filter rule, per product: kept as compact JSON and made a
//! Rego value on the product's first evaluation. A Rego value takes several times the
//! memory of its JSON, and on a large mesh most products are never filtered (a server
//! of 10,001 products held ~55 MB of them).

use std::collections::BTreeSet;
use std::sync::OnceLock;

use regorus::Value;

use crate::contract::Product;

/// What the rule sees of one product as `input.product`.
#[derive(Debug)]
pub(crate) struct ProductInput {
    json: Box<str>,
    value: OnceLock<Value>,
}

impl ProductInput {
    /// The product's attributes, its `columns` (of one `table` when given), and
    /// `column_names` (a set, for cheap membership tests). A column's `name` is its
    /// physical name, `logical_name` its logical path; filters are written against
    /// physical names.
    pub fn of(product: &Product, table: Option<&str>) -> Self {
        let columns: Vec<serde_json::Value> = product
            .fields
            .iter()
            .filter(|f| table.is_none_or(|t| f.table == t))
            .map(|f| {
                serde_json::json!({
                    "name": f.physical(),
                    "logical_name": f.logical(),
                    "type": f.data_type,
                    "pii": f.pii,
                    "masking": f.masking,
                    "classification": f.classification,
                    "tags": f.tags,
                })
            })
            .collect();
        let json = serde_json::json!({
            "id": product.id,
            "domain": product.domain,
            "owner": product.owner,
            "classification": product.classification,
            "status": product.status,
            "tags": product.tags,
            "roles": product.access.roles,
            "table": table,
            "columns": columns,
        });
        Self {
            json: json.to_string().into_boxed_str(),
            value: OnceLock::new(),
        }
    }

    /// The Rego value (made on the first call, then shared by every request).
    ///
    /// # Errors
    /// The JSON kept cannot be read back (not expected: Charter wrote it).
    pub fn value(&self) -> Result<&Value, String> {
        if let Some(value) = self.value.get() {
            return Ok(value);
        }
        let value = Self::parse(&self.json)?;
        Ok(self.value.get_or_init(|| value))
    }

    fn parse(json: &str) -> Result<Value, String> {
        let mut value = Value::from_json_str(json)
            .map_err(|e| format!("the product's row-filter input cannot be read: {e}"))?;
        let names: BTreeSet<Value> = value["columns"]
            .as_array()
            .map(|columns| columns.iter().map(|c| c["name"].clone()).collect())
            .unwrap_or_default();
        let map = value
            .as_object_mut()
            .map_err(|e| format!("the product's row-filter input is not an object: {e}"))?;
        map.insert(Value::from("column_names"), Value::from(names));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::Field;

    #[test]
    fn the_value_has_the_columns_and_their_names_as_a_set() {
        let field = |name: &str, pii: bool| Field {
            name: name.into(),
            pii,
            ..Field::default()
        };
        let product = Product {
            id: "sales.orders".into(),
            fields: vec![field("order_id", false), field("email", true)],
            ..Product::default()
        };
        let input = ProductInput::of(&product, None);
        let value = input.value().expect("readable");
        assert_eq!(value["id"], Value::from("sales.orders"));
        assert_eq!(value["columns"].as_array().map(|c| c.len()).ok(), Some(2));
        let names: BTreeSet<Value> = ["email", "order_id"].into_iter().map(Value::from).collect();
        assert_eq!(value["column_names"], Value::from(names));
        // Made once: the second call returns the same value.
        assert!(std::ptr::eq(value, input.value().expect("readable")));
    }
}
