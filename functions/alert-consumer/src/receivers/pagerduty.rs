//! PagerDuty Events API v2 (`POST /v2/enqueue`). A firing alert triggers an incident whose
//! `dedup_key` is its episode: the alert's key and trigger rule, so repeats update one
//! incident; a resolved alert (any rule's, a peg recovery included) sends `resolve` with the
//! same `dedup_key`.

use super::{Notification, Outgoing, Receiver, title};
use crate::alerting::AlertView;
use crate::config::ReceiverKind;
use crate::secrets::Secret;
use pulse_core::event::Severity;
use pulse_core::time::Timestamp;
use serde_json::json;

pub const DEFAULT_API_BASE: &str = "https://events.pagerduty.com";

#[derive(Debug)]
pub struct PagerDuty {
    url: Secret,
    routing_key: Secret,
    source: String,
}

impl PagerDuty {
    pub fn new(api_base: Option<&str>, routing_key: Secret, source: Option<String>) -> Self {
        let base = api_base.unwrap_or(DEFAULT_API_BASE).trim_end_matches('/');
        PagerDuty {
            url: Secret::new(format!("{base}/v2/enqueue")),
            routing_key,
            source: source.unwrap_or_else(|| "pulse".into()),
        }
    }
}

/// The incident of an alert: `{key}:{trigger rule}`, the same for its trigger and its resolve
/// (a peg recovery names its deviation's incident).
pub fn dedup_key(v: &AlertView) -> String {
    format!("{}:{}", v.key, v.episode_rule())
}

impl Receiver for PagerDuty {
    fn kind(&self) -> ReceiverKind {
        ReceiverKind::Pagerduty
    }

    fn request(&self, n: &Notification<'_>) -> Outgoing {
        let v = n.view;
        let body = if v.is_resolve() {
            json!({
                "routing_key": self.routing_key.expose(),
                "event_action": "resolve",
                "dedup_key": dedup_key(v),
            })
        } else {
            let severity = match v.severity {
                Severity::Critical => "critical",
                Severity::Warning => "warning",
                Severity::Info => "info",
            };
            let mut body = json!({
                "routing_key": self.routing_key.expose(),
                "event_action": "trigger",
                "dedup_key": dedup_key(v),
                "payload": {
                    "summary": title(n),
                    "source": self.source,
                    "severity": severity,
                    "timestamp": Timestamp(v.timestamp_ms).to_rfc3339(),
                    "component": v.key,
                    "group": v.protocol_id.as_deref().or(v.token_id.as_deref()),
                    "class": v.rule_name(),
                    "custom_details": {
                        "text": n.text.body,
                        "eventId": v.event_id,
                        "chain": v.chain,
                        "value": v.value,
                        "reference": v.reference,
                        "changePercent": v.change_percent,
                        "thresholdPercent": v.threshold_percent,
                        "window": v.window,
                        "level": v.level,
                        "lateSeconds": n.late.map(|d| d.as_secs()),
                    },
                },
            });
            if let Some(link) = &n.text.link {
                body["links"] = json!([{"href": link, "text": "details"}]);
            }
            body
        };
        Outgoing::json(self.url.clone(), &body)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerting::fixtures::{event, resolved, view_and_text};
    use pulse_core::event::{AlertRule, Event};

    fn body(e: &Event) -> serde_json::Value {
        let (v, t) = view_and_text(e);
        let pd = PagerDuty::new(Some("http://127.0.0.1:9"), Secret::new("rk"), None);
        let out = pd.request(&Notification {
            view: &v,
            event: e,
            text: &t,
            escalation: false,
            late: None,
            sent_at_ms: 0,
        });
        assert_eq!(out.url.expose(), "http://127.0.0.1:9/v2/enqueue");
        serde_json::from_slice(&out.body).unwrap_or_default()
    }

    #[test]
    fn trigger_then_resolve_the_same_incident() {
        let fire = |rule| event(rule, Severity::Critical, "ethereum");
        let trigger = body(&fire(AlertRule::PegDeviation));
        assert_eq!(trigger["event_action"], "trigger");
        assert_eq!(trigger["payload"]["severity"], "critical");
        let resolve = body(&resolved(fire(AlertRule::PegRecovery)));
        assert_eq!(resolve["event_action"], "resolve");
        assert_eq!(resolve["dedup_key"], trigger["dedup_key"]);
        assert_eq!(
            trigger["dedup_key"],
            "price:coingecko:usd-coin:peg_deviation"
        );
        // A window rule resolves its own incident.
        let trigger = body(&fire(AlertRule::PriceMove));
        let resolve = body(&resolved(fire(AlertRule::PriceMove)));
        assert_eq!(
            (resolve["event_action"].as_str(), &resolve["dedup_key"]),
            (Some("resolve"), &trigger["dedup_key"])
        );
        assert_eq!(trigger["dedup_key"], "price:coingecko:usd-coin:price_move");
    }
}
