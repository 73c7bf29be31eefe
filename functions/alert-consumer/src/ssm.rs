//! The SSM adapter: SecureString parameters, decrypted, ten per GetParameters call. The only
//! module that uses the AWS SDK. `AWS_ENDPOINT_URL` is honoured (local emulators).

use crate::secrets::{Secret, SecretSource};
use aws_sdk_ssm::error::{DisplayErrorContext, SdkError};
use pulse_core::ports::PortError;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
pub struct SsmSecrets {
    client: aws_sdk_ssm::Client,
}

impl SsmSecrets {
    pub fn new(client: aws_sdk_ssm::Client) -> Self {
        SsmSecrets { client }
    }

    pub async fn from_env() -> Self {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .load()
            .await;
        SsmSecrets {
            client: aws_sdk_ssm::Client::new(&config),
        }
    }
}

impl SecretSource for SsmSecrets {
    async fn fetch(&self, names: &[String]) -> Result<BTreeMap<String, Secret>, PortError> {
        let mut out = BTreeMap::new();
        for chunk in names.chunks(10) {
            let reply = self
                .client
                .get_parameters()
                .set_names(Some(chunk.to_vec()))
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| {
                    let retryable = matches!(
                        e,
                        SdkError::TimeoutError(_)
                            | SdkError::DispatchFailure(_)
                            | SdkError::ResponseError(_)
                    );
                    let what = format!("ssm GetParameters: {}", DisplayErrorContext(&e));
                    if retryable {
                        PortError::retryable(what)
                    } else {
                        PortError::permanent(what)
                    }
                })?;
            for p in reply.parameters() {
                if let (Some(name), Some(value)) = (p.name(), p.value()) {
                    out.insert(name.to_string(), Secret::new(value));
                }
            }
        }
        Ok(out)
    }
}
