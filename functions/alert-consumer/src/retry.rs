//! One place decides what is worth retrying (after vector's `is_retriable_error`).
//! Timeouts, connection errors, 429 and 5xx are retryable, with the server's `Retry-After`
//! when it gave one; a 3xx (redirects are not followed) and any other 4xx are permanent for
//! that receiver.

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
    /// The same failure with `detail` appended to its reason (nothing when empty).
    pub fn with_detail(mut self, detail: &str) -> Self {
        if !detail.is_empty() {
            match &mut self {
                Failure::Retryable { reason, .. } | Failure::Permanent { reason } => {
                    reason.push_str(": ");
                    reason.push_str(detail);
                }
            }
        }
        self
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

/// The outcome of an HTTP status. `retry_after` is the raw header (seconds or an HTTP date,
/// against `now_secs`).
pub fn classify_status(
    status: u16,
    retry_after: Option<&str>,
    now_secs: i64,
) -> Result<(), Failure> {
    match status {
        200..=299 => Ok(()),
        429 | 500..=599 => Err(Failure::Retryable {
            reason: format!("HTTP {status}"),
            retry_after: retry_after.and_then(|v| parse_retry_after(v, now_secs)),
        }),
        408 => Err(Failure::retryable("HTTP 408")),
        _ => Err(Failure::permanent(format!("HTTP {status}"))),
    }
}

/// `Retry-After` in delta-seconds or as an HTTP date (`Wed, 21 Oct 2015 07:28:00 GMT`, RFC
/// 9110's IMF-fixdate), as a wait from `now_secs`; a date in the past is no wait.
pub fn parse_retry_after(value: &str, now_secs: i64) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = parse_http_date(value)?;
    Some(Duration::from_secs(
        u64::try_from(at - now_secs).unwrap_or(0),
    ))
}

/// An IMF-fixdate as unix seconds.
fn parse_http_date(value: &str) -> Option<i64> {
    let mut parts = value.split_whitespace();
    let (_weekday, day, month, year, time, zone) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    if zone != "GMT" || parts.next().is_some() {
        return None;
    }
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let month = MONTHS.iter().position(|m| *m == month)? as i64 + 1;
    let (day, year): (i64, i64) = (day.parse().ok()?, year.parse().ok()?);
    let mut hms = time.split(':').map(|p| p.parse::<i64>().ok());
    let (h, m, s) = (hms.next()??, hms.next()??, hms.next()??);
    if !(1..=31).contains(&day) || h > 23 || m > 59 || s > 60 {
        return None;
    }
    Some(pulse_core::time::days_from_civil(year, month, day) * 86_400 + h * 3600 + m * 60 + s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_are_classified() {
        let now = 1_445_412_480; // 2015-10-21T07:28:00Z
        assert_eq!(classify_status(200, None, now), Ok(()));
        assert_eq!(classify_status(202, None, now), Ok(()));
        assert_eq!(
            classify_status(429, Some("3"), now),
            Err(Failure::Retryable {
                reason: "HTTP 429".into(),
                retry_after: Some(Duration::from_secs(3))
            })
        );
        assert_eq!(
            classify_status(503, Some("Wed, 21 Oct 2015 07:28:30 GMT"), now),
            Err(Failure::Retryable {
                reason: "HTTP 503".into(),
                retry_after: Some(Duration::from_secs(30))
            }),
            "an HTTP date"
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(
            classify_status(400, None, now),
            Err(Failure::permanent("HTTP 400"))
        );
        assert_eq!(
            classify_status(302, None, now),
            Err(Failure::permanent("HTTP 302"))
        );
    }
}
