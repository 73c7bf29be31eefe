//! DLQ redrive: look inside the alerts dead-letter queue and bring back what should be retried,
//! without losing or doubling a message. Shared by the `dlq-redrive` Lambda and `pulse dlq --direct`.
//!
//! Module map (read in this order):
//! - [`request`]: the JSON request (`{"action": "inspect" | "redrive" | "native" | "status", ...}`).
//! - [`filter`]: what a message is (eventType, severity, protocol, token, chain, age) and whether
//!   it matches a filter; bodies that do not parse stay inspectable as raw text.
//! - [`report`]: the JSON report, its tallies, and the EMF metrics line.
//! - [`rate`]: rate limiting and time-budget arithmetic.
//! - the port the operations use is `pulse_core::ports::Queue` (SQS: `pulse_adapters::sqs::SqsQueue`;
//!   in memory: `pulse_core::ports::MemoryQueue`).
//! - [`ops`]: the operations: inspect, redrive, native move tasks, status.
//! - [`handler`]: configuration from the environment, logging, metrics, dispatch.
//! - [`smoke`]: the post-deploy smoke test (`{"smoke": true}`): both queues, nothing moved.
//!
//! The one rule: a message leaves the dead-letter queue only after the destination acknowledged
//! it (send first, delete after), and every message this code holds invisible is made visible
//! again before it returns.

pub mod filter;
pub mod handler;
pub mod ops;
pub mod rate;
pub mod report;
pub mod request;
pub mod smoke;

pub use handler::{Config, handle, handle_with};
pub use ops::{Budget, Control, Error, Progress};
pub use report::Report;
pub use request::Request;

/// Name of the message attribute counting how often a message was redriven.
pub const REDRIVE_COUNT_ATTRIBUTE: &str = "redriveCount";

/// Messages redriven this often already stay in the dead-letter queue (the loop guard).
pub const DEFAULT_MAX_REDRIVE_COUNT: u32 = 3;
