//! Configuration from the environment, and one entry point for every request: logs the
//! operator's reason, dispatches, logs the outcome. The Lambda and `pulse dlq --direct` both
//! call [`handle`].

use crate::DEFAULT_MAX_REDRIVE_COUNT;
use crate::ops::{self, Budget, Control, Error};
use crate::report::{Report, emf};
use crate::request::Request;
use pulse_core::env;
use pulse_core::ports::queue::Queue;
use serde_json::Value;
use std::time::Duration;

/// Time kept back from the Lambda's deadline: the run stops this long before it.
pub const SAFETY_MARGIN: Duration = Duration::from_secs(5);

/// What the function reads from its environment ([`pulse_core::env::DLQ_REDRIVE`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub dead_letter_queue_url: String,
    /// Destination when the dead-letter queue feeds no queue (or several).
    pub alerts_queue_url: Option<String>,
    pub max_redrive_count: u32,
    pub metrics_namespace: String,
}

impl Config {
    pub fn from_env() -> Result<Self, String> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, String> {
        let get = |name: &str| get(name).filter(|v| !v.trim().is_empty());
        let dead_letter_queue_url = get(env::DEAD_LETTER_QUEUE_URL)
            .ok_or_else(|| format!("{} is not set", env::DEAD_LETTER_QUEUE_URL))?;
        let max_redrive_count = match get(env::MAX_REDRIVE_COUNT) {
            None => DEFAULT_MAX_REDRIVE_COUNT,
            Some(v) => v.trim().parse().map_err(|_| {
                format!(
                    "{} must be a whole number, not {v:?}",
                    env::MAX_REDRIVE_COUNT
                )
            })?,
        };
        Ok(Config {
            dead_letter_queue_url,
            alerts_queue_url: get(env::ALERTS_QUEUE_URL),
            max_redrive_count,
            metrics_namespace: get(env::METRICS_NAMESPACE)
                .unwrap_or_else(|| env::DEFAULT_METRICS_NAMESPACE.to_string()),
        })
    }
}

/// Runs one request.
pub async fn handle<Q: Queue>(
    q: &Q,
    config: &Config,
    request: &Request,
    budget: Budget,
) -> Result<Report, Error> {
    handle_with(q, config, request, budget, Control::default()).await
}

/// [`handle`], watched (`pulse dlq --direct`: a progress bar, and Ctrl-C).
pub async fn handle_with<Q: Queue>(
    q: &Q,
    config: &Config,
    request: &Request,
    budget: Budget,
    control: Control<'_>,
) -> Result<Report, Error> {
    let dlq = request
        .queue_url()
        .unwrap_or(&config.dead_letter_queue_url)
        .to_string();
    let reason = request.reason().unwrap_or("");
    tracing::info!(
        action = request.action(),
        reason,
        queue_url = %dlq,
        request = %serde_json::to_string(request).unwrap_or_default(),
        "dlq request"
    );
    let result = match request {
        Request::Inspect(r) => ops::inspect_with(q, &dlq, r, budget, control)
            .await
            .map(Report::Inspect),
        Request::Redrive(r) => ops::redrive_with(
            q,
            &dlq,
            config.alerts_queue_url.as_deref(),
            config.max_redrive_count,
            r,
            budget,
            control,
        )
        .await
        .map(Report::Redrive),
        Request::Native(r) => ops::native(q, &dlq, r).await.map(Report::Native),
        Request::Status(_) => ops::status(q, &dlq).await.map(Report::Status),
    };
    match &result {
        Ok(report) => {
            let metrics: Vec<String> = report
                .metrics()
                .iter()
                .map(|(n, v, _)| format!("{n}={v}"))
                .collect();
            tracing::info!(
                action = request.action(),
                reason,
                queue_url = %dlq,
                metrics = %metrics.join(" "),
                "dlq request done"
            );
        }
        Err(e) => tracing::error!(
            action = request.action(),
            reason,
            queue_url = %dlq,
            error = %e,
            retryable = e.retryable(),
            "dlq request failed"
        ),
    }
    result
}

/// What the Lambda runtime reports for a failed request: `errorType` names the kind of failure
/// and says whether a retry can help.
pub fn diagnostic(e: &Error) -> lambda_runtime::Diagnostic {
    lambda_runtime::Diagnostic {
        error_type: format!(
            "{}{}",
            e.kind(),
            if e.retryable() { ".Retryable" } else { "" }
        ),
        error_message: e.to_string(),
    }
}

/// The EMF line for a finished request.
pub fn metrics_line(
    config: &Config,
    request: &Request,
    report: &Report,
    timestamp_ms: i64,
) -> Value {
    let dry_run = matches!(request, Request::Redrive(r) if r.dry_run);
    emf(
        report,
        &config.metrics_namespace,
        request.reason(),
        dry_run,
        timestamp_ms,
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use std::collections::HashMap;

    #[test]
    fn config_reads_the_documented_variables() {
        let vars: HashMap<&str, &str> = [
            (env::DEAD_LETTER_QUEUE_URL, "http://q/dlq"),
            (env::MAX_REDRIVE_COUNT, "5"),
        ]
        .into();
        let c = Config::from_lookup(|n| vars.get(n).map(|v| v.to_string())).unwrap();
        assert_eq!(c.dead_letter_queue_url, "http://q/dlq");
        assert_eq!(c.max_redrive_count, 5);
        assert_eq!(c.alerts_queue_url, None);
        assert_eq!(c.metrics_namespace, "Pulse");

        assert!(Config::from_lookup(|_| None).is_err());
        let bad: HashMap<&str, &str> = [
            (env::DEAD_LETTER_QUEUE_URL, "http://q/dlq"),
            (env::MAX_REDRIVE_COUNT, "three"),
        ]
        .into();
        assert!(Config::from_lookup(|n| bad.get(n).map(|v| v.to_string())).is_err());
    }

    #[test]
    fn every_variable_read_is_declared_for_the_function() {
        let declared: Vec<&str> = env::DLQ_REDRIVE.iter().map(|v| v.name).collect();
        for name in [
            env::DEAD_LETTER_QUEUE_URL,
            env::ALERTS_QUEUE_URL,
            env::MAX_REDRIVE_COUNT,
            env::METRICS_NAMESPACE,
        ] {
            assert!(declared.contains(&name), "{name}");
        }
    }
}
