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
    /// A `Retry-After` (or a receiver's rate limit) up to this long is waited for within the
    /// invocation, if the Lambda has the time left; a longer one defers the message: it goes
    /// back to the alerts queue with that delay (at most 15 min), or, without the queue's URL,
    /// fails so SQS retries it later.
    pub max_retry_after: HumanDuration,
    /// How many times one message may be deferred (its `pulseDeferrals` attribute); past
    /// that, a receiver still asking to wait fails the message as any other retryable
    /// failure, so one that answers 429 forever still ends in the dead-letter queue.
    pub max_deferrals: u32,
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
            max_deferrals: 10,
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
    /// Alerts of one batch for this receiver with equal values of these fields (and equal
    /// status) go out as one notification. Default `["rule", "key"]`; `["..."]`: never group.
    pub group_by: Option<Vec<String>>,
    /// Messages per second to this receiver (`"1/s"`, `"30/m"`), shared by every consumer
    /// through Redis. Default per kind ([`default_rate`]).
    pub rate_limit: Option<pulse_core::rate::Rate>,
    /// How many messages may go back to back (default 1).
    pub rate_burst: Option<u32>,
}

/// The fields `group_by` may name (those of silence matchers).
pub const GROUP_FIELDS: &[&str] = &[
    "eventType",
    "severity",
    "rule",
    "chain",
    "protocolId",
    "tokenId",
    "key",
    "tag",
];

/// A receiver's rate limit where the routes file sets none, from each service's documented
/// limit: Slack incoming webhooks 1 message/s (short bursts tolerated), Discord webhooks 30
/// per minute per channel (5 per 2 s), Telegram 20 messages per minute in a group, PagerDuty
/// Events API v2 120 events per minute per integration key; a webhook (our own endpoint) 10/s;
/// email 1/s (SES's sending rate in the sandbox; an account's own quota may allow more).
pub fn default_rate(kind: ReceiverKind) -> pulse_core::rate::RateLimit {
    use pulse_core::rate::RateLimit;
    match kind {
        ReceiverKind::Slack => RateLimit::new(1.0, 1),
        ReceiverKind::Discord => RateLimit::new(0.5, 5),
        ReceiverKind::Telegram => RateLimit::new(20.0 / 60.0, 1),
        ReceiverKind::Pagerduty => RateLimit::new(2.0, 2),
        ReceiverKind::Webhook => RateLimit::new(10.0, 10),
        ReceiverKind::Email => RateLimit::new(1.0, 1),
    }
}

impl ReceiverConfig {
    /// This receiver's rate limit: `rate_limit` and `rate_burst`, else its kind's default.
    pub fn rate(&self) -> pulse_core::rate::RateLimit {
        let default = default_rate(self.kind);
        pulse_core::rate::RateLimit::new(
            self.rate_limit.map_or(default.per_second, |r| r.0),
            self.rate_burst.unwrap_or(if self.rate_limit.is_some() {
                1
            } else {
                default.burst
            }),
        )
    }

    /// This receiver's grouping: `group_by`, else rule and key; `None` when it never groups.
    pub fn grouping(&self) -> Option<Vec<String>> {
        match &self.group_by {
            Some(fields) if fields.iter().any(|f| f == "...") => None,
            Some(fields) => Some(fields.clone()),
            None => Some(vec!["rule".into(), "key".into()]),
        }
    }

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
        for field in self.group_by.iter().flatten() {
            if field != "..." && !GROUP_FIELDS.contains(&field.as_str()) {
                return Err(format!(
                    "receiver `{name}`: group_by field `{field}` unknown (one of {}, or \"...\" for no grouping)",
                    GROUP_FIELDS.join(", ")
                ));
            }
        }
        if self.rate_burst == Some(0) {
            return Err(format!("receiver `{name}`: rate_burst must be at least 1"));
        }
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

/// The alerts queue's `maxReceiveCount` where Terraform does not say (SPEC: 3).
pub const DEFAULT_MAX_RECEIVE_COUNT: u32 = 3;

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
    /// The alerts queue: deferred messages go back to it with a delay.
    pub alerts_queue_url: Option<String>,
    /// The dead-letter queue: a message failing on its final receive goes there with its
    /// `failureReason`.
    pub dead_letter_queue_url: Option<String>,
    /// The alerts queue's `maxReceiveCount` (its redrive policy), default 3.
    pub max_receive_count: u32,
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
            alerts_queue_url: get(env::ALERTS_QUEUE_URL),
            dead_letter_queue_url: get(env::DEAD_LETTER_QUEUE_URL),
            max_receive_count: match get(env::MAX_RECEIVE_COUNT) {
                None => DEFAULT_MAX_RECEIVE_COUNT,
                Some(v) => v.trim().parse().ok().filter(|n| *n >= 1).ok_or_else(|| {
                    ConfigError::BadEnv(
                        env::MAX_RECEIVE_COUNT,
                        format!(
                            "{v:?} is not a receive count (the queue's maxReceiveCount, 1 or more)"
                        ),
                    )
                })?,
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
    fn rate_limits_and_grouping_have_defaults_and_checks() {
        use pulse_core::rate::RateLimit;
        let file = |extra: &str| {
            RoutesFile::parse(&format!(
                r#"
                [route]
                receivers = ["s"]
                [receivers.s]
                kind = "slack"
                url = {{ value = "http://x" }}
                {extra}
                "#
            ))
        };
        let slack = file("").unwrap_or_else(|e| panic!("{e}"));
        let s = &slack.receivers["s"];
        assert_eq!(s.rate(), RateLimit::new(1.0, 1), "Slack's 1 message/s");
        assert_eq!(
            s.grouping(),
            Some(vec!["rule".to_string(), "key".to_string()])
        );
        let set =
            file("rate_limit = \"30/m\"\ngroup_by = [\"...\"]").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(set.receivers["s"].rate(), RateLimit::new(0.5, 1));
        assert_eq!(set.receivers["s"].grouping(), None);
        let bad = file("group_by = [\"colour\"]")
            .map(|_| ())
            .unwrap_err()
            .to_string();
        assert!(bad.contains("group_by field `colour`"), "{bad}");
        assert!(file("rate_limit = \"0/s\"").is_err());
        assert_eq!(Defaults::default().max_deferrals, 10);
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
