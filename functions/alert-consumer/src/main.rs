//! The alert consumer Lambda: JSON tracing, the application built once per container
//! (configuration, secrets from SSM, Redis, HTTP client; at the first batch, again after a
//! failure), then the SQS batch handler. `{"smoke": true}` runs the smoke test instead.

use alert_consumer::config::Settings;
use alert_consumer::{smoke, startup};
use aws_lambda_events::event::sqs::SqsEvent;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use pulse_adapters::ssm::SsmSecrets;
use serde_json::Value;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::OnceCell;

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
    let settings = Settings::from_env()?;
    let aws = pulse_adapters::aws::config_from_env().await;
    let ssm = SsmSecrets::new(&aws);
    let app = OnceCell::new();
    let (settings, ssm, app, aws) = (&settings, &ssm, &app, &aws);
    run(service_fn(move |event: LambdaEvent<Value>| async move {
        if pulse_core::smoke::requested(&event.payload) {
            return smoke::run(settings, ssm).await.map_err(Error::from);
        }
        let deadline = deadline(&event.context);
        let batch: SqsEvent = serde_json::from_value(event.payload)?;
        let app = app
            .get_or_try_init(|| startup::from_settings(settings, ssm, aws))
            .await?;
        Ok::<Value, Error>(serde_json::to_value(app.handle(batch, deadline).await)?)
    }))
    .await
}
