//! The alert consumer's smoke test (`{"smoke": true}`, see [`pulse_core::smoke`]): with the
//! function's own settings and role, load the routes file, resolve every secret it names
//! from SSM and build the receivers (as at start-up), read the Redis AUTH token, connect to
//! Redis and read a key. Every check runs even when an earlier one fails; the answer names
//! each failed dependency. Nothing is delivered.

use crate::clock::SystemClock;
use crate::config::{RoutesFile, Settings};
use crate::secrets::SecretSource;
use crate::startup::{StartupError, build, redis_url};
use pulse_adapters::redis::RedisStore;
use pulse_core::ports::PortError;
use pulse_core::ports::{AlertStore, MemoryAlertStore};
use pulse_core::smoke::Report;
use serde_json::Value;
use std::sync::Arc;

fn port_error(e: StartupError) -> PortError {
    match e {
        StartupError::Port(p) => p,
        StartupError::Config(c) => PortError::permanent(c.to_string()),
    }
}

/// Runs every check; `Ok` is the report when all passed.
pub async fn run(settings: &Settings, ssm: &impl SecretSource) -> Result<Value, PortError> {
    let mut report = Report::new("alert-consumer");

    let routes = RoutesFile::load(&settings.routes_file);
    let routes = match routes {
        Ok(r) => {
            report.record::<()>(format!("routes file {}", settings.routes_file), &Ok(()));
            Some(r)
        }
        Err(e) => {
            report.record::<()>(
                format!("routes file {}", settings.routes_file),
                &Err(PortError::permanent(e.to_string())),
            );
            None
        }
    };
    if let Some(routes) = routes {
        let receivers = routes.receivers.len();
        let app = build(
            routes,
            settings.secrets_parameter_path.as_deref(),
            ssm,
            MemoryAlertStore::default(),
            Arc::new(SystemClock),
            &settings.metrics_namespace,
        )
        .await
        .map_err(port_error);
        report.record(
            format!("ssm secrets and {receivers} receivers (GetParameters, as at start-up)"),
            &app,
        );
    }

    let url = redis_url(settings, ssm).await;
    if let Some(name) = &settings.redis_auth_parameter {
        report.record(format!("ssm parameter {name} (Redis AUTH)"), &url);
    }
    if let Ok(url) = url {
        let read = match RedisStore::connect(&url) {
            Ok(store) => store.last_sent("smoke", "smoke", "smoke").await.map(|_| ()),
            Err(e) => Err(e),
        };
        report.record("redis (connect, read a key)", &read);
    }
    report.into_result()
}
