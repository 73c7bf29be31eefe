//! Configuration: the routes file (TOML: defaults, templates, links, the routing tree,
//! silences, receivers) and the environment (variable names from `pulse_core::env`).
//! `routes.example.toml` beside this crate documents every field.

use crate::alerting::{Links, Route, Silence, Templates};
use crate::secrets::SecretRef;
use pulse_core::env;
use pulse_core::time::HumanDuration;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("environment variable {0} is required")]
    MissingEnv(&'static str),
    #[error("environment variable {0}: {1}")]
    BadEnv(&'static str, String),
    #[error("cannot read routes file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("routes file: {0}")]
    Parse(#[from] toml::de::Error),
    #[error("routes file: {0}")]
    Invalid(String),
}

/// The DLQ's retention where Terraform does not say: SQS's maximum, 14 days.
pub const DLQ_RETENTION: Duration = Duration::from_secs(14 * 24 * 3600);
/// How much longer than the DLQ's retention delivery records live.
pub const DLQ_MARGIN: Duration = Duration::from_secs(24 * 3600);

impl Defaults {
    /// Makes the delivery records outlive a DLQ keeping messages `retention`: at least
    /// `retention` plus [`DLQ_MARGIN`]. Returns whether it raised them.
    pub fn outlive_dlq(&mut self, retention: Duration) -> bool {
        let need = retention + DLQ_MARGIN;
        let raise = self.completed_ttl.0 < need;
        if raise {
            self.completed_ttl = HumanDuration(need);
        }
        raise
    }
}

/// Tunables, all optional.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Defaults {
    /// Repeat interval where no route sets one.
    pub repeat_interval: HumanDuration,
    /// Life of the in-progress marker (longer than one delivery attempt, shorter than the
    /// queue's visibility timeout so a crashed attempt does not block the retry).
    pub in_progress_ttl: HumanDuration,
    /// Life of the completed marker, the per-receiver delivery records and the episode
    /// records: longer than a message can wait in the DLQ, so a redrive never notifies twice.
    /// Default 15 days (the DLQ's 14 plus a day); raised at start-up to the DLQ retention
    /// Terraform passes (`PULSE_DLQ_RETENTION_SECS`) plus a day if shorter.
    pub completed_ttl: HumanDuration,
    /// An alert older than this (its own time against the consumer's clock) is still
    /// delivered, marked late (title and webhook `late`), and counted (`DeliveredLate`).
    pub max_age: HumanDuration,
    /// Per request timeout where a receiver sets none.
    pub timeout: HumanDuration,
    /// A `Retry-After` up to this long is waited for once, within the Lambda's remaining time;
    /// a longer one fails the message so SQS retries it later.
    pub max_retry_after: HumanDuration,
}

impl Default for Defaults {
    fn default() -> Self {
        Defaults {
            repeat_interval: HumanDuration(Duration::from_secs(3600)),
            in_progress_ttl: HumanDuration(Duration::from_secs(120)),
            completed_ttl: HumanDuration(DLQ_RETENTION + DLQ_MARGIN),
            max_age: HumanDuration(Duration::from_secs(6 * 3600)),
            timeout: HumanDuration(Duration::from_secs(5)),
            max_retry_after: HumanDuration(Duration::from_secs(10)),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ReceiverKind {
    Webhook,
    Slack,
    Discord,
    Telegram,
    Pagerduty,
    Email,
}

impl ReceiverKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReceiverKind::Webhook => "webhook",
            ReceiverKind::Slack => "slack",
            ReceiverKind::Discord => "discord",
            ReceiverKind::Telegram => "telegram",
            ReceiverKind::Pagerduty => "pagerduty",
            ReceiverKind::Email => "email",
        }
    }
}

/// One receiver. Which fields apply depends on `kind`:
/// - `webhook`: `url`, optional `secret` (HMAC key of the signatures) and `previous_secret`
///   (the key being rotated out, still signing);
/// - `slack`, `discord`: `url` (the incoming webhook);
/// - `telegram`: `token`, `chat_id`, optional `api_base` (default `https://api.telegram.org`);
/// - `pagerduty`: `routing_key`, optional `api_base` (default `https://events.pagerduty.com`)
///   and `source` (default `pulse`);
/// - `email`: `from` (an SES-verified identity), `to` (a list), optional `region` (default:
///   the function's) and `configuration_set`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReceiverConfig {
    pub kind: ReceiverKind,
    pub url: Option<SecretRef>,
    pub secret: Option<SecretRef>,
    /// The webhook secret being rotated out: while set, requests carry a signature under
    /// each of the two.
    pub previous_secret: Option<SecretRef>,
    pub token: Option<SecretRef>,
    pub chat_id: Option<String>,
    pub routing_key: Option<SecretRef>,
    pub api_base: Option<String>,
    pub source: Option<String>,
    /// Email: the sender, an identity verified in SES.
    pub from: Option<String>,
    /// Email: the recipients.
    pub to: Option<Vec<String>>,
    /// Email: the SES region, where it is not the function's.
    pub region: Option<String>,
    /// Email: the SES configuration set.
    pub configuration_set: Option<String>,
    pub timeout: Option<HumanDuration>,
    pub templates: Option<Templates>,
}

