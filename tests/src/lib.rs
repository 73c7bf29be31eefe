//! Test harness: real servers for integration tests.
//!
//! Each test starts its own `redis-server` and `moto_server` on free loopback ports
//! ([`RedisServer::start`], [`MotoServer::start`]); dropping the handle kills the process,
//! also when the test panics. No fixed port is ever used.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod servers;

pub use servers::{MotoServer, RedisServer, free_port, http_request};
