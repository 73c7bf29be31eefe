//! Test data written once: alert events and their SQS bodies, the SQS messages and batches the
//! Lambda event source mapping passes, routes, and the detector's input records with the
//! events the engine makes of them.

use aws_lambda_events::event::sqs::{SqsBatchResponse, SqsEvent, SqsMessage};
use pulse_core::event::{
    Alert, AlertRule, AlertStatus, ENVELOPE_VERSION, Event, EventType, Metadata, Payload,
    PriceUpdate, Priority, Severity, Source, SqsAlertBody, TvlChange, event_id,
};
use pulse_core::parse::plain_item;
use pulse_core::record::{Record, UnixSecs};
use pulse_core::state::StateMap;
use pulse_core::{Config, Context, Engine};
use serde_json::{Value, json};
use std::collections::HashSet;

/// The fixtures' time: 2026-12-01T00:00:00Z, in milliseconds.
pub const T0: i64 = 1_796_083_200_000;
/// The key of the USDC price, the fixtures' usual alert.
pub const USDC: &str = "price:coingecko:usd-coin";

/// An event at `T0 + n` seconds with this payload; its id is the production one for
/// (`key`, time, rule) (the event type for updates), so `n` makes it unique per key.
pub fn event(key: &str, n: i64, payload: Payload) -> Event {
    let rule = match &payload {
        Payload::Alert(a) => a.rule.as_str(),
        _ => "update",
    };
    Event {
        event_id: event_id(key, T0 / 1000 + n, rule),
        payload,
        timestamp: T0 + n * 1000,
        source: Source::Dynamodb,
        version: ENVELOPE_VERSION.into(),
        metadata: Metadata {
            correlation_id: uuid::Uuid::from_u128(n as u128),
            confidence: 0.9,
            processing_time: 5,
            retry_count: 0,
            tags: vec!["token".into(), "large-change".into()],
        },
    }
}

