//! The `dlq-redrive` Lambda: invoked directly with a JSON [`Request`], returns a JSON [`Report`].
//! This file only wires logging, configuration and the SQS client; `dlq_redrive` decides.

use dlq_redrive::handler::{SAFETY_MARGIN, diagnostic, metrics_line};
use dlq_redrive::ops::{Budget, now_ms};
use dlq_redrive::{Config, Report, Request, handle};
use lambda_runtime::Diagnostic;
use lambda_runtime::{LambdaEvent, run, service_fn};
use pulse_adapters::sqs::SqsQueue;
use std::time::{Instant, SystemTime};

async fn lambda_handler(
    queue: &SqsQueue,
    config: &Config,
    event: LambdaEvent<Request>,
) -> Result<Report, Diagnostic> {
    // Stop a safety margin before Lambda would kill the run, so the report always gets out.
    let remaining = event
        .context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(SAFETY_MARGIN);
    let budget = Budget::until(Instant::now() + remaining);
    let report = handle(queue, config, &event.payload, budget)
        .await
        .map_err(|e| diagnostic(&e))?;
    println!(
        "{}",
        metrics_line(config, &event.payload, &report, now_ms())
    );
    Ok(report)
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    pulse_adapters::telemetry::init_lambda();
    let config = Config::from_env()?;
    let aws = pulse_adapters::aws::config_from_env().await;
    let queue = SqsQueue::from_config(&aws);
    run(service_fn(|event: LambdaEvent<Request>| {
        let (queue, config) = (&queue, &config);
        async move { lambda_handler(queue, config, event).await }
    }))
    .await
}
