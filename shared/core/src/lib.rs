//! pulse core: the domain, with no I/O. The crate has no tokio, redis or AWS dependency, so
//! the compiler keeps it that way; the adapters (`pulse_adapters`) implement its ports over
//! real services. A map for newcomers:
//!
//! - [`item`]: one DynamoDB item as decoded, whatever its encoding;
//! - [`parse`]: the three encodings (plain JSON, DynamoDB export, DynamoDB Streams) into items,
//!   then records;
//! - [`record`]: input records (TVL, dimensions, token removals, prices), their validation
//!   (one function per kind) and why one is rejected;
//! - [`config`]: every threshold, window and list, with built-in defaults and TOML overrides;
//! - [`rules`]: where each decision is made — update events in [`rules::publish`], price and
//!   TVL window alerts and their severity in [`rules::window`], pegs in [`rules::peg`],
//!   repetition in [`rules::cooldown`], which TVL series speak in [`rules::tvl`];
//! - [`window`]: sliding extremes over time windows;
//! - [`state`]: per-key state (baselines, windows, cooldowns);
//! - [`engine`]: records and state in, events and new state out (one module per record kind);
//! - [`event`]: the wire envelope, event ids, confidence, channels, the SQS body;
//! - [`ports`]: the traits adapters implement (state, pub/sub, alerts, metrics) and their
//!   in-memory versions; [`pipeline::run_checkpointed`] runs a batch against them;
//! - [`replay`]: the local replay job (lines in, events and a summary out);
//! - [`shard`]: detection sharded by state key across threads, output as on one thread;
//! - [`report`]: the backtest report's model (downsampled series, alerts, a config compared);
//! - [`mod@env`]: environment variable names, shared with Terraform;
//! - [`rate`]: rate limits (GCRA), the decision the alert consumer's shared limiter makes;
//! - [`silence`]: silences as data (matchers, window, author), stored in Redis by `pulse silence`;
//! - [`keys`]: every Redis key the detector and the alert consumer write (owner, type, TTL);
//! - [`time`]: durations and points in time written for people (one grammar everywhere);
//! - [`metrics`]: a run's metrics as data and as CloudWatch EMF lines;
//! - [`smoke`]: the post-deploy smoke test's payload and report (each function runs its checks).

pub mod config;
pub mod engine;
pub mod env;
pub mod event;
pub mod item;
pub mod keys;
pub mod metrics;
pub mod parse;
pub mod pipeline;
pub mod ports;
pub mod rate;
pub mod record;
pub mod replay;
pub mod report;
pub mod rules;
mod scan;
pub mod shard;
pub mod silence;
pub mod smoke;
pub mod state;
pub mod tally;
pub mod time;
pub mod window;

pub use config::Config;
pub use engine::{Context, Engine};
pub use event::Event;
pub use record::{Record, RejectReason, Rejection};
