//! The detector Lambda against a real `redis-server` and the AWS emulator (`moto_server`),
//! each started on a free loopback port per test. One test binary, modules by concern.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "detector/end_to_end.rs"]
mod end_to_end;

#[path = "detector/faults.rs"]
mod faults;

#[path = "detector/stream.rs"]
mod stream;

#[path = "detector/cargo_lambda.rs"]
mod cargo_lambda;

#[path = "detector/bench.rs"]
mod bench;

#[path = "detector/tls.rs"]
mod tls;
