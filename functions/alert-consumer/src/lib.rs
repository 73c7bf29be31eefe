//! The alert consumer: SQS messages in, deduplicated and rate-limited notifications out.
//! A map for newcomers, in the order a message meets them:
//!
//! - [`handler`]: the SQS batch (partial failures), one message end to end: parse, claim,
//!   route, silence, repeat interval, deliver, remember;
//! - [`config`]: the routes file (routing tree, silences, receivers, defaults) and the
//!   environment;
//! - [`store`]: the idempotency and repeat-interval port, and its in-memory version;
//!   [`redis_store`] is the Redis adapter;
//! - [`receivers`]: one module per channel (webhook, Slack, Discord, Telegram, PagerDuty),
//!   each turning a notification into an HTTP request, behind the [`receivers::Receiver`]
//!   trait; [`http`] sends them (the only module using the HTTP client) and [`retry`] says
//!   which failures are worth retrying;
//! - [`secrets`]: secret values that never print, resolved at cold start from SSM
//!   ([`ssm`], the only module using the AWS SDK) or plain values for local runs;
//! - [`metrics`]: per receiver counters and latency, logged and emitted as EMF lines;
//! - [`clock`]: the time, injectable for tests;
//! - [`startup`]: builds the application the same way for `main` and for the tests;
//! - [`smoke`]: the post-deploy smoke test (`{"smoke": true}`): routes, secrets, Redis.
//!
//! The pure decisions (routing, silences, repeat interval, templates) live in
//! `pulse::alerting`.

pub mod clock;
pub mod config;
pub mod handler;
pub mod http;
pub mod metrics;
pub mod receivers;
pub mod redis_store;
pub mod retry;
pub mod secrets;
pub mod smoke;
pub mod ssm;
pub mod startup;
pub mod store;

pub use handler::App;
