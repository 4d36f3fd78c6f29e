#![cfg(test)]
//! `charter serve` end to end: the real binary on a free 127.0.0.1 port, called with
//! the generated Rust client (and, when a Python venv is present, with grpcio).

#[path = "serve/authzen.rs"]
mod authzen;
mod common;
#[path = "serve/harness.rs"]
mod harness;
#[path = "serve/hostile.rs"]
mod hostile;
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
#[path = "serve/soak.rs"]
mod soak;
#[path = "serve/trino.rs"]
mod trino;
