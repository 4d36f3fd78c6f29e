//! The normalized product as Rego input.

use crate::contract::Product;

/// The product as a regorus value, converted directly (no JSON text in between): the same
/// value regorus makes of the product's JSON, in about a third of the time.
pub(crate) fn to_value(product: &Product) -> Result<regorus::Value, String> {
    super::rego_value::to_value(product)
}
