//! Placeholder Lambda: wires tracing and a handler.
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde_json::Value;

async fn handler(event: LambdaEvent<Value>) -> Result<Value, Error> {
    Ok(event.payload)
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    tracing_subscriber::fmt().json().init();
    run(service_fn(handler)).await
}
