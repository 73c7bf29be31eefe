//! The detector Lambda's entry point: tracing (JSON, one span per invocation with the
//! request id), settings validated at cold start, clients built once (at the first
//! invocation, again after a failure), then the runtime. `{"smoke": true}` runs the smoke
//! test instead, which does not need the detector to have been built.
use aws_config::BehaviorVersion;
use detector::handler::build;
use detector::settings::Settings;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use tokio::sync::OnceCell;
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
    let settings = Settings::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    // AWS_ENDPOINT_URL, when set, points every client at the emulator.
    let aws = aws_config::load_defaults(BehaviorVersion::latest()).await;
    let detector = OnceCell::new();
    let (settings, aws, detector) = (&settings, &aws, &detector);
    run(service_fn(move |event: LambdaEvent<Value>| {
        let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
        async move {
            if pulse::smoke::requested(&event.payload) {
                return detector::smoke::run(settings, aws)
                    .await
                    .map_err(Error::from);
            }
            let detector = detector
                .get_or_try_init(|| async {
                    let built = build(settings, aws)
                        .await
                        .inspect_err(|e| tracing::error!(error = %e, "start-up failed"))?;
                    tracing::info!("detector ready");
                    Ok::<_, Error>(built)
                })
                .await?;
            detector.handle(&event.payload).await.map_err(Error::from)
        }
        .instrument(span)
    }))
    .await
}