impl ReceiverConfig {
    /// Every secret reference of this receiver.
    pub fn secret_refs(&self) -> impl Iterator<Item = &SecretRef> {
        [
            &self.url,
            &self.secret,
            &self.previous_secret,
            &self.token,
            &self.routing_key,
        ]
        .into_iter()
        .flatten()
    }

    fn check(&self, name: &str) -> Result<(), String> {
        let need = |present: bool, field: &str| {
            if present {
                Ok(())
            } else {
                Err(format!(
                    "receiver `{name}` ({}) needs `{field}`",
                    self.kind.as_str()
                ))
            }
        };
        match self.kind {
            ReceiverKind::Webhook if self.previous_secret.is_some() && self.secret.is_none() => {
                Err(format!(
                    "receiver `{name}` (webhook): `previous_secret` needs `secret`, the new key"
                ))
            }
            ReceiverKind::Webhook | ReceiverKind::Slack | ReceiverKind::Discord => {
                need(self.url.is_some(), "url")
            }
            ReceiverKind::Telegram => {
                need(self.token.is_some(), "token")?;
                need(self.chat_id.is_some(), "chat_id")
            }
            ReceiverKind::Pagerduty => need(self.routing_key.is_some(), "routing_key"),
            ReceiverKind::Email => {
                need(self.from.is_some(), "from")?;
                let to = self.to.as_deref().unwrap_or_default();
                need(!to.is_empty(), "to")?;
                match std::iter::once(self.from.as_deref().unwrap_or_default())
                    .chain(to.iter().map(String::as_str))
                    .find(|a| !a.contains('@'))
                {
                    Some(bad) => Err(format!(
                        "receiver `{name}` (email): {bad:?} is not an email address"
                    )),
                    None => Ok(()),
                }
            }
        }
    }
}

/// The routes file.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RoutesFile {
    #[serde(default)]
    pub defaults: Defaults,
    #[serde(default)]
    pub templates: Templates,
    #[serde(default)]
    pub links: Links,
    /// The root route: the default route, matching every alert.
    pub route: Route,
    #[serde(default)]
    pub silences: Vec<Silence>,
    pub receivers: BTreeMap<String, ReceiverConfig>,
}

impl RoutesFile {
    pub fn parse(text: &str) -> Result<Self, ConfigError> {
        let file: RoutesFile = toml::from_str(text)?;
        file.check().map_err(ConfigError::Invalid)?;
        Ok(file)
    }

    pub fn load(path: &str) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_string(),
            source,
        })?;
        Self::parse(&text)
    }

    fn check(&self) -> Result<(), String> {
        if self.route.receivers.is_empty() {
            return Err("the root [route] needs `receivers` (the default route)".into());
        }
        if !self.route.matchers.is_empty() {
            return Err("the root [route] matches everything: remove its `match`".into());
        }
        for name in self.route.receiver_names() {
            if !self.receivers.contains_key(name) {
                return Err(format!("route names receiver `{name}`, not defined"));
            }
        }
        for s in &self.silences {
            for name in &s.receivers {
                if !self.receivers.contains_key(name) {
                    return Err(format!("silence names receiver `{name}`, not defined"));
                }
            }
        }
        for (name, r) in &self.receivers {
            r.check(name)?;
        }
        Ok(())
    }
}

/// What the environment gives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    pub redis_url: String,
    pub redis_auth_parameter: Option<String>,
    pub routes_file: String,
    pub secrets_parameter_path: Option<String>,
    pub metrics_namespace: String,
    /// The DLQ's retention, as Terraform configured the queue.
    pub dlq_retention: Option<Duration>,
}

