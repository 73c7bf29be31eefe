//! Receivers: one module per channel, each turning a notification into an HTTP request
//! ([`Outgoing`]) behind the [`Receiver`] trait. Sending, timeouts and failure classes are
//! common ([`crate::http`], [`crate::retry`]). Base URLs are configurable, so tests point
//! them at loopback servers. [`email`] is the one channel that is not HTTP: it sends through
//! SES.

pub mod discord;
pub mod email;
pub mod pagerduty;
pub mod slack;
pub mod telegram;
pub mod webhook;

use crate::alerting::{AlertView, Templates, Text};
use crate::config::{ReceiverConfig, ReceiverKind};
use crate::http::HttpSender;
use crate::retry::Failure;
use crate::secrets::{Secret, Secrets};
use pulse_adapters::aws::SdkConfig;
use pulse_adapters::ses::SesMailer;
use pulse_core::event::{Event, Severity};
use pulse_core::ports::PortError;
use pulse_core::time::format_span;
use std::fmt;
use std::time::Duration;

/// What a receiver is asked to deliver.
#[derive(Debug, Clone, Copy)]
pub struct Notification<'a> {
    pub view: &'a AlertView,
    pub event: &'a Event,
    pub text: &'a Text,
    /// (severity, level) rose within the repeat interval.
    pub escalation: bool,
    /// The alert's age, when older than `max_age`: it is marked late.
    pub late: Option<Duration>,
    /// When it is sent, in milliseconds (the webhook signature's timestamp).
    pub sent_at_ms: i64,
}

/// An HTTP POST with a JSON body. The URL may hold a secret (a webhook path, a bot token), so
/// it never prints.
#[derive(Clone)]
pub struct Outgoing {
    pub url: Secret,
    pub headers: Vec<(&'static str, String)>,
    pub body: Vec<u8>,
}

impl fmt::Debug for Outgoing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Outgoing")
            .field("url", &self.url)
            .field("body_len", &self.body.len())
            .finish_non_exhaustive()
    }
}

impl Outgoing {
    pub fn json(url: Secret, body: &serde_json::Value) -> Self {
        Outgoing {
            url,
            headers: vec![("content-type", "application/json".into())],
            body: body.to_string().into_bytes(),
        }
    }
}

/// One channel.
pub trait Receiver: Send + Sync + fmt::Debug {
    fn kind(&self) -> ReceiverKind;
    /// The request that delivers `n`.
    fn request(&self, n: &Notification<'_>) -> Outgoing;

    /// One request listing several alerts of one group (`group_by`), or `None` when the
    /// channel sends each alert on its own (PagerDuty: one event per dedup key).
    fn group_request(&self, _group: &[Notification<'_>]) -> Option<Outgoing> {
        None
    }
}

/// How a receiver delivers: an HTTP request, or an email through SES.
#[derive(Debug)]
pub enum Channel {
    Http(Box<dyn Receiver>),
    Email(email::EmailReceiver),
}

/// A configured receiver: the channel plus its timeout, templates, grouping and rate limit.
#[derive(Debug)]
pub struct Configured {
    pub name: String,
    pub channel: Channel,
    pub timeout: Duration,
    pub templates: Option<Templates>,
    /// `group_by` fields; `None`: never grouped.
    pub group_by: Option<Vec<String>>,
    pub rate: pulse_core::rate::RateLimit,
}

/// One send over a receiver's channel: an HTTP request, or an email of one notification.
pub enum Message<'a> {
    Request(Outgoing),
    Email(&'a email::EmailReceiver, &'a Notification<'a>),
}

impl Configured {
    /// What delivers `n` alone.
    pub fn message<'a>(&'a self, n: &'a Notification<'a>) -> Message<'a> {
        match &self.channel {
            Channel::Http(r) => Message::Request(r.request(n)),
            Channel::Email(e) => Message::Email(e, n),
        }
    }

