//! Alerts for the unit tests, one fixture for the whole crate: a USDC peg alert on a chain, at
//! [`T0`], with its view and default text.

use super::template::{Links, Templates, Text};
use super::view::AlertView;
use pulse_core::event::{
    Alert, AlertRule, AlertStatus, Event, Metadata, Payload, Severity, Source,
};

/// The fixtures' time: 2026-12-01T00:00:00Z, in milliseconds.
pub const T0: i64 = 1_796_083_200_000;

/// The alert event: USDC at 0.97 against 1.00 (3 % off, threshold 2 %, level 1), firing.
pub fn event(rule: AlertRule, severity: Severity, chain: &str) -> Event {
    Event {
        event_id: uuid::Uuid::from_u128(42),
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
            message: "USDC is 3.00% off its peg".into(),
        })),
        timestamp: T0,
        source: Source::Dynamodb,
        version: "1.0".into(),
        metadata: Metadata {
            correlation_id: uuid::Uuid::from_u128(7),
            confidence: 0.9,
            processing_time: 10,
            retry_count: 0,
            tags: vec!["token".into(), "large-change".into()],
        },
    }
}

/// The resolve of `e`'s episode, as the detector makes it: info, level 0, resolved.
pub fn resolved(mut e: Event) -> Event {
    if let Payload::Alert(a) = &mut e.payload {
        a.severity = Severity::Info;
        a.status = AlertStatus::Resolved;
        a.level = 0;
        a.message = "USDC is back within its thresholds".into();
    }
    e
}

/// The view of [`event`].
pub fn alert(rule: AlertRule, severity: Severity, chain: &str) -> AlertView {
    AlertView::from_event(&event(rule, severity, chain), Severity::Info)
}

/// The view of `e` and its text under the default templates.
pub fn view_and_text(e: &Event) -> (AlertView, Text) {
    let v = AlertView::from_event(e, Severity::Info);
    let t = Templates::default().render(&v, &Links::default());
    (v, t)
}
