//! Events on the wire (SPEC section 2): the camelCase envelope the WebSocket side already
//! consumes, deterministic event ids, confidence, tags, the SQS alert body, and the Redis
//! pub/sub channels an event goes to (SPEC section 3). `schema/event.schema.json` describes
//! the same envelope; a test checks every kind of event against it.

use crate::record::{Text, UnixSecs};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::BTreeMap;
use uuid::Uuid;

mod json;

/// Envelope version.
pub const ENVELOPE_VERSION: &str = "1.0";

/// A deterministic event id: a UUID v8 (RFC 9562) holding the 128-bit XXH3 of
/// `{key}|{time}|{rule}` (state key, record time in unix seconds, rule), so a retried batch
/// yields the same ids and consumers drop duplicates.
pub fn event_id(key: &str, record_time: UnixSecs, rule: &str) -> Uuid {
    event_id_at(&[key], &IdTime::new(record_time), rule)
}

/// [`event_id`] of the key made by joining `key_parts` (without building it), with the record
/// time already written (once for every id made from one record).
pub fn event_id_at(key_parts: &[&str], time: &IdTime, rule: &str) -> Uuid {
    let mut name = Name::new();
    for part in key_parts {
        if !part.is_empty() {
            name.push(part.as_bytes());
        }
    }
    name.push(time.between_bars());
    name.push(rule.as_bytes());
    name.uuid()
}

/// The correlation id of every event made from one record: a UUID v8 holding the 128-bit
/// XXH3 of `{pk}|{time}`. It names the record and is not a deduplication key; its name never
/// equals an event id's (those end in `|{rule}`, which is not a number).
pub fn correlation_id(pk: &str, record_time: UnixSecs) -> Uuid {
    correlation_id_at(pk, &IdTime::new(record_time))
}

/// [`correlation_id`] with the record time already written.
pub fn correlation_id_at(pk: &str, time: &IdTime) -> Uuid {
    let mut name = Name::new();
    name.push(pk.as_bytes());
    name.push(time.after_bar());
    name.uuid()
}

/// A record time as ids spell it, `|{time}|`, written once.
#[derive(Debug, Clone, Copy)]
pub struct IdTime {
    /// `|`, up to 20 digits and a sign, `|`.
    bytes: [u8; 22],
    len: usize,
}

impl IdTime {
    pub fn new(time: UnixSecs) -> Self {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(time).as_bytes();
        let mut bytes = [b'|'; 22];
        bytes[1..=digits.len()].copy_from_slice(digits);
        IdTime {
            bytes,
            len: digits.len() + 2,
        }
    }

    /// `|{time}|`
    fn between_bars(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// `|{time}`
    fn after_bar(&self) -> &[u8] {
        &self.bytes[..self.len - 1]
    }
}

/// The name an id is hashed from, built on the stack unless it is long.
struct Name {
    stack: [u8; 128],
    len: usize,
    heap: Vec<u8>,
}

impl Name {
    fn new() -> Self {
        Name {
            stack: [0; 128],
            len: 0,
            heap: Vec::new(),
        }
    }

    fn push(&mut self, bytes: &[u8]) {
        let end = self.len + bytes.len();
        if self.heap.is_empty() && end <= self.stack.len() {
            self.stack[self.len..end].copy_from_slice(bytes);
        } else {
            if self.heap.is_empty() {
                self.heap.extend_from_slice(&self.stack[..self.len]);
            }
            self.heap.extend_from_slice(bytes);
        }
        self.len = end;
    }

