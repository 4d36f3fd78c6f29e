#![cfg(test)]
//! `charter serve` end to end: the real binary on a free 127.0.0.1 port, called with
//! the generated Rust client (and, when a Python venv is present, with grpcio).
#![allow(
    clippy::too_many_lines,
    reason = "a test reads as one scenario, top to bottom; the 100-line limit is for product code"
)]

#[path = "serve/authzen.rs"]
mod authzen;
#[path = "serve/bundle_server.rs"]
mod bundle_server;
#[path = "serve/bundle_support.rs"]
mod bundle_support;
#[path = "serve/bundles.rs"]
mod bundles;
mod common;
#[path = "serve/harness.rs"]
mod harness;
#[path = "serve/hostile.rs"]
mod hostile;
#[path = "serve/http_lifecycle.rs"]
mod http_lifecycle;
#[path = "serve/lifecycle.rs"]
mod lifecycle;
#[path = "serve/limits.rs"]
mod limits;
#[path = "serve/python.rs"]
mod python;
#[path = "serve/reload.rs"]
mod reload;
#[path = "serve/rpc.rs"]
mod rpc;
#[path = "serve/security.rs"]
mod security;
#[path = "serve/shipping.rs"]
mod shipping;
#[path = "serve/soak.rs"]
mod soak;
#[cfg(unix)]
#[path = "serve/tree.rs"]
mod tree;
#[path = "serve/trino.rs"]
mod trino;
#[path = "serve/trino_rego.rs"]
mod trino_rego;
