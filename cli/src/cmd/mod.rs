//! One file per subcommand.

pub mod authorize;
pub mod check;
pub mod entities;
mod gate;
pub mod inspect;
pub mod report;