    /// The UUID v8 of the 128-bit XXH3 of the name.
    fn uuid(&self) -> Uuid {
        let bytes = if self.heap.is_empty() {
            &self.stack[..self.len]
        } else {
            &self.heap[..]
        };
        let hash = xxhash_rust::xxh3::xxh3_128(bytes);
        uuid::Builder::from_custom_bytes(hash.to_be_bytes()).into_uuid()
    }
}

/// Where the records behind an event came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Source {
    /// DynamoDB Streams.
    Dynamodb,
    /// The every-minute scheduled tick.
    Scheduled,
    /// A replay or a hand-run tick.
    Manual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Critical => "critical",
        }
    }

    /// SQS priority of an alert of this severity.
    pub fn priority(self) -> Priority {
        match self {
            Severity::Critical => Priority::High,
            Severity::Warning => Priority::Medium,
            Severity::Info => Priority::Low,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    High,
    Medium,
    Low,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Metadata {
    /// Shared by every event made from the same record.
    pub correlation_id: Uuid,
    /// 0.5..1.0, see [`confidence`].
    pub confidence: f64,
    /// Milliseconds from the record's time to its detection.
    pub processing_time: i64,
    pub retry_count: u32,
    /// Fixed tags (`type:tvl`, `heartbeat`) are static; the rest are inline up to 24 bytes.
    pub tags: Vec<Text>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PriceUpdate {
    pub token_id: Text,
    pub symbol: Option<Text>,
    pub chain: Option<Text>,
    pub previous_price: f64,
    pub current_price: f64,
    pub change_percent: f64,
    pub change_absolute: f64,
    pub decimals: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct TvlChange {
    pub protocol_id: Text,
    pub protocol_name: Text,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<Text>,
    pub previous_tvl: f64,
    pub current_tvl: f64,
    pub change_percent: f64,
    pub change_absolute: f64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub breakdown: Option<Breakdown>,
}

/// A TVL breakdown by chain or section, sorted by key; a JSON object on the wire.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Breakdown(pub Vec<(Text, f64)>);

impl Breakdown {
    /// From pairs in any order (a later duplicate key wins, as in a map).
    pub fn from_pairs(pairs: impl IntoIterator<Item = (Text, f64)>) -> Self {
        Breakdown(
            pairs
                .into_iter()
                .collect::<BTreeMap<_, _>>()
                .into_iter()
                .collect(),
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, f64)> {
        self.0.iter().map(|(k, v)| (k.as_str(), *v))
    }

    pub fn get(&self, key: &str) -> Option<f64> {
        self.iter().find(|(k, _)| *k == key).map(|(_, v)| v)
    }
}

impl Serialize for Breakdown {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.iter())
    }
}

impl<'de> Deserialize<'de> for Breakdown {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        BTreeMap::<Text, f64>::deserialize(d).map(Breakdown::from_pairs)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum UpdateType {
    Metadata,
    Category,
    ChainAdded,
    ChainRemoved,
    Status,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FieldChange {
    pub field: String,
    pub previous_value: serde_json::Value,
    pub current_value: serde_json::Value,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ProtocolUpdate {
    pub protocol_id: String,
    pub protocol_name: String,
    pub update_type: UpdateType,
    pub changes: Vec<FieldChange>,
}

/// The rule that raised an alert.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertRule {
    /// A price move within a window.
    PriceMove,
    /// A pegged asset off its peg.
    PegDeviation,
    /// A pegged asset back near its peg after an alert.
    PegRecovery,
    /// A TVL drop within a window.
    TvlDrop,
}

impl AlertRule {
    /// The rule whose episode this one's resolve ends (itself but for `peg_recovery`).
    pub fn trigger(self) -> AlertRule {
        match self {
            AlertRule::PegRecovery => AlertRule::PegDeviation,
            other => other,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            AlertRule::PriceMove => "price_move",
            AlertRule::PegDeviation => "peg_deviation",
            AlertRule::PegRecovery => "peg_recovery",
            AlertRule::TvlDrop => "tvl_drop",
        }
    }
}

/// Whether an alert opens or updates an episode, or says it is over (Alertmanager's words).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AlertStatus {
    #[default]
    Firing,
    /// The rule's condition no longer holds: the episode its trigger opened is over (same key
    /// and rule; a `peg_recovery` ends a `peg_deviation`).
    Resolved,
}

impl AlertStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            AlertStatus::Firing => "firing",
            AlertStatus::Resolved => "resolved",
        }
    }
}

/// A high-priority alert: what crossed which threshold, against what.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Alert {
    pub rule: AlertRule,
    pub severity: Severity,
    /// Absent in alerts written before resolves existed: firing.
    #[serde(default)]
    pub status: AlertStatus,
    /// The state key, e.g. `price:coingecko:usd-coin` or `tvl:uniswap:bsc`.
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub protocol_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub chain: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub symbol: Option<String>,
    /// The new value.
    pub value: f64,
    /// What it was compared with: the window's extreme, or the peg.
    pub reference: f64,
    /// Signed change from `reference`, in percent.
    pub change_percent: f64,
    /// The threshold crossed, in percent.
    pub threshold_percent: f64,
    /// The window whose thresholds applied, as configured, e.g. `24h`; absent for peg rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub window: Option<String>,
    /// When `reference` was seen, in milliseconds since the epoch (like the envelope's
    /// `timestamp`): the move spans from here to `timestamp`. Absent for peg rules.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reference_time: Option<i64>,
    /// Which threshold level was crossed (1 = the first).
    pub level: u8,
    pub message: String,
}

