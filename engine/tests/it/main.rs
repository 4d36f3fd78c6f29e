//! The engine's integration tests, one binary (one link of regorus, Cedar and the rest)
//! with a module per area.
#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom; the 100-line limit is for product code"
)]

mod access;
mod authoring;
mod bundle_signatures;
mod conformance;
mod contracts;
mod diff;
mod export;
mod fail_closed;
mod html;
mod impact;
mod mesh_rules;
mod properties;
mod render;
mod rules;
mod waivers;
