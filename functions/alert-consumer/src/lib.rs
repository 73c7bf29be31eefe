//! The alert consumer: SQS messages in, deduplicated and rate-limited notifications out.
//! A map for newcomers, in the order a message meets them:
//!
//! - [`handler`]: the SQS batch (partial failures), one message end to end: parse, claim,
//!   route, silence, repeat interval, deliver, remember;
//! - [`config`]: the routes file (routing tree, silences, receivers, defaults) and the
//!   environment;
//! - the idempotency and repeat-interval store is the port `pulse_core::ports::AlertStore`
//!   (in memory: `MemoryAlertStore`; Redis: `pulse_adapters::redis::RedisStore`);
//! - [`receivers`]: one module per channel (webhook, Slack, Discord, Telegram, PagerDuty),
//!   each turning a notification into an HTTP request, behind the [`receivers::Receiver`]
//!   trait; [`http`] sends them (the only module using the HTTP client) and [`retry`] says
//!   which failures are worth retrying; email goes through SES (`pulse_adapters::ses`);
//! - [`secrets`]: where each receiver secret comes from, resolved at cold start from SSM
//!   (`pulse_adapters::ssm`) or plain values for local runs;
//! - [`silences`]: silences added with `pulse silence` (Redis), cached 30 s;
//! - [`forward`]: deferrals back to the alerts queue and dead letters with their reason;
//! - [`metrics`]: per receiver counters and latency, logged and emitted as EMF lines;
//! - [`clock`]: the time, injectable for tests;
//! - [`startup`]: builds the application the same way for `main` and for the tests;
//! - [`smoke`]: the post-deploy smoke test (`{"smoke": true}`): routes, secrets, Redis.
//!
//! - [`alerting`]: the pure delivery decisions (routing tree, silences, repeat interval,
//!   texts), with no I/O.

pub mod alerting;
pub mod clock;
pub mod config;
pub mod forward;
pub mod handler;
pub mod http;
pub mod metrics;
pub mod receivers;
pub mod retry;
pub mod secrets;
pub mod silences;
pub mod smoke;
pub mod startup;

pub use handler::App;
