//! The test harness: real servers and everything the integration tests, the contract tests
//! and the benches share, written once.
//!
//! - [`servers`]: `redis-server` and `moto_server` on free loopback ports ([`RedisServer`],
//!   [`MotoServer`]); dropping the handle kills the process, also when the test panics;
//! - [`aws`]: the SDK config of clients pointed at the emulator;
//! - [`Stack`]: the servers, the alerts queue with its dead-letter queue ([`queues`]) and the
//!   detector's tables ([`tables`]) one test asks for; [`apps`]: the detector and the alert
//!   consumer built on them as production builds them;
//! - [`receiver`]: a fake HTTP receiver that records requests and answers as told;
//! - [`proxy`]: a proxy in front of the emulator that injects faults or records calls;
//! - [`pubsub`]: a subscriber to the detector's `events:*` channels;
//! - [`contract`]: the port contracts, run against the in-memory and the real adapters;
//! - [`fixtures`]: alerts, SQS bodies and batches, routes, detector records; [`read_path`]:
//!   tables of old and new items for the read-cost tests.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod apps;
pub mod aws;
pub mod contract;
pub mod fixtures;
pub mod proxy;
pub mod pubsub;
pub mod queues;
pub mod read_path;
pub mod receiver;
pub mod servers;
pub mod stack;
pub mod tables;

pub use apps::consumer;
pub use queues::Queues;
pub use receiver::{FakeReceiver, Recorded, Reply};
pub use servers::{MotoServer, RedisServer, free_port, http_request, on_path};
pub use stack::{Stack, StackBuilder};
