//! The engine's integration tests, one binary (one link of regorus, Cedar and the rest)
//! with a module per area.

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
