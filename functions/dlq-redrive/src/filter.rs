//! What a dead-letter message is, and whether it matches a filter. Pure functions.
//!
//! A body is read as the SQS alert body (`{event, priority, retryCount, timestamp}`) when it
//! parses as one, else as any JSON with the same field names, else as raw text: a message whose
//! body does not parse is still counted (`eventType` "unparsed"), shown and redrivable.

use pulse_core::event::{Event, Payload, SqsAlertBody};
use pulse_core::ports::queue::Message;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// `eventType` reported for a body that is not JSON.
pub const UNPARSED: &str = "unparsed";
/// `eventType` reported for JSON without an `eventType`.
pub const UNKNOWN: &str = "unknown";

/// How far a body parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    /// A pulse alert body or event envelope.
    Pulse,
    /// JSON of another shape.
    Json,
    /// Not JSON.
    Raw,
}

/// The fields of a body the tallies and filters use.
#[derive(Debug, Clone, PartialEq)]
pub struct Classified {
    pub kind: BodyKind,
    /// `price_update`, `tvl_change`, `protocol_update`, `alert`, or [`UNKNOWN`] / [`UNPARSED`].
    pub event_type: String,
    pub severity: Option<String>,
    pub protocol_id: Option<String>,
    pub token_id: Option<String>,
    pub chain: Option<String>,
    pub json: Option<Value>,
}

fn from_event(
    event: &Event,
) -> (
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
) {
    match &event.payload {
        Payload::Alert(a) => (
            Some(a.severity.as_str().to_string()),
            a.protocol_id.clone(),
            a.token_id.clone(),
            a.chain.clone(),
        ),
        Payload::PriceUpdate(p) => (
            None,
            None,
            Some(p.token_id.to_string()),
            p.chain.as_deref().map(str::to_string),
        ),
        Payload::TvlChange(t) => (
            None,
            Some(t.protocol_id.to_string()),
            None,
            t.chain.as_deref().map(str::to_string),
        ),
        Payload::ProtocolUpdate(p) => (None, Some(p.protocol_id.clone()), None, None),
    }
}

fn text_at(v: &Value, pointers: &[&str]) -> Option<String> {
    pointers.iter().find_map(|p| match v.pointer(p)? {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    })
}

/// Reads a body.
pub fn classify(body: &str) -> Classified {
    let Ok(json) = serde_json::from_str::<Value>(body) else {
        return Classified {
            kind: BodyKind::Raw,
            event_type: UNPARSED.to_string(),
            severity: None,
            protocol_id: None,
            token_id: None,
            chain: None,
            json: None,
        };
    };
    let event = serde_json::from_value::<SqsAlertBody>(json.clone())
        .map(|b| b.event)
        .or_else(|_| serde_json::from_value::<Event>(json.clone()));
    if let Ok(event) = event {
        let (severity, protocol_id, token_id, chain) = from_event(&event);
        return Classified {
            kind: BodyKind::Pulse,
            event_type: event.event_type().as_str().to_string(),
            severity,
            protocol_id,
            token_id,
            chain,
            json: Some(json),
        };
    }
    // Another shape: look for the same names, wrapped in `event` or not.
    let field = |name: &str| {
        text_at(
            &json,
            &[
                &format!("/event/data/{name}"),
                &format!("/data/{name}"),
                &format!("/event/{name}"),
                &format!("/{name}"),
            ],
        )
    };
    Classified {
        kind: BodyKind::Json,
        event_type: field("eventType").unwrap_or_else(|| UNKNOWN.to_string()),
        severity: field("severity"),
        protocol_id: field("protocolId"),
        token_id: field("tokenId"),
        chain: field("chain"),
        json: Some(json),
    }
}

/// An age in whole seconds; in JSON a number of seconds or a string such as `90s`, `15m`,
/// `2h`, `3d` (the grammar of `pulse_core::time`).
pub type Age = pulse_core::time::Secs;

fn scalar_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// The body's JSON value at `pointer` (RFC 6901) equals `equals`. Scalars also match by their
/// text, so `"111"` matches `111` and `111` matches `"111"` (protocol ids are strings in events
/// but easily typed as numbers).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PointerMatch {
    pub pointer: String,
    pub equals: Value,
}

impl PointerMatch {
    pub fn matches(&self, json: Option<&Value>) -> bool {
        let Some(found) = json.and_then(|j| j.pointer(&self.pointer)) else {
            return false;
        };
        if found == &self.equals {
            return true;
        }
        match (scalar_text(&self.equals), scalar_text(found)) {
            (Some(want), Some(got)) => want == got,
            _ => false,
        }
    }
}

