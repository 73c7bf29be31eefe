//! The stream trigger's record kinds, as Lambda delivers them: MODIFY is a new value of its
//! key, REMOVE is ignored and counted, an INSERT/MODIFY without a NewImage is counted, a
//! KEYS_ONLY stream fails loudly; and a key on both triggers is processed once.

use detector::handler::{Metrics, StreamResponse, system_now};
use pulse_tests::Stack;
use pulse_tests::read_path::keys_mode;
use pulse_tests::tables::COINS_TABLE;
use serde_json::{Value, json};
use std::sync::{Arc, Mutex};

/// A coins-table latest-price row (SK 0) as DynamoDB JSON.
fn image(token: &str, price: f64, at: i64) -> Value {
    json!({
        "PK": {"S": format!("coingecko#{token}")},
        "SK": {"N": "0"},
        "price": {"N": price.to_string()},
        "symbol": {"S": "TOK"},
        "timestamp": {"N": at.to_string()}
    })
}

fn record(seq: u64, name: &str, view: &str, new_image: Option<Value>) -> Value {
    let mut body = json!({
        "Keys": {"PK": {"S": "coingecko#tok"}, "SK": {"N": "0"}},
        "SequenceNumber": seq.to_string(),
        "StreamViewType": view,
    });
    if let Some(i) = new_image {
        body["NewImage"] = i;
    }
    json!({"eventID": seq.to_string(), "eventName": name, "eventSource": "aws:dynamodb", "dynamodb": body})
}

fn collecting(d: &mut detector::handler::RealDetector) -> Metrics {
    let m = Metrics::Collect(Arc::new(Mutex::new(Vec::new())));
    d.metrics = m.clone();
    m
}

#[tokio::test]
async fn modify_is_a_new_value_remove_and_imageless_are_counted() {
    let stack = Stack::start().await;
    let mut d = stack.detector().await;
    let metrics = collecting(&mut d);
    let now = system_now();
    let view = "NEW_AND_OLD_IMAGES";
    let event = json!({"Records": [
        record(1, "INSERT", view, Some(image("tok", 100.0, now - 120))),
        record(2, "MODIFY", view, Some(image("tok", 130.0, now - 60))),
        record(3, "REMOVE", view, None),
        record(4, "MODIFY", view, None),
    ]});
    let response: StreamResponse = serde_json::from_value(d.handle(&event).await.unwrap()).unwrap();
    assert!(response.batch_item_failures.is_empty());
    assert_eq!(
        stack.drain_alerts().await.len(),
        1,
        "the MODIFY is +30 % on the INSERT: one alert"
    );
    assert_eq!(metrics.total("StreamRemovesIgnored"), 1.0);
    assert_eq!(metrics.total("StreamRecordsWithoutImage"), 1.0);
    assert_eq!(metrics.total("RecordsApplied"), 2.0);
}

#[tokio::test]
async fn a_keys_only_stream_fails_loudly() {
    let stack = Stack::start().await;
    let d = stack.detector().await;
    let event = json!({"Records": [record(1, "INSERT", "KEYS_ONLY", None)]});
    let error = d.handle(&event).await.unwrap_err();
    assert!(!error.retryable);
    assert!(
        error.to_string().contains("NEW_AND_OLD_IMAGES"),
        "the error names the fix: {error}"
    );
}

/// Both triggers share the engine state: what the stream applied, the schedule reads as
/// not newer (stale), so nothing is published or sent twice.
#[tokio::test]
async fn a_key_on_both_triggers_is_processed_once() {
    let stack = Stack::start().await;
    let now = system_now();
    let items: Vec<Value> = [(100.0, now - 120), (130.0, now - 60)]
        .iter()
        .map(|(p, t)| json!({"PK": "coingecko#tok", "SK": t, "price": p, "symbol": "TOK", "timestamp": t}))
        .collect();
    stack.put(COINS_TABLE, &items).await;
    let view = "NEW_IMAGE";
    let ddb = |v: &Value| -> Value {
        json!({
            "PK": {"S": v["PK"]}, "SK": {"N": v["SK"].to_string()},
            "price": {"N": v["price"].to_string()}, "symbol": {"S": "TOK"},
            "timestamp": {"N": v["timestamp"].to_string()}
        })
    };
    let event = json!({"Records": [
        record(1, "INSERT", view, Some(ddb(&items[0]))),
        record(2, "INSERT", view, Some(ddb(&items[1]))),
    ]});
    let d = stack.detector_reading(keys_mode(1000, 100)).await;
    d.handle(&event).await.unwrap();
    assert_eq!(stack.drain_alerts().await.len(), 1);
    let tick = d.tick().await.unwrap();
    assert_eq!(
        tick.records, 2,
        "the schedule reads the same two items: {tick:?}"
    );
    assert_eq!((tick.events, tick.alerts_sent), (0, 0), "{tick:?}");
    assert!(stack.drain_alerts().await.is_empty());
}

/// The other order, and a record only one trigger carries: the schedule applies first, the
/// stream then delivers the same two records (stale, nothing again) and a newer one, which
/// it applies. The rule: a key's newest record time wins, whichever trigger carries it.
#[tokio::test]
async fn schedule_first_then_stream_applies_only_what_is_newer() {
    let stack = Stack::start().await;
    let now = system_now();
    let item = |p: f64, t: i64| json!({"PK": "coingecko#tok", "SK": t, "price": p, "symbol": "TOK", "timestamp": t});
    let items = vec![item(100.0, now - 180), item(130.0, now - 120)];
    stack.put(COINS_TABLE, &items).await;
    let mut d = stack.detector_reading(keys_mode(1000, 100)).await;
    let metrics = collecting(&mut d);
    let tick = d.tick().await.unwrap();
    assert_eq!((tick.records, tick.alerts_sent), (2, 1), "{tick:?}");
    assert_eq!(stack.drain_alerts().await.len(), 1);

    let ddb = |v: &Value| -> Value {
        json!({
            "PK": {"S": v["PK"]}, "SK": {"N": v["SK"].to_string()},
            "price": {"N": v["price"].to_string()}, "symbol": {"S": "TOK"},
            "timestamp": {"N": v["timestamp"].to_string()}
        })
    };
    let newer = item(131.0, now - 60);
    let event = json!({"Records": [
        record(1, "INSERT", "NEW_IMAGE", Some(ddb(&items[0]))),
        record(2, "INSERT", "NEW_IMAGE", Some(ddb(&items[1]))),
        record(3, "INSERT", "NEW_IMAGE", Some(ddb(&newer))),
    ]});
    let before = metrics.total("RecordsApplied");
    d.handle(&event).await.unwrap();
    assert_eq!(
        metrics.total("RecordsApplied") - before,
        1.0,
        "only the newer record is applied"
    );
    assert_eq!(
        metrics.total("RecordsStale"),
        2.0,
        "the two the schedule ran"
    );
    assert!(
        stack.drain_alerts().await.is_empty(),
        "the alert is not sent again"
    );
}
