//! Redis, for every component that uses it (they share one Redis: see `pulse_core::keys`):
//! connection settings, the one classifier of Redis errors ([`port_error`]), and
//! [`tail`] for `pulse local tail`; the detector's ports in [`detector`], the alert
//! consumer's delivery store in [`delivery`], silences in [`silences`], the scheduled tick's watched keys in [`watch`].

pub mod delivery;
pub mod detector;
pub mod silences;
pub mod watch;

pub use delivery::RedisStore;
pub use detector::{RedisPorts, stream_of};
pub use silences::RedisSilences;

use ::redis::{Client, ConnectionInfo, ErrorKind, IntoConnectionInfo, RedisError, ServerErrorKind};
use pulse_core::ports::PortError;
use std::time::Duration;

/// A Redis error as a port error: its code and message in the text (`redis claim: WRONGTYPE
/// Operation against a key holding the wrong kind of value`), and whether retrying can help.
/// Connection drops, timeouts, loading, failover and the like are worth retrying; a script,
/// type or authentication error is not. The one classifier of every pulse Redis client.
pub fn port_error(what: &str, e: RedisError) -> PortError {
    let retryable = e.is_io_error()
        || e.is_timeout()
        || e.is_connection_dropped()
        || e.is_connection_refusal()
        || matches!(
            e.kind(),
            ErrorKind::Parse
                | ErrorKind::ClusterConnectionNotFound
                | ErrorKind::Server(
                    ServerErrorKind::TryAgain
                        | ServerErrorKind::BusyLoading
                        | ServerErrorKind::MasterDown
                        | ServerErrorKind::ClusterDown
                        | ServerErrorKind::ReadOnly
                        | ServerErrorKind::NoScript
                )
        );
    let text = match (e.code(), e.detail()) {
        (Some(code), Some(detail)) => format!("redis {what}: {code} {detail}"),
        _ => format!("redis {what}: {e}"),
    };
    let error = if retryable {
        PortError::retryable(text)
    } else {
        PortError::permanent(text)
    };
    error.with_source(e)
}

/// The connection info of a URL, with the AUTH token (when given) as its password.
pub fn connection_info(url: &str, auth_token: Option<&str>) -> Result<ConnectionInfo, PortError> {
    let info = url
        .into_connection_info()
        .map_err(|e| PortError::permanent(format!("invalid Redis URL {}: {e}", redact_url(url))))?;
    Ok(match auth_token {
        Some(token) => {
            let settings = info.redis_settings().clone().set_password(token);
            info.set_redis_settings(settings)
        }
        None => info,
    })
}

/// Connection settings. The AUTH token, when given, overrides any password in the URL.
#[derive(Clone)]
pub struct RedisSettings {
    /// `redis://host:port/db` or `rediss://host:port/db` (TLS).
    pub url: String,
    pub auth_token: Option<String>,
    pub response_timeout: Duration,
    pub connection_timeout: Duration,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &redact_url(&self.url))
            .field(
                "auth_token",
                &self.auth_token.as_ref().map(|_| "<redacted>"),
            )
            .finish_non_exhaustive()
    }
}

/// The URL without its password, for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}<redacted>{}", &url[..scheme + 3], &url[at..])
        }
        _ => url.to_string(),
    }
}

impl RedisSettings {
    pub fn new(url: impl Into<String>) -> Self {
        RedisSettings {
            url: url.into(),
            auth_token: None,
            response_timeout: Duration::from_secs(5),
            connection_timeout: Duration::from_secs(3),
        }
    }
}

/// Subscribes to a channel pattern (`events:*`) and calls `on_message(channel, payload)` for
/// each message until it returns false or the connection ends (`pulse local tail`).
pub async fn tail(
    settings: &RedisSettings,
    pattern: &str,
    mut on_message: impl FnMut(&str, &str) -> bool,
) -> Result<(), PortError> {
    use futures::StreamExt;
    let info = connection_info(&settings.url, settings.auth_token.as_deref())?;
    let client = Client::open(info).map_err(|e| port_error("client", e))?;
    let mut pubsub = client
        .get_async_pubsub()
        .await
        .map_err(|e| port_error("subscribe", e))?;
    pubsub
        .psubscribe(pattern)
        .await
        .map_err(|e| port_error("psubscribe", e))?;
    let mut messages = pubsub.into_on_message();
    while let Some(msg) = messages.next().await {
        let payload: String = msg.get_payload().unwrap_or_default();
        if !on_message(msg.get_channel_name(), &payload) {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_redacted() {
        assert_eq!(
            redact_url("rediss://user:secret@host:6379/0"),
            "rediss://<redacted>@host:6379/0"
        );
        assert_eq!(redact_url("redis://host:6379"), "redis://host:6379");
    }
}