impl Settings {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|name| std::env::var(name).ok().filter(|v| !v.is_empty()))
    }

    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        Ok(Settings {
            redis_url: get(env::REDIS_URL).ok_or(ConfigError::MissingEnv(env::REDIS_URL))?,
            redis_auth_parameter: get(env::REDIS_AUTH_PARAMETER),
            routes_file: get(env::ROUTES_FILE).ok_or(ConfigError::MissingEnv(env::ROUTES_FILE))?,
            secrets_parameter_path: get(env::SECRETS_PARAMETER_PATH),
            metrics_namespace: get(env::METRICS_NAMESPACE)
                .unwrap_or_else(|| env::DEFAULT_METRICS_NAMESPACE.to_string()),
            dlq_retention: match get(env::DLQ_RETENTION_SECS) {
                None => None,
                Some(v) => Some(Duration::from_secs(v.trim().parse().map_err(|_| {
                    ConfigError::BadEnv(
                        env::DLQ_RETENTION_SECS,
                        format!("{v:?} is not a number of seconds"),
                    )
                })?)),
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_example_file_parses() {
        let text = include_str!("../routes.example.toml");
        let file = RoutesFile::parse(text).unwrap_or_else(|e| panic!("{e}"));
        assert!(file.receivers.len() >= 5);
        assert_eq!(file.defaults.repeat_interval.0, Duration::from_secs(3600));
    }

    #[test]
    fn delivery_records_outlive_the_dlq() {
        let mut d = Defaults::default();
        assert_eq!(d.completed_ttl.0, Duration::from_secs(15 * 24 * 3600));
        assert!(!d.outlive_dlq(DLQ_RETENTION), "the default already does");
        d.completed_ttl = HumanDuration(Duration::from_secs(24 * 3600));
        assert!(d.outlive_dlq(Duration::from_secs(4 * 24 * 3600)));
        assert_eq!(d.completed_ttl.0, Duration::from_secs(5 * 24 * 3600));
        let bad = Settings::from_lookup(|n| match n {
            "PULSE_DLQ_RETENTION_SECS" => Some("two weeks".into()),
            _ => Some("x".into()),
        });
        assert!(bad.is_err_and(|e| e.to_string().contains("PULSE_DLQ_RETENTION_SECS")));
    }

    #[test]
    fn undefined_receivers_and_missing_fields_are_rejected() {
        let base = r#"
            [route]
            receivers = ["a"]
            [receivers.a]
            kind = "webhook"
        "#;
        let err = |text: &str| match RoutesFile::parse(text) {
            Ok(_) => String::new(),
            Err(e) => e.to_string(),
        };
        let e = err(base);
        assert!(e.contains("needs `url`"), "{e}");
        let e = err(&base.replace(r#"["a"]"#, r#"["b"]"#));
        assert!(e.contains("`b`"), "{e}");
        let email = base.replace("webhook", "email");
        assert!(err(&email).contains("needs `from`"));
        let e = err(&format!("{email}\nfrom = \"a@x.org\"\nto = []"));
        assert!(e.contains("needs `to`"), "{e}");
        let e = err(&format!("{email}\nfrom = \"a@x.org\"\nto = [\"oncall\"]"));
        assert!(e.contains("\"oncall\" is not an email address"), "{e}");
        assert_eq!(
            err(&format!("{email}\nfrom = \"a@x.org\"\nto = [\"b@x.org\"]")),
            ""
        );
    }

    #[test]
    fn settings_come_from_the_shared_names() {
        let lookup = |name: &str| match name {
            "PULSE_REDIS_URL" => Some("redis://127.0.0.1:6379/".to_string()),
            "PULSE_ROUTES_FILE" => Some("/var/task/routes.toml".to_string()),
            _ => None,
        };
        let s = Settings::from_lookup(lookup).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(s.metrics_namespace, "Pulse");
        assert_eq!(s.secrets_parameter_path, None);
        let missing = Settings::from_lookup(|_| None).map(|_| ());
        assert!(matches!(
            missing,
            Err(ConfigError::MissingEnv("PULSE_REDIS_URL"))
        ));
        for name in [env::REDIS_URL, env::ROUTES_FILE, env::REDIS_AUTH_PARAMETER] {
            assert!(env::ALERT_CONSUMER.iter().any(|v| v.name == name));
        }
    }
}
