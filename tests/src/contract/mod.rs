//! Contract suites: one per port of `pulse_core::ports`, written once as generic async
//! functions over the port trait, run by `tests/tests/contracts.rs` against the in-memory
//! implementation and the real adapter on a real server. Each contract panics with what the
//! implementation did wrong.
//!
//! - [`checkpoint`]: [`CheckpointStore`](pulse_core::ports::CheckpointStore) (commit, load,
//!   watermark);
//! - [`ledger`]: [`AlertLedger`](pulse_core::ports::AlertLedger) (alerts that reached SQS);
//! - [`alert_store`]: [`AlertStore`](pulse_core::ports::AlertStore) (the consumer's claims,
//!   leases, delivered receivers and last-sent records);
//! - [`queue`]: [`Queue`](pulse_core::ports::Queue) (the dead-letter queue's SQS calls);
//! - [`secrets`]: [`SecretSource`](pulse_core::ports::SecretSource) and the consumer's
//!   resolution of secret references over it.

pub mod alert_store;
pub mod checkpoint;
pub mod ledger;
pub mod queue;
pub mod secrets;