/// A USDC-like alert on `key` (its token the key without `price:`): 0.97 against 1.00,
/// 3 % off, threshold 2 %, on ethereum, tagged `token` and `large-change`.
pub fn alert(rule: AlertRule, severity: Severity, key: &str, n: i64) -> Event {
    let token = key.strip_prefix("price:").unwrap_or(key).to_string();
    event(
        key,
        n,
        Payload::Alert(Box::new(Alert {
            rule,
            severity,
            key: key.to_string(),
            token_id: Some(token),
            protocol_id: None,
            chain: Some("ethereum".into()),
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
    )
}

/// The alert with some fields changed.
pub fn with_alert(mut event: Event, change: impl FnOnce(&mut Alert)) -> Event {
    if let Payload::Alert(a) = &mut event.payload {
        change(a);
    }
    event
}

/// The SQS body the detector sends: for an alert its own, for another event a low-priority
/// one (what a dead-letter queue may hold).
pub fn body(event: &Event) -> String {
    let body = event.to_sqs_body().unwrap_or_else(|| SqsAlertBody {
        event: event.clone(),
        priority: Priority::Low,
        retry_count: 0,
        timestamp: event.timestamp,
    });
    serde_json::to_string(&body).unwrap()
}

/// Severity of the alerts among the [`mixed_body`] messages: index 0..30 cycle critical,
/// warning, info.
pub fn severity_of(i: usize) -> Option<Severity> {
    (i < 30).then(|| [Severity::Critical, Severity::Warning, Severity::Info][i % 3])
}

/// What a dead-letter queue holds, by index: 0..30 alerts (a TVL drop of protocol 100..=104 on
/// even indexes, of a token on odd ones; ethereum or bsc); 30..40 price updates; 40..45 TVL
/// changes of protocol 111; 45..48 raw text; 48..50 JSON of another shape. Events are at
/// `1_700_000_000` + `i` seconds, from the scheduled tick.
pub fn mixed_body(i: usize) -> String {
    let envelope = |payload: Payload| {
        let mut e = event(&format!("key-{i}"), 0, payload);
        e.event_id = event_id(&format!("key-{i}"), 1_700_000_000 + i as i64, "test");
        e.timestamp = 1_700_000_000_000 + i as i64;
        e.source = Source::Scheduled;
        e.metadata.correlation_id = e.event_id;
        e.metadata.tags = vec!["test".into()];
        body(&e)
    };
    match i {
        0..30 => envelope(Payload::Alert(Box::new(Alert {
            rule: AlertRule::TvlDrop,
            severity: severity_of(i).unwrap(),
            key: format!("tvl:{}", 100 + i % 5),
            token_id: (i % 2 == 1).then(|| format!("coingecko:token-{}", i % 4)),
            protocol_id: i.is_multiple_of(2).then(|| format!("{}", 100 + i % 5)),
            chain: Some(if i % 4 < 2 { "ethereum" } else { "bsc" }.into()),
            symbol: None,
            value: 50.0,
            reference: 100.0,
            change_percent: -50.0,
            threshold_percent: 20.0,
            window: Some("1h".into()),
            reference_time: None,
            level: 1,
            status: AlertStatus::Firing,
            message: format!("alert {i}"),
        }))),
        30..40 => envelope(Payload::PriceUpdate(PriceUpdate {
            token_id: "coingecko:bitcoin".into(),
            symbol: Some("BTC".into()),
            chain: None,
            previous_price: 60_000.0,
            current_price: 70_000.0,
            change_percent: 16.7,
            change_absolute: 10_000.0,
            decimals: None,
        })),
        40..45 => envelope(Payload::TvlChange(TvlChange {
            protocol_id: "111".into(),
            protocol_name: "Uniswap".into(),
            chain: Some("ethereum".into()),
            previous_tvl: 1e9,
            current_tvl: 8e8,
            change_percent: -20.0,
            change_absolute: -2e8,
            breakdown: None,
        })),
        45..48 => format!("not json: receiver said 502 for message {i}"),
        _ => format!(r#"{{"hello":"world","n":{i}}}"#),
    }
}

/// An SQS message as Lambda passes it, without a queue.
pub fn message(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_string());
    m.receipt_handle = Some(format!("rh-{id}"));
    m.body = Some(body.to_string());
    m.event_source = Some("aws:sqs".into());
    m
}

pub fn batch(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = messages;
    e
}

/// The message ids a batch response reports as failed.
pub fn failed_ids(r: &SqsBatchResponse) -> Vec<String> {
    r.batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

/// Alert consumer routes sending everything to one webhook (HMAC key `hmac-key`, 2 s
/// timeout); `extra` is appended (receiver settings, silences).
pub fn one_webhook(url: &str, extra: &str) -> String {
    format!(
        r#"
        [defaults]
        timeout = "2s"
        [route]
        receivers = ["hook"]
        [receivers.hook]
        kind = "webhook"
        url = {{ value = "{url}" }}
        secret = {{ value = "hmac-key" }}
        {extra}
        "#
    )
}

/// Now, in unix seconds.
pub fn now() -> UnixSecs {
    detector::handler::system_now()
}

/// Price records: for each token, a first price and, a minute later, one `jump` times it
/// (a +30 % jump makes a critical price alert).
pub fn price_items(tokens: usize, t0: UnixSecs, jump: f64) -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..tokens {
        for (k, price) in [(0, 100.0), (60, 100.0 * jump)] {
            out.push(json!({
                "PK": format!("coingecko#tok-{i}"),
                "SK": t0 + k,
                "price": price,
                "symbol": format!("T{i}"),
                "decimals": 18,
                "timestamp": t0 + k,
                "confidence": 0.99,
                "adapter": "test",
            }));
        }
    }
    out
}

/// TVL records: per protocol, a first TVL and one that halves a minute later.
pub fn tvl_items(protocols: usize, t0: UnixSecs) -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..protocols {
        for (k, tvl) in [(0, 200_000_000.0), (60, 100_000_000.0)] {
            out.push(json!({
                "PK": format!("hourlyTvl#{}", 1000 + i),
                "SK": t0 + k,
                "tvl": tvl,
                "ethereum": tvl * 0.75,
                "arbitrum": tvl * 0.25,
                "source": "tvl-adapter",
            }));
        }
    }
    out
}

/// The records of these items (the ones that parse), with default limits.
pub fn records(items: &[Value]) -> Vec<Record> {
    let limits = Config::default().validation;
    items
        .iter()
        .filter_map(|v| {
            plain_item(&v.to_string())
                .and_then(|item| Record::from_item(&item, &limits))
                .ok()
        })
        .collect()
}

/// What the engine makes of these items from an empty state, detected at `now`: the events
/// and the states.
pub fn detect(items: &[Value], now: UnixSecs) -> (Vec<Event>, StateMap) {
    let engine = Engine::new(Config::default());
    let mut states = StateMap::default();
    let ctx = Context {
        source: Source::Scheduled,
        now: Some(now),
    };
    let events = engine
        .detect_batch(&records(items), &mut states, &ctx)
        .events;
    (events, states)
}

/// The events the engine makes of these items from an empty state, detected at `now`.
pub fn expected_events(items: &[Value], now: UnixSecs) -> Vec<Event> {
    detect(items, now).0
}

/// The ids of the events of one type (all with `None`).
pub fn ids_of(events: &[Event], kind: Option<EventType>) -> HashSet<String> {
    events
        .iter()
        .filter(|e| kind.is_none_or(|k| e.event_type() == k))
        .map(|e| e.event_id.to_string())
        .collect()
}
