//! Limits: message size, columns per request, batch size and concurrency.

use std::sync::Arc;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tonic::Status;

/// The limits a server enforces.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The most requests in one CheckAccessBatch call.
    pub max_batch: usize,
    /// The most columns in one access request.
    pub max_columns: usize,
    /// The largest request message, in bytes.
    pub max_message_bytes: usize,
    concurrency: Arc<Semaphore>,
    max_concurrency: usize,
}

impl Limits {
    /// Limits with room for `max_concurrency` calls at once.
    pub fn new(
        max_batch: usize,
        max_columns: usize,
        max_message_bytes: usize,
        max_concurrency: usize,
    ) -> Self {
        let max_concurrency = max_concurrency.min(Semaphore::MAX_PERMITS);
        Self {
            max_batch,
            max_columns,
            max_message_bytes,
            concurrency: Arc::new(Semaphore::new(max_concurrency)),
            max_concurrency,
        }
    }

    /// A slot for one call, or `RESOURCE_EXHAUSTED` when every slot is taken (no queueing:
    /// overload is refused at once rather than answered late).
    pub fn admit(&self) -> Result<OwnedSemaphorePermit, Status> {
        Arc::clone(&self.concurrency)
            .try_acquire_owned()
            .map_err(|_| {
                Status::resource_exhausted(format!(
                    "the server is serving its limit of {} calls at once; retry with backoff",
                    self.max_concurrency
                ))
            })
    }
}
