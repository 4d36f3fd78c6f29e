//! The normalized product as Rego input.

use crate::contract::Product;

/// The product as a regorus value: serialized to JSON text and parsed by regorus, which
/// allocates half of what going through `serde_json::Value` does.
pub(crate) fn to_value(product: &Product) -> Result<regorus::Value, String> {
    let text = serde_json::to_string(product).map_err(|e| e.to_string())?;
    regorus::Value::from_json_str(&text).map_err(|e| e.to_string())
}
