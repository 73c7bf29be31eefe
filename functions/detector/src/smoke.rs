//! The detector's smoke test (`{"smoke": true}`, see [`pulse_core::smoke`]): with the function's
//! own settings and role, read the Redis AUTH token from SSM, connect to Redis and read the
//! watermark, read one item of each table, and read the alerts queue's attributes. Every
//! check runs even when an earlier one fails; the answer names each failed dependency.

use crate::settings::Settings;
use pulse_adapters::dynamodb::DynamoSource;
use pulse_adapters::redis::{RedisPorts, RedisSettings};
use pulse_adapters::sqs::SqsAlerts;
use pulse_adapters::ssm::SsmSecrets;
use pulse_core::ports::{CheckpointStore, PortError};
use pulse_core::smoke::Report;
use serde_json::Value;

/// Runs every check; `Ok` is the report when all passed.
pub async fn run(settings: &Settings, aws: &aws_config::SdkConfig) -> Result<Value, PortError> {
    let mut report = Report::new("detector");

    let mut redis = RedisSettings::new(&settings.redis_url);
    let mut token_ok = true;
    if let Some(name) = &settings.redis_auth_parameter {
        let token = SsmSecrets::new(aws)
            .parameter(name)
            .await
            .map(|t| t.expose().to_string());
        report.record(format!("ssm parameter {name} (Redis AUTH)"), &token);
        match token {
            Ok(t) => redis.auth_token = Some(t),
            Err(_) => token_ok = false,
        }
    }
    if token_ok {
        let watermark = match RedisPorts::connect(&redis).await {
            // Read only (MGET of the epoch and the table watermarks).
            Ok(ports) => ports
                .check_state(&[settings.events_table.clone(), settings.coins_table.clone()])
                .await
                .map(|_| ()),
            Err(e) => Err(e),
        };
        report.record("redis (connect, read the watermarks)", &watermark);
    }

    let source = DynamoSource::new(
        aws,
        &settings.events_table,
        &settings.coins_table,
        settings.read_mode.clone(),
        pulse_core::ports::MemoryWatchRegistry::default(),
    );
    for (what, result) in source.probe().await {
        report.record(what, &result);
    }

    let alerts = SqsAlerts::new(aws, &settings.alerts_queue_url);
    report.record(
        format!(
            "sqs queue {} (GetQueueAttributes)",
            settings.alerts_queue_url
        ),
        &alerts.probe().await,
    );

    if let Some(path) = &settings.thresholds_file {
        let read = std::fs::read_to_string(path)
            .map_err(|e| PortError::permanent(format!("{}: {e}", path.display())))
            .and_then(|text| {
                pulse_core::Config::from_toml(&text)
                    .map_err(|e| PortError::permanent(format!("{}: {e}", path.display())))
            });
        report.record(format!("thresholds file {}", path.display()), &read);
    }
    report.into_result()
}
