//! The detector Lambda's entry point: tracing (JSON, one span per invocation with the
//! request id), settings validated at cold start, clients built once, then the runtime.
use detector::handler::build;
use detector::settings::Settings;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    pulse_adapters::telemetry::init_lambda();
    let settings = Settings::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    // AWS_ENDPOINT_URL, when set, points every client at the emulator.
    let aws = pulse_adapters::aws::config_from_env().await;
    let detector = build(&settings, &aws)
        .await
        .inspect_err(|e| tracing::error!(error = %e, "start-up failed"))?;
    tracing::info!("detector ready");
    let detector = &detector;
    run(service_fn(move |event: LambdaEvent<Value>| {
        let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
        async move { detector.handle(&event.payload).await.map_err(Error::from) }.instrument(span)
    }))
    .await
}
