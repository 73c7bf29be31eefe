//! Silences: matchers plus a time window (`starts` optional, `expires` required), and
//! optionally the receivers they mute (all when none are named). A silenced alert is dropped
//! for that receiver with a log line and a metric; an expired silence does nothing.

use super::routing::Matchers;
use super::view::AlertView;
use pulse_core::time::Timestamp;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Silence {
    #[serde(rename = "match")]
    pub matchers: Matchers,
    #[serde(default)]
    pub starts: Option<Timestamp>,
    pub expires: Timestamp,
    /// Receivers muted; empty means all.
    #[serde(default)]
    pub receivers: Vec<String>,
    /// Why, and who asked: shown in the log line.
    #[serde(default)]
    pub comment: String,
}

impl Silence {
    pub fn is_active(&self, now_ms: i64) -> bool {
        now_ms < self.expires.0 && self.starts.is_none_or(|s| now_ms >= s.0)
    }

    /// Whether this silence mutes `alert` for `receiver` at `now_ms`.
    pub fn mutes(&self, alert: &AlertView, receiver: &str, now_ms: i64) -> bool {
        self.is_active(now_ms)
            && (self.receivers.is_empty() || self.receivers.iter().any(|r| r == receiver))
            && self.matchers.matches(alert)
    }
}

/// The first silence muting `alert` for `receiver` at `now_ms`.
pub fn find<'a>(
    silences: &'a [Silence],
    alert: &AlertView,
    receiver: &str,
    now_ms: i64,
) -> Option<&'a Silence> {
    silences.iter().find(|s| s.mutes(alert, receiver, now_ms))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::fixtures::alert;
    use pulse_core::event::{AlertRule, Severity};

    #[test]
    fn silences_apply_within_their_window_to_their_receivers() {
        let s: Silence = toml::from_str(
            r#"
            match = { tokenId = ["coingecko:usd-coin"] }
            starts = 1000
            expires = "1970-01-01T00:33:20Z"
            receivers = ["slack"]
            comment = "known depeg, ops ticket 42"
            "#,
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let a = alert(AlertRule::PegDeviation, Severity::Critical, "ethereum");
        assert!(!s.mutes(&a, "slack", 999_999));
        assert!(s.mutes(&a, "slack", 1_000_000));
        assert!(!s.mutes(&a, "pager", 1_000_000));
        assert!(s.mutes(&a, "slack", 1_999_999));
        assert!(!s.mutes(&a, "slack", 2_000_000));
        let silences = [s];
        assert!(find(&silences, &a, "slack", 1_500_000).is_some());
    }
}
