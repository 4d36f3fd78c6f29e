//! The normalized product as Rego input.

use crate::contract::Product;

/// The product as the JSON document policies see as `input`.
///
/// # Errors
/// Never in practice: the model serializes to JSON by construction.
pub fn to_input(product: &Product) -> Result<serde_json::Value, serde_json::Error> {
    serde_json::to_value(product)
}
