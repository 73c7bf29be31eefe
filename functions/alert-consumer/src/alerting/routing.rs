//! The routing tree, in the spirit of Alertmanager's. The root route is the default route: it
//! matches every alert. An alert walks down: the children of a matching route are tried in
//! order; the first child that matches takes the alert unless it says `continue = true`, in
//! which case the following siblings are tried too. When no child matches, the route itself
//! delivers to its receivers. A route without receivers inherits its parent's, and without a
//! `repeat_interval` its parent's.

use super::view::AlertView;
use pulse_core::event::{AlertRule, EventType, Severity};
use pulse_core::time::HumanDuration;
use serde::Deserialize;
use std::time::Duration;

/// What an alert must have for a route or a silence to apply. Every field given must match;
/// a list means "any of these"; `tags` means "all of these"; an empty matcher matches all.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields, rename_all = "camelCase")]
pub struct Matchers {
    #[serde(alias = "event_type")]
    pub event_type: Vec<EventType>,
    pub severity: Vec<Severity>,
    /// At least this severity.
    #[serde(alias = "min_severity")]
    pub min_severity: Option<Severity>,
    pub rule: Vec<AlertRule>,
    pub tags: Vec<String>,
    pub chain: Vec<String>,
    #[serde(alias = "protocol_id")]
    pub protocol_id: Vec<String>,
    #[serde(alias = "token_id")]
    pub token_id: Vec<String>,
    pub key: Vec<String>,
}

fn any_of<T: PartialEq>(allowed: &[T], value: Option<&T>) -> bool {
    allowed.is_empty() || value.is_some_and(|v| allowed.contains(v))
}

fn any_of_str(allowed: &[String], value: Option<&str>) -> bool {
    allowed.is_empty() || value.is_some_and(|v| allowed.iter().any(|a| a == v))
}

impl Matchers {
    pub fn is_empty(&self) -> bool {
        *self == Matchers::default()
    }

    pub fn matches(&self, a: &AlertView) -> bool {
        any_of(&self.event_type, Some(&a.event_type))
            && any_of(&self.severity, Some(&a.severity))
            && self.min_severity.is_none_or(|min| a.severity >= min)
            && any_of(&self.rule, a.rule.as_ref())
            && self.tags.iter().all(|t| a.tags.contains(t))
            && any_of_str(&self.chain, a.chain.as_deref())
            && any_of_str(&self.protocol_id, a.protocol_id.as_deref())
            && any_of_str(&self.token_id, a.token_id.as_deref())
            && any_of_str(&self.key, Some(&a.key))
    }
}

/// One node of the tree.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Route {
    #[serde(rename = "match")]
    pub matchers: Matchers,
    pub receivers: Vec<String>,
    #[serde(rename = "continue")]
    pub continue_matching: bool,
    pub repeat_interval: Option<HumanDuration>,
    pub routes: Vec<Route>,
}

/// A receiver an alert goes to, with the repeat interval of the route that chose it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub receiver: String,
    pub repeat_interval: Duration,
}

impl Route {
    /// The receivers for this alert, each once (the first route naming it wins), in order.
    /// `default_interval` applies where no route on the way sets one.
    pub fn targets(&self, alert: &AlertView, default_interval: Duration) -> Vec<Target> {
        let mut out = Vec::new();
        let interval = self.repeat_interval.map_or(default_interval, |d| d.0);
        // The root is the default route: its matchers are not consulted.
        self.walk_children(alert, &self.receivers, interval, &mut out);
        out
    }

    fn walk_children(
        &self,
        alert: &AlertView,
        receivers: &[String],
        interval: Duration,
        out: &mut Vec<Target>,
    ) {
        let mut matched = false;
        for child in &self.routes {
            if child.walk(alert, receivers, interval, out) {
                matched = true;
                if !child.continue_matching {
                    break;
                }
            }
        }
        if !matched {
            for r in receivers {
                if !out.iter().any(|t| &t.receiver == r) {
                    out.push(Target {
                        receiver: r.clone(),
                        repeat_interval: interval,
                    });
                }
            }
        }
    }

    fn walk(
        &self,
        alert: &AlertView,
        parent_receivers: &[String],
        parent_interval: Duration,
        out: &mut Vec<Target>,
    ) -> bool {
        if !self.matchers.matches(alert) {
            return false;
        }
        let receivers = if self.receivers.is_empty() {
            parent_receivers
        } else {
            &self.receivers
        };
        let interval = self.repeat_interval.map_or(parent_interval, |d| d.0);
        self.walk_children(alert, receivers, interval, out);
        true
    }

    /// Every receiver name the tree mentions (to check each is defined).
    pub fn receiver_names(&self) -> Vec<&str> {
        let mut names: Vec<&str> = self.receivers.iter().map(String::as_str).collect();
        for child in &self.routes {
            names.extend(child.receiver_names());
        }
        names.sort_unstable();
        names.dedup();
        names
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::fixtures::alert;

    fn tree() -> Route {
        toml::from_str(
            r#"
            receivers = ["default"]
            repeat_interval = "1h"

            [[routes]]
            match = { severity = ["critical"] }
            receivers = ["pager"]
            repeat_interval = "15m"
            continue = true

            [[routes]]
            match = { chain = ["ethereum"], tags = ["large-change"] }
            receivers = ["eth"]

              [[routes.routes]]
              match = { rule = ["peg_deviation"] }
              receivers = ["pegs"]

            [[routes]]
            match = { chain = ["ethereum"] }
            receivers = ["never-reached"]
            "#,
        )
        .unwrap_or_default()
    }

    fn names(targets: &[Target]) -> Vec<(&str, u64)> {
        targets
            .iter()
            .map(|t| (t.receiver.as_str(), t.repeat_interval.as_secs()))
            .collect()
    }

    #[test]
    fn first_match_continue_nesting_and_default() {
        let t = tree();
        let hour = Duration::from_secs(3600);
        let a = alert(AlertRule::PegDeviation, Severity::Critical, "ethereum");
        assert_eq!(
            names(&t.targets(&a, hour)),
            vec![("pager", 900), ("pegs", 3600)]
        );
        let a = alert(AlertRule::PriceMove, Severity::Warning, "ethereum");
        assert_eq!(names(&t.targets(&a, hour)), vec![("eth", 3600)]);
        let a = alert(AlertRule::PriceMove, Severity::Warning, "solana");
        assert_eq!(names(&t.targets(&a, hour)), vec![("default", 3600)]);
        assert_eq!(
            t.receiver_names(),
            vec!["default", "eth", "never-reached", "pager", "pegs"]
        );
    }

    #[test]
    fn min_severity_and_unknown_fields() {
        let m: Matchers = toml::from_str(r#"minSeverity = "warning""#).unwrap_or_default();
        assert!(m.matches(&alert(AlertRule::PriceMove, Severity::Critical, "x")));
        assert!(!m.matches(&alert(AlertRule::PriceMove, Severity::Info, "x")));
        assert!(toml::from_str::<Matchers>(r#"colour = ["red"]"#).is_err());
    }
}