/// Event payloads; `eventType` names the variant and `data` holds it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "eventType", content = "data", rename_all = "snake_case")]
pub enum Payload {
    PriceUpdate(PriceUpdate),
    TvlChange(TvlChange),
    ProtocolUpdate(ProtocolUpdate),
    /// Boxed: an alert is the largest payload and the rarest.
    Alert(Box<Alert>),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    PriceUpdate,
    TvlChange,
    ProtocolUpdate,
    Alert,
}

impl EventType {
    pub const ALL: [EventType; 4] = [
        EventType::PriceUpdate,
        EventType::TvlChange,
        EventType::ProtocolUpdate,
        EventType::Alert,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            EventType::PriceUpdate => "price_update",
            EventType::TvlChange => "tvl_change",
            EventType::ProtocolUpdate => "protocol_update",
            EventType::Alert => "alert",
        }
    }
}

/// The envelope. Serialised by hand in SPEC field order (eventId, eventType, timestamp,
/// source, version, metadata, data), which is also faster than a flattened derive.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Event {
    pub event_id: Uuid,
    #[serde(flatten)]
    pub payload: Payload,
    /// The record's time, in milliseconds.
    pub timestamp: i64,
    pub source: Source,
    pub version: Cow<'static, str>,
    pub metadata: Metadata,
}

impl Serialize for Event {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut m = s.serialize_struct("Event", 7)?;
        m.serialize_field("eventId", &self.event_id)?;
        m.serialize_field("eventType", &self.event_type())?;
        m.serialize_field("timestamp", &self.timestamp)?;
        m.serialize_field("source", &self.source)?;
        m.serialize_field("version", &self.version)?;
        m.serialize_field("metadata", &self.metadata)?;
        match &self.payload {
            Payload::PriceUpdate(d) => m.serialize_field("data", d)?,
            Payload::TvlChange(d) => m.serialize_field("data", d)?,
            Payload::ProtocolUpdate(d) => m.serialize_field("data", d)?,
            Payload::Alert(d) => m.serialize_field("data", d)?,
        }
        m.end()
    }
}

impl Event {
    pub fn event_type(&self) -> EventType {
        match self.payload {
            Payload::PriceUpdate(_) => EventType::PriceUpdate,
            Payload::TvlChange(_) => EventType::TvlChange,
            Payload::ProtocolUpdate(_) => EventType::ProtocolUpdate,
            Payload::Alert(_) => EventType::Alert,
        }
    }

    pub fn alert(&self) -> Option<&Alert> {
        match &self.payload {
            Payload::Alert(a) => Some(a),
            _ => None,
        }
    }

    /// The Redis pub/sub channels this event is published to (SPEC section 3).
    pub fn channels(&self) -> Vec<String> {
        match &self.payload {
            Payload::PriceUpdate(p) => {
                let mut c = vec![
                    "events:prices".to_string(),
                    format!("events:token:{}", p.token_id),
                ];
                if let Some(chain) = &p.chain {
                    c.push(format!("events:chain:{chain}:prices"));
                }
                c
            }
            Payload::TvlChange(t) => {
                // A protocol whose one chain is its whole TVL has one event, carrying the
                // chain: it reaches the protocol's and the chain's subscribers alike.
                let mut c = vec![
                    "events:tvl".to_string(),
                    format!("events:protocol:{}", t.protocol_id),
                ];
                if let Some(chain) = &t.chain {
                    c.push(format!("events:chain:{chain}:tvl"));
                }
                c
            }
            Payload::ProtocolUpdate(p) => vec![
                "events:protocols".to_string(),
                format!("events:protocol:{}", p.protocol_id),
            ],
            Payload::Alert(a) => {
                let mut c = vec!["events:alerts".to_string()];
                if let Some(token) = &a.token_id {
                    c.push(format!("events:token:{token}"));
                }
                if let Some(protocol) = &a.protocol_id {
                    c.push(format!("events:protocol:{protocol}"));
                }
                c
            }
        }
    }

