//! The repeat interval: a receiver is told about the same (key, rule) at most once per
//! interval, unless it got worse since it was last told: a higher severity, or the same
//! severity at a deeper level (a depeg going from 5 % to 10 % to 25 %, all critical). The
//! store keeps one [`LastSent`] per (receiver, key, rule); time comes from the caller (the
//! alert's own time), so tests control it.

use pulse_core::event::Severity;
pub use pulse_core::ports::LastSent;
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// Tell the receiver; `escalation` when (severity, level) rose within the interval.
    Send { escalation: bool },
    /// Already told within the interval, at no lower (severity, level); the next one may go at
    /// `until_ms`.
    Suppress { until_ms: i64 },
}

/// Whether to send now.
pub fn decide(
    last: Option<&LastSent>,
    severity: Severity,
    level: u8,
    now_ms: i64,
    interval: Duration,
) -> Repeat {
    let Some(last) = last else {
        return Repeat::Send { escalation: false };
    };
    let interval_ms = i64::try_from(interval.as_millis()).unwrap_or(i64::MAX);
    let until_ms = last.at_ms.saturating_add(interval_ms);
    if now_ms >= until_ms {
        Repeat::Send { escalation: false }
    } else if (severity, level) > (last.severity, last.level) {
        Repeat::Send { escalation: true }
    } else {
        Repeat::Suppress { until_ms }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repeat_interval_and_escalation() {
        let hour = Duration::from_secs(3600);
        let last = LastSent {
            severity: Severity::Warning,
            level: 1,
            at_ms: 1_000,
        };
        assert_eq!(
            decide(None, Severity::Info, 1, 0, hour),
            Repeat::Send { escalation: false }
        );
        assert_eq!(
            decide(Some(&last), Severity::Warning, 1, 1_000 + 3_599_999, hour),
            Repeat::Suppress {
                until_ms: 3_601_000
            }
        );
        assert_eq!(
            decide(Some(&last), Severity::Info, 3, 2_000, hour),
            Repeat::Suppress {
                until_ms: 3_601_000
            },
            "a lower severity at a deeper level is not worse"
        );
        assert_eq!(
            decide(Some(&last), Severity::Critical, 1, 2_000, hour),
            Repeat::Send { escalation: true }
        );
        assert_eq!(
            decide(Some(&last), Severity::Warning, 2, 2_000, hour),
            Repeat::Send { escalation: true },
            "same severity, deeper level"
        );
        assert_eq!(
            decide(Some(&last), Severity::Warning, 1, 3_601_000, hour),
            Repeat::Send { escalation: false }
        );
    }
}
