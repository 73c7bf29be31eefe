//! The scheduled tick's read path against `moto_server` and `redis-server`: what a tick
//! examines (and DynamoDB bills) on a table much larger than what is new.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "read_path/cost.rs"]
mod cost;

#[path = "read_path/figures.rs"]
mod figures;

#[path = "read_path/stream.rs"]
mod stream;

#[path = "read_path/lease.rs"]
mod lease;

#[path = "read_path/progress.rs"]
mod progress;

#[path = "read_path/reset.rs"]
mod reset;
