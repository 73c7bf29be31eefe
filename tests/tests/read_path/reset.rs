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
    // New steady values: with the state gone they meet no baseline, and a missing baseline is
    // a first sighting (never 0, which would read as +100 % or more).
    stack.put(COINS_TABLE, &steady(5, 10..12, t)).await;

    let second = d.tick().await.unwrap();
    assert!(second.state_reset, "{second:?}");
    assert_eq!(metrics.total("StateResets"), 1.0);
    // Resumes the coins table from the remembered watermark, not the lookback: the overlap
    // (minutes 20..=25 before now) and the new minutes 10 and 11, for 5 tokens.
    assert_eq!(watermark, t - 60 * 20);
    assert_eq!(
        second.records,
        5 * (6 + 2),
        "read from the remembered watermark: {second:?}"
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
