//! Secrets from SSM Parameter Store (receiver secrets, the Redis AUTH token), decrypted, read
//! with GetParameters (ten names per call) at cold start. The one SSM client of every function.

use crate::aws::sdk_error;
use pulse_core::ports::{PortError, Secret, SecretSource};
use std::collections::BTreeMap;

/// GetParameters takes at most ten names.
const NAMES_PER_CALL: usize = 10;

#[derive(Debug, Clone)]
pub struct SsmSecrets {
    client: aws_sdk_ssm::Client,
}

impl SsmSecrets {
    pub fn new(aws: &aws_config::SdkConfig) -> Self {
        SsmSecrets {
            client: aws_sdk_ssm::Client::new(aws),
        }
    }

    pub fn from_client(client: aws_sdk_ssm::Client) -> Self {
        SsmSecrets { client }
    }

    /// One parameter's value; a missing parameter is a permanent error naming it.
    pub async fn parameter(&self, name: &str) -> Result<Secret, PortError> {
        self.fetch(&[name.to_string()])
            .await?
            .remove(name)
            .ok_or_else(|| PortError::permanent(format!("ssm parameter {name} was not found")))
    }
}

impl SecretSource for SsmSecrets {
    async fn fetch(&self, names: &[String]) -> Result<BTreeMap<String, Secret>, PortError> {
        let mut out = BTreeMap::new();
        for chunk in names.chunks(NAMES_PER_CALL) {
            let reply = self
                .client
                .get_parameters()
                .set_names(Some(chunk.to_vec()))
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| sdk_error(&format!("ssm GetParameters {}", chunk.join(",")), e))?;
            for p in reply.parameters() {
                if let (Some(name), Some(value)) = (p.name(), p.value()) {
                    out.insert(name.to_string(), Secret::new(value));
                }
            }
        }
        Ok(out)
    }
}
