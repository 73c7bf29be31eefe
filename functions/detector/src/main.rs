//! The detector Lambda's entry point: tracing (JSON, one span per invocation with the
//! request id), settings validated at cold start, clients built once (at the first
//! invocation, again after a failure), then the runtime. `{"smoke": true}` runs the smoke
//! test instead, which does not need the detector to have been built.
use detector::handler::build;
use detector::settings::Settings;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;
use tokio::sync::OnceCell;
use tracing::Instrument;

#[tokio::main]
async fn main() -> Result<(), Error> {
    pulse_adapters::telemetry::init_lambda();
    let settings = Settings::from_env()
        .inspect_err(|e| tracing::error!(error = %e, "invalid configuration"))?;
    // AWS_ENDPOINT_URL, when set, points every client at the emulator.
    let aws = pulse_adapters::aws::config_from_env().await;
    let detector = OnceCell::new();
    let (settings, aws, detector) = (&settings, &aws, &detector);
    run(service_fn(move |event: LambdaEvent<Value>| {
        let span = tracing::info_span!("invocation", request_id = %event.context.request_id);
        async move {
            if pulse_core::smoke::requested(&event.payload) {
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
