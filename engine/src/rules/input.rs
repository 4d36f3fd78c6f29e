//! The normalized product as Rego input.

use crate::contract::Product;

/// The product as a regorus value, converted directly (no JSON text written and parsed
/// again): the same value regorus makes of the product's JSON.
pub(crate) fn to_value(product: &Product) -> Result<regorus::Value, String> {
    super::rego_value::to_value(product)
}
