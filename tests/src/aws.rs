//! The SDK configuration for the emulator (`moto_server`), written once: region us-east-1,
//! static test credentials, the emulator's endpoint.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_sdk_sqs::config::{Credentials, SharedCredentialsProvider};

pub const REGION: &str = "us-east-1";

/// The SDK config of every client pointed at the emulator at `endpoint`.
pub fn sdk_config(endpoint: &str) -> SdkConfig {
    sdk_config_as(endpoint, "testing", "testing", None)
}

/// The same with other credentials (an assumed role's, when moto enforces IAM).
pub fn sdk_config_as(endpoint: &str, key: &str, secret: &str, token: Option<&str>) -> SdkConfig {
    SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .endpoint_url(endpoint)
        .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
            key,
            secret,
            token.map(str::to_string),
            None,
            "pulse-tests",
        )))
        .build()
}

pub fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    aws_sdk_sqs::Client::new(&sdk_config(endpoint))
}

pub fn ssm_client(endpoint: &str) -> aws_sdk_ssm::Client {
    aws_sdk_ssm::Client::new(&sdk_config(endpoint))
}
