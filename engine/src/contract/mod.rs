//! Data-product contracts: one reader per format, all normalized into [`Product`].
//!
//! [`read`] detects the format from `apiVersion` and `kind`, reads the file with
//! `yaml_serde`, normalizes it and records the source line of every value it used.
//! Anything wrong with the file itself (not YAML, unknown format, wrong types) is a
//! [`ParseError`] with a line, which the caller turns into a `contract/parse` finding.

mod duration;
mod limits;
mod lines;
mod locate;
mod locations;
mod model;
mod odcs;
mod outline;
mod read;
mod scalar;
mod seed;
mod servers;

pub use duration::parse_duration;
pub use limits::ContractLimits;
pub use locate::LineIndex;
pub use locations::Locations;
pub(crate) use locations::PathMap;
pub use model::*;
pub use read::{Contract, ParseError, ReaderSettings, read, read_bytes};
pub(crate) use read::{read_bytes_hashed, yaml_error};
