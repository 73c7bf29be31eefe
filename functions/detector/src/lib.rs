//! The detector Lambda: records in from DynamoDB (a scheduled tick or a stream batch), the
//! engine, events out through Redis and alerts through SQS, state and watermark committed
//! last. A map:
//!
//! - [`settings`]: environment variables, read and validated once at cold start;
//! - [`handler`]: the two triggers, the assembly of the real ports ([`handler::build`]),
//!   and the invocation's metrics;
//! - [`smoke`]: the post-deploy smoke test (`{"smoke": true}`): every dependency, named
//!   when it fails.
//!
//! `main.rs` only wires tracing, settings, clients and the runtime.

pub mod handler;
pub mod settings;
pub mod smoke;