/// Which messages an operation applies to. Every condition given must hold; a list matches
/// any of its values; an empty filter matches everything.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Filter {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub event_type: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub protocol_id: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub token_id: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub chain: Vec<String>,
    /// Sent (to the original queue) longer ago than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub older_than: Option<Age>,
    /// Sent more recently than this.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub newer_than: Option<Age>,
    /// The raw body contains this text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub body_contains: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_pointer: Option<PointerMatch>,
}

fn any_of(wanted: &[String], got: Option<&str>) -> bool {
    wanted.is_empty() || got.is_some_and(|g| wanted.iter().any(|w| w == g))
}

/// Age of a message in seconds at `now_ms`, if its sent time is known.
pub fn age_secs(message: &Message, now_ms: i64) -> Option<u64> {
    message
        .sent_at_ms
        .map(|sent| (now_ms.saturating_sub(sent).max(0) / 1000) as u64)
}

impl Filter {
    pub fn is_empty(&self) -> bool {
        self == &Filter::default()
    }

    pub fn matches(&self, message: &Message, class: &Classified, now_ms: i64) -> bool {
        let age = age_secs(message, now_ms);
        any_of(&self.event_type, Some(&class.event_type))
            && any_of(&self.severity, class.severity.as_deref())
            && any_of(&self.protocol_id, class.protocol_id.as_deref())
            && any_of(&self.token_id, class.token_id.as_deref())
            && any_of(&self.chain, class.chain.as_deref())
            && self
                .older_than
                .is_none_or(|min| age.is_some_and(|a| a > min.as_u64()))
            && self
                .newer_than
                .is_none_or(|max| age.is_some_and(|a| a < max.as_u64()))
            && self
                .body_contains
                .as_deref()
                .is_none_or(|s| message.body.contains(s))
            && self
                .json_pointer
                .as_ref()
                .is_none_or(|p| p.matches(class.json.as_ref()))
    }
}

