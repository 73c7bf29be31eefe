//! Builds the application, the same way for `main` and for the tests: routes file, secrets
//! (resolved once, here), receivers, store, clock, metrics.

use crate::clock::Clock;
use crate::config::{ConfigError, RoutesFile, Settings};
use crate::handler::App;
use crate::http::HttpSender;
use crate::metrics::Metrics;
use crate::receivers;
use crate::secrets::{Secret, SecretRef, SecretSource, Secrets};
use pulse_adapters::aws::SdkConfig;
use pulse_adapters::redis::RedisStore;
use pulse_adapters::sqs::SqsForward;
use pulse_adapters::ssm::SsmSecrets;
use pulse_core::ports::AlertStore;
use pulse_core::ports::PortError;
use std::collections::BTreeMap;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Port(#[from] PortError),
}

/// The application from a parsed routes file. Email receivers get the AWS config of the
/// environment (see [`build_with_aws`]).
pub async fn build<S: AlertStore>(
    routes: RoutesFile,
    secrets_prefix: Option<&str>,
    source: &impl SecretSource,
    store: S,
    clock: Arc<dyn Clock>,
    metrics_namespace: &str,
) -> Result<App<S>, StartupError> {
    build_with_aws(
        routes,
        secrets_prefix,
        source,
        store,
        clock,
        metrics_namespace,
        None,
    )
    .await
}

/// [`build`], with the AWS config email receivers send with (`None`: the environment's,
/// loaded only when the routes have an email receiver).
pub async fn build_with_aws<S: AlertStore>(
    routes: RoutesFile,
    secrets_prefix: Option<&str>,
    source: &impl SecretSource,
    store: S,
    clock: Arc<dyn Clock>,
    metrics_namespace: &str,
    aws: Option<&SdkConfig>,
) -> Result<App<S>, StartupError> {
    let refs = routes.receivers.values().flat_map(|r| r.secret_refs());
    let secrets = Secrets::resolve(refs, secrets_prefix, source).await?;
    let has_email = routes
        .receivers
        .values()
        .any(|r| r.kind == crate::config::ReceiverKind::Email);
    let from_env = match (aws, has_email) {
        (None, true) => Some(pulse_adapters::aws::config_from_env().await),
        _ => None,
    };
    let aws = aws.or(from_env.as_ref());
    let mut built = BTreeMap::new();
    for (name, config) in &routes.receivers {
        let r = receivers::build(name, config, &secrets, routes.defaults.timeout.0, aws)?;
        built.insert(name.clone(), r);
    }
    Ok(App {
        routes,
        receivers: built,
        store,
        http: HttpSender::new()?,
        clock,
        metrics: Metrics::new(metrics_namespace),
        silences: crate::silences::SilenceCache::disabled(),
        queues: crate::forward::Queues::disabled(),
    })
}

/// The Redis URL with the AUTH token from SSM, when one is configured.
pub async fn redis_url(
    settings: &Settings,
    source: &impl SecretSource,
) -> Result<Secret, PortError> {
    let Some(parameter) = &settings.redis_auth_parameter else {
        return Ok(Secret::new(settings.redis_url.as_str()));
    };
    let r = SecretRef::Ssm(parameter.clone());
    let secrets = Secrets::resolve([&r], None, source).await?;
    let token = secrets.get(&r)?;
    Ok(Secret::new(with_password(
        &settings.redis_url,
        token.expose(),
    )))
}

/// `redis://host:6379/` → `redis://:token@host:6379/` (token percent-encoded).
fn with_password(url: &str, token: &str) -> String {
    let encoded: String = token
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    match url.split_once("://") {
        Some((scheme, rest)) if !rest.contains('@') => format!("{scheme}://:{encoded}@{rest}"),
        _ => url.to_string(),
    }
}

/// The production application: environment, SSM, Redis, system clock.
pub async fn from_env() -> Result<App<RedisStore>, StartupError> {
    let settings = Settings::from_env()?;
    let aws = pulse_adapters::aws::config_from_env().await;
    let ssm = SsmSecrets::new(&aws);
    from_settings(&settings, &ssm, &aws).await
}

/// The production application from settings, a secret source (SSM) and the AWS
/// configuration (SQS, for deferrals and dead letters; SES, for email receivers): routes
/// file, secrets, Redis, system clock.
pub async fn from_settings(
    settings: &Settings,
    ssm: &impl SecretSource,
    aws: &pulse_adapters::aws::SdkConfig,
) -> Result<App<RedisStore>, StartupError> {
    let mut routes = RoutesFile::load(&settings.routes_file)?;
    if let Some(retention) = settings.dlq_retention
        && routes.defaults.outlive_dlq(retention)
    {
        tracing::warn!(
            completed_ttl_secs = routes.defaults.completed_ttl.0.as_secs(),
            "completed_ttl raised to outlive the DLQ's retention"
        );
    }
    let url = redis_url(settings, ssm).await?;
    let store = RedisStore::connect(&url)?;
    let silences = crate::silences::SilenceCache::new(store.silences());
    let mut app = build_with_aws(
        routes,
        settings.secrets_parameter_path.as_deref(),
        ssm,
        store,
        Arc::new(crate::clock::SystemClock),
        &settings.metrics_namespace,
        Some(aws),
    )
    .await?;
    app.silences = silences;
    app.queues = crate::forward::Queues {
        sqs: (settings.alerts_queue_url.is_some() || settings.dead_letter_queue_url.is_some())
            .then(|| SqsForward::new(aws)),
        alerts_queue_url: settings.alerts_queue_url.clone(),
        dead_letter_queue_url: settings.dead_letter_queue_url.clone(),
        max_receive_count: settings.max_receive_count,
    };
    Ok(app)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_goes_into_the_url() {
        assert_eq!(
            with_password("rediss://cache:6379/", "a/b@c"),
            "rediss://:a%2Fb%40c@cache:6379/"
        );
        assert_eq!(with_password("redis://:x@h/", "y"), "redis://:x@h/");
    }
}
