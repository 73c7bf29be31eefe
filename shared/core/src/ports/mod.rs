//! The traits adapters implement, one module per port, each with an in-memory version. The
//! in-memory versions run whole batches in unit tests and the replay, and the contract tests
//! (`tests/src/contract`, run by `tests/tests/contracts.rs`) hold the real adapters to the same
//! behaviour. Every port error says whether retrying can help.
//!
//! - detector: [`records`] (what a scheduled tick reads), [`watch`] (which keys it Queries
//!   and where its rolling discovery stands), [`state`] (state, current values and
//!   watermark: load and commit), [`events`] (pub/sub), [`alerts`] (the alerts queue and the
//!   ledger of what reached it), [`metrics`];
//! - alert consumer: [`delivery`] (claims, delivered receivers, the repeat interval's
//!   memory), [`secrets`];
//! - DLQ redrive: [`queue`].

pub mod alerts;
pub mod delivery;
pub mod events;
pub mod metrics;
pub mod queue;
pub mod records;
pub mod secrets;
pub mod state;
pub mod watch;

pub use crate::rate::{RateLimit, Slot};
pub use alerts::{AlertLedger, AlertSink, Delivery, MemoryAlertLedger, MemoryAlertSink};
pub use delivery::{AlertStore, Claim, Episode, LastSent, Lease, MemoryAlertStore};
pub use events::{EventPublisher, MemoryPublisher};
pub use metrics::MetricsSink;
pub use queue::{MemoryQueue, Queue};
pub use records::{MEMORY_TABLE, MemoryRecordSource, Read, ReadCost, RecordSource};
pub use secrets::{MemorySecrets, Secret, SecretSource};
pub use state::{CheckpointStore, Commit, MemoryCheckpointStore, StateCheck};
pub use watch::{DiscoveryCursor, MemoryWatchRegistry, WatchRegistry};

/// A failed port call.
#[derive(Debug, thiserror::Error)]
#[error("{what}{}", if *retryable { " (retryable)" } else { "" })]
pub struct PortError {
    pub what: String,
    /// Whether the same call may succeed later (a timeout, a throttle, a restart).
    pub retryable: bool,
    #[source]
    pub source: Option<Box<dyn std::error::Error + Send + Sync>>,
}

impl PortError {
    pub fn retryable(what: impl Into<String>) -> Self {
        PortError {
            what: what.into(),
            retryable: true,
            source: None,
        }
    }
    pub fn permanent(what: impl Into<String>) -> Self {
        PortError {
            what: what.into(),
            retryable: false,
            source: None,
        }
    }
    pub fn with_source(mut self, source: impl std::error::Error + Send + Sync + 'static) -> Self {
        self.source = Some(Box::new(source));
        self
    }
}

/// Locks an in-memory port's data; a poisoned lock is a permanent error.
pub(crate) fn lock<'a, T>(
    m: &'a std::sync::Mutex<T>,
    what: &str,
) -> Result<std::sync::MutexGuard<'a, T>, PortError> {
    m.lock()
        .map_err(|_| PortError::permanent(format!("{what} lock poisoned")))
}
