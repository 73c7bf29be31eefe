//! The alert consumer Lambda: JSON tracing, the application built once per container
//! (configuration, secrets from SSM, Redis, HTTP client), then the SQS batch handler.

use alert_consumer::startup;
use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent};
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

/// The invocation's deadline as an [`Instant`].
fn deadline(context: &lambda_runtime::Context) -> Option<Instant> {
    let now_ms = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .ok()?
        .as_millis();
    let remaining = u128::from(context.deadline).checked_sub(now_ms)?;
    Some(Instant::now() + Duration::from_millis(u64::try_from(remaining).ok()?))
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    pulse_adapters::telemetry::init_lambda();
    let app = startup::from_env().await?;
    let app = &app;
    run(service_fn(move |event: LambdaEvent<SqsEvent>| async move {
        let deadline = deadline(&event.context);
        Ok::<SqsBatchResponse, Error>(app.handle(event.payload, deadline).await)
    }))
    .await
}
