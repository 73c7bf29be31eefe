//! One place decides what is worth retrying (after vector's `is_retriable_error`).
//! Timeouts, connection errors, 429 and 5xx are retryable, with the server's `Retry-After`
//! when it gave one; any other 4xx is permanent for that receiver.

use std::fmt;
use std::time::Duration;

/// A failed delivery to one receiver.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    Retryable {
        reason: String,
        retry_after: Option<Duration>,
    },
    Permanent {
        reason: String,
    },
}

impl Failure {
    pub fn retryable(reason: impl Into<String>) -> Self {
        Failure::Retryable {
            reason: reason.into(),
            retry_after: None,
        }
    }
    pub fn permanent(reason: impl Into<String>) -> Self {
        Failure::Permanent {
            reason: reason.into(),
        }
    }
    pub fn is_retryable(&self) -> bool {
        matches!(self, Failure::Retryable { .. })
    }
    pub fn reason(&self) -> &str {
        match self {
            Failure::Retryable { reason, .. } | Failure::Permanent { reason } => reason,
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Retryable { reason, .. } => write!(f, "{reason} (retryable)"),
            Failure::Permanent { reason } => write!(f, "{reason} (permanent)"),
        }
    }
}

/// The outcome of an HTTP status. `retry_after` is the raw header, in seconds.
pub fn classify_status(status: u16, retry_after: Option<&str>) -> Result<(), Failure> {
    match status {
        200..=299 => Ok(()),
        429 | 500..=599 => Err(Failure::Retryable {
            reason: format!("HTTP {status}"),
            retry_after: retry_after.and_then(parse_retry_after),
        }),
        408 => Err(Failure::retryable("HTTP 408")),
        _ => Err(Failure::permanent(format!("HTTP {status}"))),
    }
}

/// `Retry-After` in delta-seconds; an HTTP date is not honoured (it falls back to SQS's own
/// retry).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        assert_eq!(classify_status(200, None), Ok(()));
        assert_eq!(classify_status(202, None), Ok(()));
        assert_eq!(
            classify_status(429, Some("3")),
            Err(Failure::Retryable {
                reason: "HTTP 429".into(),
                retry_after: Some(Duration::from_secs(3))
            })
        );
        assert!(
            classify_status(503, Some("Wed, 21 Oct 2015 07:28:00 GMT")).is_err_and(|f| f
                == Failure::Retryable {
                    reason: "HTTP 503".into(),
                    retry_after: None
                })
        );
        assert_eq!(
            classify_status(400, None),
            Err(Failure::permanent("HTTP 400"))
        );
        assert_eq!(
            classify_status(404, None),
            Err(Failure::permanent("HTTP 404"))
        );
    }
}
