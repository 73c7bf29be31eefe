//! One writer at a time: an overlapping scheduled invocation exits without reading, sending
//! or writing; a tick whose lease was taken over cannot commit (fencing token).

use detector::handler::{Metrics, system_now};
use pulse_core::keys::LEASE;
use pulse_core::ports::{CheckpointStore, Commit};
use pulse_core::state::StateMap;
use pulse_tests::Stack;
use pulse_tests::read_path::{keys_mode, new_items};
use std::sync::{Arc, Mutex};

#[tokio::test]
async fn an_overlapping_tick_exits_and_a_fenced_out_tick_cannot_commit() {
    let stack = Stack::start().await;
    let now = system_now();
    // A +30 % move: the tick that runs sends one alert.
    let mut items = new_items(1, now);
    items[1]["price"] = serde_json::json!(1.3);
    stack.load_coins(&items).await;
    // Two Lambda instances: two detectors, two connections.
    let running = stack.detector_reading(keys_mode(1000, 100)).await;
    let mut second = stack.detector_reading(keys_mode(1000, 100)).await;
    let metrics = Metrics::Collect(Arc::new(Mutex::new(Vec::new())));
    second.metrics = metrics.clone();

    let token = running
        .store
        .acquire()
        .await
        .unwrap()
        .expect("the lease is free");
    let overlapped = second.tick().await.unwrap();
    assert!(overlapped.overlapped, "{overlapped:?}");
    assert_eq!((overlapped.items_examined, overlapped.records), (0, 0));
    assert_eq!(metrics.total("TicksOverlapped"), 1.0);
    assert!(stack.drain_alerts().await.is_empty());
    assert_eq!(stack.watermark().await, None, "nothing written");

    // The lease is lost (expired) and the second instance runs a whole tick meanwhile.
    let mut c = stack.redis_client().await;
    let () = redis::cmd("DEL")
        .arg(LEASE)
        .query_async(&mut c)
        .await
        .unwrap();
    let ran = second.tick().await.unwrap();
    assert!(!ran.overlapped);
    assert_eq!((ran.records, ran.alerts_sent), (2, 1), "{ran:?}");
    let watermark = stack.watermark().await;
    assert_eq!(watermark, Some(now - 60));

    // The first instance, fenced out, cannot commit an older watermark or state.
    let stale = Commit {
        states: &StateMap::default(),
        current: &[],
        history: &[],
        watermark: Some((pulse_tests::tables::COINS_TABLE, now + 1_000)),
        now,
        sections: running.engine.sections(),
    };
    let error = running.store.commit(stale).await.unwrap_err();
    assert!(error.to_string().contains("fencing token"), "{error}");
    assert_eq!(
        stack.watermark().await,
        watermark,
        "no regression, no write"
    );
    assert_eq!(stack.drain_alerts().await.len(), 1, "one alert, sent once");
    running.store.release(token).await.unwrap();
    // Released: the next tick runs (and finds nothing new).
    let next = second.tick().await.unwrap();
    assert!(!next.overlapped);
    assert_eq!(next.alerts_sent, 0);
}