    /// One message listing a group, or `None` when the channel sends each alert on its own
    /// (PagerDuty, email).
    pub fn group_message(&self, group: &[Notification<'_>]) -> Option<Message<'_>> {
        match &self.channel {
            Channel::Http(r) => r.group_request(group).map(Message::Request),
            Channel::Email(_) => None,
        }
    }

    /// Sends `m` (HTTP requests through `http`), within this receiver's timeout.
    pub async fn deliver(&self, m: &Message<'_>, http: &HttpSender) -> Result<(), Failure> {
        match m {
            Message::Request(request) => http.send(request, self.timeout).await,
            Message::Email(e, n) => e.send(n, self.timeout).await,
        }
    }
}

/// Builds the receiver `name` from its configuration and the resolved secrets; email
/// receivers need the AWS config (`aws`).
pub fn build(
    name: &str,
    c: &ReceiverConfig,
    secrets: &Secrets,
    default_timeout: Duration,
    aws: Option<&SdkConfig>,
) -> Result<Configured, PortError> {
    let secret = |r: &Option<crate::secrets::SecretRef>, field: &str| {
        r.as_ref()
            .ok_or_else(|| PortError::permanent(format!("receiver `{name}` needs `{field}`")))
            .and_then(|r| secrets.get(r))
    };
    let http: Box<dyn Receiver> = match c.kind {
        ReceiverKind::Webhook => Box::new(webhook::Webhook {
            url: secret(&c.url, "url")?,
            hmac_key: c.secret.as_ref().map(|r| secrets.get(r)).transpose()?,
            previous_key: c
                .previous_secret
                .as_ref()
                .map(|r| secrets.get(r))
                .transpose()?,
        }),
        ReceiverKind::Slack => Box::new(slack::Slack {
            url: secret(&c.url, "url")?,
        }),
        ReceiverKind::Discord => Box::new(discord::Discord {
            url: secret(&c.url, "url")?,
        }),
        ReceiverKind::Telegram => Box::new(telegram::Telegram::new(
            c.api_base.as_deref(),
            &secret(&c.token, "token")?,
            c.chat_id.clone().unwrap_or_default(),
        )),
        ReceiverKind::Pagerduty => Box::new(pagerduty::PagerDuty::new(
            c.api_base.as_deref(),
            secret(&c.routing_key, "routing_key")?,
            c.source.clone(),
        )),
        ReceiverKind::Email => {
            let aws = aws.ok_or_else(|| {
                PortError::permanent(format!("receiver `{name}` (email) needs an AWS config"))
            })?;
            return Ok(Configured {
                name: name.to_string(),
                channel: Channel::Email(email::EmailReceiver {
                    mailer: SesMailer::new(aws, c.region.as_deref()),
                    from: c.from.clone().unwrap_or_default(),
                    to: c.to.clone().unwrap_or_default(),
                    configuration_set: c.configuration_set.clone(),
                }),
                timeout: c.timeout.map_or(default_timeout, |t| t.0),
                templates: c.templates.clone(),
                group_by: c.grouping(),
                rate: c.rate(),
            });
        }
    };
    Ok(Configured {
        name: name.to_string(),
        channel: Channel::Http(http),
        timeout: c.timeout.map_or(default_timeout, |t| t.0),
        templates: c.templates.clone(),
        group_by: c.grouping(),
        rate: c.rate(),
    })
}

/// A colour per severity (Discord embeds, Slack attachments): green, amber, red.
pub fn colour(severity: Severity) -> u32 {
    match severity {
        Severity::Info => 0x2e_b8_86,
        Severity::Warning => 0xf2_c7_44,
        Severity::Critical => 0xe0_1e_5a,
    }
}

/// The title, marked when it got worse or when it is late.
pub fn title(n: &Notification<'_>) -> String {
    let mut t = n.text.title.clone();
    if n.escalation {
        t.push_str(" (escalated)");
    }
    if let Some(age) = n.late {
        let age = i64::try_from(age.as_secs()).unwrap_or(i64::MAX);
        t.push_str(&format!(" (late: {} old)", format_span(age)));
    }
    t
}

/// The heading of a grouped notification: `3 alerts` or `3 resolved`.
pub fn group_heading(group: &[Notification<'_>]) -> String {
    let resolved = group.first().is_some_and(|n| n.view.is_resolve());
    format!(
        "{} {}",
        group.len(),
        if resolved { "resolved" } else { "alerts" }
    )
}

/// `text` cut to at most `max` bytes at a character boundary, with `…` when cut.
pub fn cut(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}
