//! What a pack's rules read of the values they are given, worked out from their Rego once
//! per pack: of a contract's `input` (the contract rules), and of each product in
//! `data.charter.products` (the repository-wide rules). A contract is converted, and a
//! product kept, as its projection, which the rules cannot tell from the whole value.

pub(crate) mod need;
mod reads;
pub(crate) mod shared;

pub(crate) use need::Need;
pub(crate) use reads::{input_need, product_need};
