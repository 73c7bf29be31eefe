//! Alerts for the unit tests.

use super::view::AlertView;
use pulse_core::event::{
    Alert, AlertRule, AlertStatus, Event, Metadata, Payload, Severity, Source,
};

pub fn alert(rule: AlertRule, severity: Severity, chain: &str) -> AlertView {
    let event = Event {
        event_id: uuid::Uuid::nil(),
        payload: Payload::Alert(Box::new(Alert {
            rule,
            severity,
            key: "price:coingecko:usd-coin".into(),
            token_id: Some("coingecko:usd-coin".into()),
            protocol_id: None,
            chain: Some(chain.into()),
            symbol: Some("USDC".into()),
            value: 0.97,
            reference: 1.0,
            change_percent: -3.0,
            threshold_percent: 2.0,
            window: None,
            reference_time: None,
            level: 1,
            status: AlertStatus::Firing,
            message: "USDC off peg".into(),
        })),
        timestamp: 0,
        source: Source::Dynamodb,
        version: "1.0".into(),
        metadata: Metadata {
            correlation_id: uuid::Uuid::nil(),
            confidence: 1.0,
            processing_time: 0,
            retry_count: 0,
            tags: vec!["token".into(), "large-change".into()],
        },
    };
    AlertView::from_event(&event, Severity::Info)
}
