//! State loss is seen: Redis flushed between ticks is a reported state reset (log, summary,
//! `StateResets`), the tick resumes from the watermark it remembers, and the engine reseeds
//! without alerts; keys evicted under a cold instance are seen through the watermarks left.

use detector::handler::Metrics;
use pulse_core::keys;
use pulse_tests::Stack;
use pulse_tests::fixtures::now;
use pulse_tests::read_path::price_item;
use pulse_tests::tables::COINS_TABLE;
use serde_json::Value;
use std::sync::{Arc, Mutex};

/// `tokens` tokens, one steady price a minute at these minutes before `now`.
fn steady(tokens: usize, minutes: std::ops::Range<i64>, now: i64) -> Vec<Value> {
    (0..tokens)
        .flat_map(|i| {
            minutes
                .clone()
                .map(move |m| price_item(i, now - 60 * m, 1.0 + m as f64 * 1e-5))
        })
        .collect()
}

#[tokio::test]
async fn redis_flushed_between_ticks_is_a_reported_reset_without_false_alerts() {
    let stack = Stack::start().await;
    let t = now();
    stack.put(COINS_TABLE, &steady(5, 20..30, t)).await;
    let mut d = stack.detector().await;
    let metrics = Metrics::Collect(Arc::new(Mutex::new(Vec::new())));
    d.metrics = metrics.clone();

    let first = d.tick().await.unwrap();
    assert!(!first.state_reset, "a first run is no reset: {first:?}");
    assert_eq!((first.records, first.alerts_sent), (50, 0), "{first:?}");
    let watermark = first.watermark.unwrap();
    assert_eq!(metrics.total("StateResets"), 0.0);

    let mut c = stack.redis_client().await;
    let () = redis::cmd("FLUSHALL").query_async(&mut c).await.unwrap();
    // New values, doubled: compared with nothing (the state is gone) they are first sightings.
    let mut doubled = steady(5, 10..12, t);
    for item in &mut doubled {
        item["price"] = serde_json::json!(2.0);
    }
    stack.put(COINS_TABLE, &doubled).await;

    let second = d.tick().await.unwrap();
    assert!(second.state_reset, "{second:?}");
    assert_eq!(metrics.total("StateResets"), 1.0);
    assert_eq!(
        second.since,
        watermark - d.scan_overlap_secs,
        "resumes from the remembered watermark, not the lookback: {second:?}"
    );
    assert_eq!(second.alerts_sent, 0, "no false alerts: {second:?}");
    assert!(
        stack.drain_alerts().await.is_empty(),
        "nothing on the alerts queue"
    );
    let epoch: Option<String> = redis::cmd("GET")
        .arg(keys::EPOCH)
        .query_async(&mut c)
        .await
        .unwrap();
    assert!(epoch.is_some(), "the commit wrote a new epoch");

    let third = d.tick().await.unwrap();
    assert!(!third.state_reset, "seen once: {third:?}");
    assert_eq!(metrics.total("StateResets"), 1.0);

    // Keys lost under an instance that never saw them (a cold start after eviction): the
    // table watermarks left behind tell.
    let () = redis::cmd("DEL")
        .arg(keys::EPOCH)
        .query_async(&mut c)
        .await
        .unwrap();
    let mut cold = stack.detector().await;
    let cold_metrics = Metrics::Collect(Arc::new(Mutex::new(Vec::new())));
    cold.metrics = cold_metrics.clone();
    let evicted = cold.tick().await.unwrap();
    assert!(evicted.state_reset, "{evicted:?}");
    assert_eq!(cold_metrics.total("StateResets"), 1.0);
}