/// The age bucket a message is tallied under.
pub fn age_bucket(age: Option<u64>) -> &'static str {
    match age {
        None => "unknown",
        Some(a) if a < 300 => "<5m",
        Some(a) if a < 3_600 => "5m-1h",
        Some(a) if a < 6 * 3_600 => "1h-6h",
        Some(a) if a < 86_400 => "6h-24h",
        Some(a) if a < 3 * 86_400 => "1d-3d",
        Some(_) => ">3d",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;
    use std::collections::BTreeMap;

    fn alert_body(severity: &str, protocol: Option<&str>, token: Option<&str>) -> String {
        let mut data = json!({
            "rule": "tvl_drop", "severity": severity, "key": "tvl:x", "value": 1.0,
            "reference": 2.0, "changePercent": -50.0, "thresholdPercent": 20.0, "level": 1,
            "message": "drop", "chain": "ethereum"
        });
        if let Some(p) = protocol {
            data["protocolId"] = json!(p);
        }
        if let Some(t) = token {
            data["tokenId"] = json!(t);
        }
        json!({
            "event": {
                "eventId": "7a1c2f4e-8b3d-4c59-a1e0-5d6f9b2c3e71", "eventType": "alert", "data": data,
                "timestamp": 1_700_000_000_000i64, "source": "scheduled", "version": "1.0",
                "metadata": {"correlationId": "7a1c2f4e-8b3d-4c59-a1e0-5d6f9b2c3e71",
                             "confidence": 0.9, "processingTime": 5, "retryCount": 0, "tags": []}
            },
            "priority": "high", "retryCount": 0, "timestamp": 1_700_000_000_000i64
        })
        .to_string()
    }

    fn msg(body: &str, sent_at_ms: i64) -> Message {
        Message {
            id: "m".into(),
            receipt_handle: "r".into(),
            body: body.into(),
            attributes: BTreeMap::new(),
            receive_count: 1,
            sent_at_ms: Some(sent_at_ms),
        }
    }

    #[test]
    fn classifies_alerts_other_json_and_raw_text() {
        let c = classify(&alert_body("critical", Some("111"), None));
        assert_eq!(c.kind, BodyKind::Pulse);
        assert_eq!(c.event_type, "alert");
        assert_eq!(c.severity.as_deref(), Some("critical"));
        assert_eq!(c.protocol_id.as_deref(), Some("111"));
        assert_eq!(c.chain.as_deref(), Some("ethereum"));

        let c = classify(
            r#"{"event":{"eventType":"price_update","data":{"tokenId":"coingecko:usd-coin"}}}"#,
        );
        assert_eq!(c.kind, BodyKind::Json);
        assert_eq!(c.event_type, "price_update");
        assert_eq!(c.token_id.as_deref(), Some("coingecko:usd-coin"));

        let c = classify(r#"{"hello":1}"#);
        assert_eq!(c.event_type, UNKNOWN);

        let c = classify("not json at all");
        assert_eq!(c.kind, BodyKind::Raw);
        assert_eq!(c.event_type, UNPARSED);
    }

    #[test]
    fn filter_conditions_all_hold() {
        let now = 1_700_000_000_000i64;
        let body = alert_body("critical", Some("111"), None);
        let m = msg(&body, now - 7_200_000);
        let c = classify(&body);
        let f = |v: serde_json::Value| serde_json::from_value::<Filter>(v).unwrap();

        assert!(Filter::default().matches(&m, &c, now));
        assert!(
            f(json!({"event_type": ["alert"], "severity": ["warning", "critical"]}))
                .matches(&m, &c, now)
        );
        assert!(!f(json!({"severity": ["warning"]})).matches(&m, &c, now));
        assert!(f(json!({"protocol_id": ["111"], "chain": ["ethereum"]})).matches(&m, &c, now));
        assert!(
            !f(json!({"token_id": ["x"]})).matches(&m, &c, now),
            "absent field never matches"
        );
        assert!(f(json!({"older_than": "1h"})).matches(&m, &c, now));
        assert!(!f(json!({"older_than": "3h"})).matches(&m, &c, now));
        assert!(f(json!({"newer_than": "3h"})).matches(&m, &c, now));
        assert!(!f(json!({"newer_than": 3600})).matches(&m, &c, now));
        assert!(f(json!({"body_contains": "\"tvl_drop\""})).matches(&m, &c, now));
        assert!(!f(json!({"body_contains": "peg"})).matches(&m, &c, now));
        assert!(
            f(json!({"json_pointer": {"pointer": "/event/data/protocolId", "equals": "111"}}))
                .matches(&m, &c, now)
        );
        assert!(
            f(json!({"json_pointer": {"pointer": "/event/data/level", "equals": "1"}}))
                .matches(&m, &c, now)
        );
        assert!(
            f(json!({"json_pointer": {"pointer": "/event/data/level", "equals": 1}}))
                .matches(&m, &c, now)
        );
        assert!(
            f(json!({"json_pointer": {"pointer": "/event/data/protocolId", "equals": 111}}))
                .matches(&m, &c, now)
        );
        assert!(
            !f(json!({"json_pointer": {"pointer": "/event/data/protocolId", "equals": 112}}))
                .matches(&m, &c, now)
        );
        assert!(
            !f(json!({"json_pointer": {"pointer": "/event/data/nope", "equals": 1}}))
                .matches(&m, &c, now)
        );
    }

    #[test]
    fn raw_bodies_match_by_substring_and_unparsed_type() {
        let m = msg("plain text body 42", 0);
        let c = classify(&m.body);
        let f = |v: serde_json::Value| serde_json::from_value::<Filter>(v).unwrap();
        assert!(f(json!({"body_contains": "text body"})).matches(&m, &c, 1000));
        assert!(f(json!({"event_type": ["unparsed"]})).matches(&m, &c, 1000));
        assert!(!f(json!({"json_pointer": {"pointer": "", "equals": "x"}})).matches(&m, &c, 1000));
    }

    #[test]
    fn ages_parse() {
        assert_eq!("90s".parse::<Age>().unwrap().0, 90);
        assert_eq!("15m".parse::<Age>().unwrap().0, 900);
        assert_eq!("2h".parse::<Age>().unwrap().0, 7200);
        assert_eq!("3d".parse::<Age>().unwrap().0, 259_200);
        assert_eq!("45".parse::<Age>().unwrap().0, 45);
        assert!("2w".parse::<Age>().is_err());
        assert!("h".parse::<Age>().is_err());
        assert_eq!(age_bucket(Some(10)), "<5m");
        assert_eq!(age_bucket(Some(4_000)), "1h-6h");
        assert_eq!(age_bucket(None), "unknown");
    }
}
