//! pulse's ports over real services. This crate is the only one that uses `redis` or
//! `aws_sdk_*`; the core (`pulse_core`) defines the ports and knows nothing of them.
//!
//! - [`redis`]: state, current values, history, watermark, publication, the sent-alert ledger,
//!   and the one Redis error classifier;
//! - [`aws`]: the one AWS error classifier and SDK configuration;
//! - [`dynamodb`]: the record source; [`sqs`]: the alert sink; [`ssm`]: secrets;
//!   [`ses`]: email (the consumer's email receiver);
//! - [`cloudwatch`] (PutMetricData) and [`emf`] (Embedded Metric Format lines on stdout):
//!   metrics;
//! - [`lambda`]: invoking a function (`pulse dlq`);
//! - [`telemetry`]: the logging set-up of every function and of the command line.

pub mod aws;
pub mod cloudwatch;
pub mod dynamodb;
pub mod emf;
pub mod lambda;
pub mod redis;
pub mod ses;
pub mod sqs;
pub mod ssm;
pub mod telemetry;
