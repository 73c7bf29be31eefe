//! DLQ redrive against real servers: moto's SQS with a real redrive policy, the `pulse dlq`
//! binary end to end, and SQS's move-task calls (which moto lacks) through the SDK's mocks.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "dlq/cli.rs"]
mod cli;
#[path = "dlq/native.rs"]
mod native;
#[path = "dlq/proxy.rs"]
mod proxy;
#[path = "dlq/redrive.rs"]
mod redrive;
