//! The alert consumer against real servers: its own redis-server and moto_server, and a
//! loopback HTTP server per receiver. One binary, one module per concern.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod delivery;
mod email;
mod failures;
mod idempotency;
mod lifecycle;
mod noise;
mod pacing;
mod secrets;
mod silences;
mod tls;
