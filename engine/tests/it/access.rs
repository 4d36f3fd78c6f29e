//! Access decisions through the public interface: data-driven cases
//! (`testdata/access/*.yaml`), the fast path against a plain one-call-per-column Cedar
//! evaluation (property test), strict policy validation, and an `#[ignore]` timing run.
#![expect(
    clippy::expect_used,
    clippy::panic,
    reason = "test helpers outside #[test] functions: a broken fixture should stop the test loudly"
)]

#[path = "access/cases.rs"]
mod cases;
#[path = "access/generate.rs"]
mod generate;
#[path = "access/property.rs"]
mod property;
#[path = "access/support.rs"]
mod support;
#[path = "access/timing.rs"]
mod timing;
#[path = "access/validation.rs"]
mod validation;

/// The allocator of the `charter` binary, so that timings are those of `charter serve`.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
