//! One flat view of an event for routing, silences, noise control and templates. Alerts give
//! their own fields; other events (a price update that reached the queue) are described by
//! what they carry, with the severity taken from the SQS priority.

use pulse_core::event::{
    AlertRule, AlertStatus, Event, EventType, Payload, Priority, Severity, SqsAlertBody,
};
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq)]
pub struct AlertView {
    pub event_id: Uuid,
    pub event_type: EventType,
    pub severity: Severity,
    /// The rule of an alert; none for other events.
    pub rule: Option<AlertRule>,
    /// Firing, or resolved (the episode is over); other events are firing.
    pub status: AlertStatus,
    /// What the alert is about: the state key of an alert (`price:coingecko:usd-coin`),
    /// else `price:{tokenId}`, `tvl:{protocolId}` or `protocol:{protocolId}`.
    pub key: String,
    pub token_id: Option<String>,
    pub protocol_id: Option<String>,
    /// A protocol's name, when the event carries one.
    pub name: Option<String>,
    pub chain: Option<String>,
    pub symbol: Option<String>,
    pub tags: Vec<String>,
    pub value: Option<f64>,
    pub reference: Option<f64>,
    pub change_percent: Option<f64>,
    pub threshold_percent: Option<f64>,
    pub window: Option<String>,
    pub level: u8,
    pub message: String,
    /// The record's time, in milliseconds.
    pub timestamp_ms: i64,
}

impl AlertView {
    /// The view of a queue message: the event, with the body's priority as severity for
    /// events that are not alerts.
    pub fn from_body(body: &SqsAlertBody) -> Self {
        let severity = match body.priority {
            Priority::High => Severity::Critical,
            Priority::Medium => Severity::Warning,
            Priority::Low => Severity::Info,
        };
        Self::from_event(&body.event, severity)
    }

    /// The view of an event; `severity` applies to events that are not alerts.
    pub fn from_event(event: &Event, severity: Severity) -> Self {
        let mut v = AlertView {
            event_id: event.event_id,
            event_type: event.event_type(),
            severity,
            rule: None,
            status: AlertStatus::Firing,
            key: String::new(),
            token_id: None,
            protocol_id: None,
            name: None,
            chain: None,
            symbol: None,
            tags: event.metadata.tags.iter().map(|t| t.to_string()).collect(),
            value: None,
            reference: None,
            change_percent: None,
            threshold_percent: None,
            window: None,
            level: 0,
            message: String::new(),
            timestamp_ms: event.timestamp,
        };
        match &event.payload {
            Payload::Alert(a) => {
                v.severity = a.severity;
                v.rule = Some(a.rule);
                // A peg recovery always ends its episode, also in messages written before
                // alerts carried a status (absent: firing).
                v.status = if a.rule == AlertRule::PegRecovery {
                    AlertStatus::Resolved
                } else {
                    a.status
                };
                v.key = a.key.clone();
                v.token_id = a.token_id.clone();
                v.protocol_id = a.protocol_id.clone();
                v.chain = a.chain.clone();
                v.symbol = a.symbol.clone();
                v.value = Some(a.value);
                v.reference = Some(a.reference);
                v.change_percent = Some(a.change_percent);
                v.threshold_percent = Some(a.threshold_percent);
                v.window = a.window.clone();
                v.level = a.level;
                v.message = a.message.clone();
            }
            Payload::PriceUpdate(p) => {
                v.key = format!("price:{}", p.token_id);
                v.token_id = Some(p.token_id.to_string());
                v.chain = p.chain.as_deref().map(str::to_string);
                v.symbol = p.symbol.as_deref().map(str::to_string);
                v.value = Some(p.current_price);
                v.reference = Some(p.previous_price);
                v.change_percent = Some(p.change_percent);
                v.message = format!(
                    "{} price {:+.2}%",
                    p.symbol.as_deref().unwrap_or(&p.token_id),
                    p.change_percent
                );
            }
            Payload::TvlChange(t) => {
                v.key = match &t.chain {
                    Some(c) => format!("tvl:{}:{c}", t.protocol_id),
                    None => format!("tvl:{}", t.protocol_id),
                };
                v.protocol_id = Some(t.protocol_id.to_string());
                v.name = Some(t.protocol_name.to_string());
                v.chain = t.chain.as_deref().map(str::to_string);
                v.value = Some(t.current_tvl);
                v.reference = Some(t.previous_tvl);
                v.change_percent = Some(t.change_percent);
                v.message = format!("{} TVL {:+.2}%", t.protocol_name, t.change_percent);
            }
            Payload::ProtocolUpdate(p) => {
                v.key = format!("protocol:{}", p.protocol_id);
                v.protocol_id = Some(p.protocol_id.clone());
                v.name = Some(p.protocol_name.clone());
                let fields: Vec<&str> = p.changes.iter().map(|c| c.field.as_str()).collect();
                v.message = format!("{} updated: {}", p.protocol_name, fields.join(", "));
            }
        }
        v
    }

    /// The rule's name, or the event type's for events that are not alerts.
    pub fn rule_name(&self) -> &'static str {
        match self.rule {
            Some(r) => r.as_str(),
            None => self.event_type.as_str(),
        }
    }

    /// The rule whose episode this alert belongs to ([`AlertRule::trigger`]: a peg recovery
    /// belongs to its peg deviation's), or the event type's name for other events.
    pub fn episode_rule(&self) -> &'static str {
        match self.rule {
            Some(r) => r.trigger().as_str(),
            None => self.event_type.as_str(),
        }
    }

    /// Whether this alert says its episode is over.
    pub fn is_resolve(&self) -> bool {
        self.status == AlertStatus::Resolved
    }

    /// What a person calls the subject: symbol, protocol name, token id, protocol id, key.
    pub fn subject(&self) -> &str {
        self.symbol
            .as_deref()
            .or(self.name.as_deref())
            .or(self.token_id.as_deref())
            .or(self.protocol_id.as_deref())
            .unwrap_or(&self.key)
    }
}
