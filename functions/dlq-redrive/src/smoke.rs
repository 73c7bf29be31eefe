//! The dlq-redrive smoke test (`{"smoke": true}`, see [`pulse_core::smoke`]): with the function's
//! own settings and role, read the dead-letter queue's counts and source queues, and the
//! destination queue's counts. Nothing is received, moved or deleted.

use crate::handler::Config;
use pulse_core::ports::PortError;
use pulse_core::ports::Queue;
use pulse_core::smoke::Report;
use serde_json::Value;

/// Runs every check; `Ok` is the report when all passed.
pub async fn run<Q: Queue>(q: &Q, config: &Config) -> Result<Value, PortError> {
    let mut report = Report::new("dlq-redrive");
    let dlq = &config.dead_letter_queue_url;
    report.record(
        format!("sqs dead-letter queue {dlq} (GetQueueAttributes)"),
        &q.counts(dlq).await,
    );
    report.record(
        format!("sqs dead-letter queue {dlq} (ListDeadLetterSourceQueues)"),
        &q.dead_letter_sources(dlq).await,
    );
    if let Some(destination) = &config.alerts_queue_url {
        report.record(
            format!("sqs destination queue {destination} (GetQueueAttributes)"),
            &q.counts(destination).await,
        );
    }
    report.into_result()
}
