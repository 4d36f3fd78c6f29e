//! The `charter` command as a library: its subcommands, output helpers, the policy-pack
//! loader and the decision service. The binary (`main.rs`) only parses arguments and
//! dispatches; fuzz targets and benchmarks reach the service's request path from here.

pub mod bundle_files;
pub mod cache_key;
pub mod cmd;
pub mod output;
pub mod policies;
pub mod serve;