    /// The SQS message body for an alert (SPEC section 2).
    pub fn to_sqs_body(&self) -> Option<SqsAlertBody> {
        let alert = self.alert()?;
        Some(SqsAlertBody {
            event: self.clone(),
            priority: alert.severity.priority(),
            retry_count: 0,
            timestamp: self.timestamp,
        })
    }
}

/// The largest change, in percent, an event states (a ten-million-fold move). Changes are
/// measured from values the engine accepted, so only an extreme ratio comes near it; clamping
/// keeps every `changePercent` a finite JSON number, whatever the config allows.
pub const MAX_CHANGE_PERCENT: f64 = 1e9;

/// A change in percent as events carry it: within ±[`MAX_CHANGE_PERCENT`], rounded to four
/// decimals, never NaN.
pub fn stated_percent(change: f64) -> f64 {
    if change.is_nan() {
        return 0.0;
    }
    let c = change.clamp(-MAX_CHANGE_PERCENT, MAX_CHANGE_PERCENT);
    (c * 10_000.0).round() / 10_000.0
}

/// What goes on the alerts queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SqsAlertBody {
    pub event: Event,
    pub priority: Priority,
    pub retry_count: u32,
    pub timestamp: i64,
}

/// Confidence of an event, in 0.5..=1.0:
/// `0.5 + 0.5 × source × freshness × plausibility`, where
/// - `source` is the record's own confidence (0..1; 0.9 when it gives none);
/// - `freshness` is 1 up to 5 minutes after the record's time, falling linearly to 0 at 24 h;
/// - `plausibility` is 1 for changes up to 50 %, falling linearly to 0 at 100 % (a price
///   halving or doubling in one step is more often a bad feed than a market).
///
/// Rounded to 3 decimals, so replays are byte-identical.
pub fn confidence(source: Option<f64>, age_secs: i64, change_percent: f64) -> f64 {
    let source = source.unwrap_or(0.9).clamp(0.0, 1.0);
    let freshness = if age_secs <= 300 {
        1.0
    } else {
        (1.0 - (age_secs - 300) as f64 / (86_400.0 - 300.0)).max(0.0)
    };
    let change = change_percent.abs();
    let plausibility = if !change.is_finite() {
        0.0
    } else if change <= 50.0 {
        1.0
    } else {
        (1.0 - (change - 50.0) / 50.0).max(0.0)
    };
    let c = 0.5 + 0.5 * source * freshness * plausibility;
    (c * 1000.0).round() / 1000.0
}

