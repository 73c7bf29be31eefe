//! The `dlq-redrive` Lambda: invoked directly with a JSON [`Request`], returns a JSON [`Report`];
//! `{"smoke": true}` runs the smoke test instead.
//! This file only wires logging, configuration and the SQS client; `dlq_redrive` decides.

use dlq_redrive::handler::{SAFETY_MARGIN, diagnostic, metrics_line};
use dlq_redrive::ops::{Budget, now_ms};
use dlq_redrive::{Config, Request, handle, smoke};
use lambda_runtime::Diagnostic;
use lambda_runtime::{LambdaEvent, run, service_fn};
use pulse_adapters::sqs::SqsQueue;
use serde_json::Value;
use std::time::{Instant, SystemTime};

async fn lambda_handler(
    queue: &SqsQueue,
    config: &Config,
    event: LambdaEvent<Value>,
) -> Result<Value, Diagnostic> {
    if pulse_core::smoke::requested(&event.payload) {
        return smoke::run(queue, config).await.map_err(|e| Diagnostic {
            error_type: "Smoke".into(),
            error_message: e.to_string(),
        });
    }
    let request: Request = serde_json::from_value(event.payload).map_err(|e| Diagnostic {
        error_type: "InvalidRequest".into(),
        error_message: format!("invalid request: {e}"),
    })?;
    // Stop a safety margin before Lambda would kill the run, so the report always gets out.
    let remaining = event
        .context
        .deadline()
        .duration_since(SystemTime::now())
        .unwrap_or_default()
        .saturating_sub(SAFETY_MARGIN);
    let budget = Budget::until(Instant::now() + remaining);
    let report = handle(queue, config, &request, budget)
        .await
        .map_err(|e| diagnostic(&e))?;
    println!("{}", metrics_line(config, &request, &report, now_ms()));
    serde_json::to_value(report).map_err(|e| Diagnostic {
        error_type: "Serialise".into(),
        error_message: format!("serialise report: {e}"),
    })
}

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    pulse_adapters::telemetry::init_lambda();
    let config = Config::from_env()?;
    let queue = SqsQueue::from_config(&pulse_adapters::aws::config_from_env().await);
    run(service_fn(|event: LambdaEvent<Value>| {
        let (queue, config) = (&queue, &config);
        async move { lambda_handler(queue, config, event).await }
    }))
    .await
}
