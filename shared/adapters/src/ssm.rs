//! Secrets from SSM Parameter Store (the Redis AUTH token), read once at cold start.

use crate::aws::sdk_error;
use pulse_core::ports::PortError;

/// The decrypted value of a SecureString (or String) parameter.
pub async fn parameter(aws: &aws_config::SdkConfig, name: &str) -> Result<String, PortError> {
    let out = aws_sdk_ssm::Client::new(aws)
        .get_parameter()
        .name(name)
        .with_decryption(true)
        .send()
        .await
        .map_err(|e| sdk_error(&format!("ssm GetParameter {name}"), e))?;
    out.parameter
        .and_then(|p| p.value)
        .ok_or_else(|| PortError::permanent(format!("ssm parameter {name} has no value")))
}