/// Magnitude tags for a change in percent.
pub fn magnitude_tag(change_percent: f64) -> Option<&'static str> {
    let c = change_percent.abs();
    if c >= 50.0 {
        Some("extreme-change")
    } else if c >= 10.0 {
        Some("large-change")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 128-bit XXH3 of `name`, as a UUID v8.
    fn v8(name: &str) -> Uuid {
        let hash = xxhash_rust::xxh3::xxh3_128(name.as_bytes());
        uuid::Builder::from_custom_bytes(hash.to_be_bytes()).into_uuid()
    }

    #[test]
    fn event_ids_are_uuid_v8_of_the_name() {
        let long = "k".repeat(200);
        for (key, t, rule) in [
            ("price:coingecko:usd-coin", 1_678_543_259, "price_update"),
            ("tvl:1", -5, "x"),
            ("tvl:1", i64::MIN, "x"),
            ("tvl:1", i64::MAX, "x"),
            ("", 0, ""),
            (&long[..120], 1_678_543_259, "alert:tvl_drop:resolved"),
            (&long[..], 7, "tvl_change"),
        ] {
            let id = event_id(key, t, rule);
            assert_eq!(id, v8(&format!("{key}|{t}|{rule}")));
            assert_eq!(id.get_version_num(), 8);
        }
    }

    #[test]
    fn correlation_ids_are_v8_of_the_record() {
        let a = correlation_id("coingecko#usd-coin", 1_678_543_259);
        assert_eq!(a, correlation_id("coingecko#usd-coin", 1_678_543_259));
        assert_eq!(a.get_version_num(), 8);
        assert_ne!(a, correlation_id("coingecko#usd-coin", 1_678_543_260));
        assert_ne!(a, correlation_id("coingecko#dai", 1_678_543_259));
        for pk in ["x".repeat(126), "x".repeat(127), "y".repeat(2048)] {
            assert_eq!(correlation_id(&pk, 7), v8(&format!("{pk}|7")));
        }
        for t in [i64::MIN, -1, 0, i64::MAX] {
            assert_eq!(correlation_id("pk", t), v8(&format!("pk|{t}")));
        }
    }

    #[test]
    fn event_ids_of_parts_join_the_parts() {
        assert_eq!(
            event_id_at(
                &["tvl:", "uniswap", ":", "bsc"],
                &IdTime::new(-3),
                "tvl_change"
            ),
            event_id("tvl:uniswap:bsc", -3, "tvl_change")
        );
    }

    #[test]
    fn event_ids_are_deterministic_and_distinct() {
        let a = event_id("price:coingecko:usd-coin", 1_678_543_259, "price_update");
        assert_eq!(
            a,
            event_id("price:coingecko:usd-coin", 1_678_543_259, "price_update")
        );
        assert_eq!(a.get_version_num(), 8);
        assert_ne!(
            a,
            event_id("price:coingecko:usd-coin", 1_678_543_260, "price_update")
        );
        assert_ne!(
            a,
            event_id(
                "price:coingecko:usd-coin",
                1_678_543_259,
                "alert:peg_deviation"
            )
        );
    }

    #[test]
    fn envelope_round_trips_in_spec_order() {
        let e = Event {
            event_id: event_id("price:coingecko:dai", 1, "price_update"),
            payload: Payload::PriceUpdate(PriceUpdate {
                token_id: "coingecko:dai".into(),
                symbol: Some("DAI".into()),
                chain: None,
                previous_price: 1.0,
                current_price: 0.99,
                change_percent: -1.0,
                change_absolute: -0.01,
                decimals: Some(18),
            }),
            timestamp: 1000,
            source: Source::Scheduled,
            version: ENVELOPE_VERSION.into(),
            metadata: Metadata {
                correlation_id: correlation_id("coingecko#dai", 1),
                confidence: 0.9,
                processing_time: 0,
                retry_count: 0,
                tags: vec!["type:price".into()],
            },
        };
        let text = serde_json::to_string(&e).unwrap();
        assert!(text.starts_with(r#"{"eventId":""#), "{text}");
        assert!(text.contains(r#""eventType":"price_update","timestamp":1000,"source":"scheduled","version":"1.0","metadata":{"correlationId""#), "{text}");
        assert!(text.contains(r#""data":{"tokenId":"coingecko:dai","symbol":"DAI","chain":null,"previousPrice":1.0"#), "{text}");
        let back: Event = serde_json::from_str(&text).unwrap();
        assert_eq!(back, e);
        let body = SqsAlertBody {
            event: e.clone(),
            priority: Priority::High,
            retry_count: 0,
            timestamp: 1000,
        };
        let text = serde_json::to_string(&body).unwrap();
        assert!(
            text.contains(r#""priority":"high","retryCount":0"#),
            "{text}"
        );
        assert_eq!(serde_json::from_str::<SqsAlertBody>(&text).unwrap(), body);
    }

    #[test]
    fn confidence_stays_in_range() {
        assert_eq!(confidence(Some(1.0), 0, 1.0), 1.0);
        assert_eq!(confidence(Some(0.0), 0, 1.0), 0.5);
        assert_eq!(confidence(None, 0, 1.0), 0.95);
        assert_eq!(confidence(Some(1.0), 86_400 * 2, 1.0), 0.5);
        assert_eq!(confidence(Some(1.0), 0, 100.0), 0.5);
        assert_eq!(confidence(Some(1.0), 0, 75.0), 0.75);
        assert_eq!(confidence(Some(1.0), 0, f64::NAN), 0.5);
    }

    #[test]
    fn stated_percentages_are_finite() {
        assert_eq!(stated_percent(12.345_678), 12.3457);
        assert_eq!(stated_percent(f64::INFINITY), MAX_CHANGE_PERCENT);
        assert_eq!(stated_percent(f64::NEG_INFINITY), -MAX_CHANGE_PERCENT);
        assert_eq!(stated_percent(f64::NAN), 0.0);
        assert_eq!(stated_percent(1e300), MAX_CHANGE_PERCENT);
    }
}
