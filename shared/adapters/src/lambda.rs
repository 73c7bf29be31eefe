//! Invoking a Lambda function synchronously (`pulse dlq` calls the dlq-redrive function).

use crate::aws::sdk_error;
use aws_sdk_lambda::primitives::Blob;
use pulse_core::ports::PortError;

#[derive(Debug, Clone)]
pub struct LambdaInvoker {
    client: aws_sdk_lambda::Client,
}

impl LambdaInvoker {
    pub fn new(aws: &aws_config::SdkConfig) -> Self {
        LambdaInvoker {
            client: aws_sdk_lambda::Client::new(aws),
        }
    }

    /// Invokes `function` with a JSON payload and returns its JSON answer. A function error
    /// (the handler failed) is a permanent error carrying the function's own message.
    pub async fn invoke(&self, function: &str, payload: Vec<u8>) -> Result<String, PortError> {
        let out = self
            .client
            .invoke()
            .function_name(function)
            .payload(Blob::new(payload))
            .send()
            .await
            .map_err(|e| sdk_error(&format!("lambda Invoke {function}"), e))?;
        let body = out
            .payload()
            .map(|b| String::from_utf8_lossy(b.as_ref()).into_owned())
            .unwrap_or_default();
        if let Some(kind) = out.function_error() {
            let message = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("errorMessage")?.as_str().map(str::to_string))
                .unwrap_or(body);
            return Err(PortError::permanent(format!(
                "{function} failed ({kind}): {message}"
            )));
        }
        Ok(body)
    }
}
