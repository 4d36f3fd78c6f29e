//! One file per subcommand.

pub mod authorize;
mod base;
pub mod bundle;
pub mod check;
pub mod diff;
mod duration;
pub mod entities;
pub mod export;
mod format;
mod gate;
mod impact;
pub mod inspect;
pub mod limits;
pub mod report;
pub mod rules;
pub mod serve;
pub mod test;
pub mod validate;
