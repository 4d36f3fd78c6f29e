//! From what went wrong to the `tonic::Status` a caller gets (kept in the server: the
//! engine knows nothing of gRPC).

use charter_engine::access::RequestError;
use tonic::Status;

use super::decision_log::LogUnavailable;

/// A malformed field: `INVALID_ARGUMENT` with the field's name first.
pub fn invalid(field: &str, message: impl std::fmt::Display) -> Status {
    Status::invalid_argument(format!("{field}: {message}"))
}

/// A request the engine found malformed.
pub fn request(error: &RequestError) -> Status {
    Status::invalid_argument(error.to_string())
}

/// The decision log cannot be written: no unlogged decision goes out.
pub fn log(error: &LogUnavailable) -> Status {
    Status::unavailable(error.to_string())
}

/// A panic in the engine: `INTERNAL`, and the server carries on.
pub fn panicked(what: &str) -> Status {
    tracing::error!(what, "a handler panicked");
    Status::internal(format!("internal error while {what}"))
}
