//! Adapters: the ports of [`crate::ports`] over real services. Only these modules touch
//! `redis` or `aws_sdk_*`, each behind a cargo feature so the core builds without them.
//!
//! - [`emf`]: metrics as CloudWatch Embedded Metric Format lines on stdout (no feature);
//! - [`redis`] (`redis-adapter`): state, current values, history, watermark, publication,
//!   sent-alert ledger;
//! - [`dynamodb`], [`sqs`], [`cloudwatch`], [`ssm`] (`aws-adapters`): the record source,
//!   the alert sink, PutMetricData, and secrets.

pub mod emf;

#[cfg(feature = "redis-adapter")]
pub mod redis;

#[cfg(feature = "aws-adapters")]
pub mod aws;
#[cfg(feature = "aws-adapters")]
pub mod cloudwatch;
#[cfg(feature = "aws-adapters")]
pub mod dynamodb;
#[cfg(feature = "aws-adapters")]
pub mod sqs;
#[cfg(feature = "aws-adapters")]
pub mod ssm;
