//! The detector Lambda's entry point: tracing (JSON, one span per invocation with the
//! request id), settings validated at cold start, clients built once, then the runtime.
use aws_config::BehaviorVersion;
use detector::handler::build;
use detector::settings::Settings;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use tracing::Instrument;
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt()
        .json()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_current_span(true)
        .with_span_list(false)
        .init();
    let settings = Settings::from_env()?;
    // AWS_ENDPOINT_URL, when set, points every client at the emulator.
    let aws = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let detector = build(&settings, &aws).await?;
    tracing::info!("detector ready");
    let detector = &detector;
    run(service_fn(move |event: LambdaEvent<Value>| {
        let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
        async move { detector.handle(&event.payload).await.map_err(Error::from) }.instrument(span)
    }))
    .await
}
