//! The whole alert path on one Redis, as production runs it (both functions get the same
//! Redis URL and database): the detector's scheduled tick sends alerts to SQS, the alert
//! consumer handles those very SQS messages against the same Redis and notifies a loopback
//! webhook once per alert; redoing either batch notifies nobody again; and every key left in
//! Redis belongs to the one namespace (`pulse_core::keys`) with the type it declares.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pulse_core::event::{EventType, SqsAlertBody};
use pulse_core::keys::{self, Owner};
use pulse_tests::fixtures::{expected_events, failed_ids, ids_of, now, one_webhook, price_items};
use pulse_tests::tables::COINS_TABLE;
use pulse_tests::{FakeReceiver, Stack, consumer};
use std::collections::{BTreeMap, HashSet};

/// Every key in Redis with its type.
async fn redis_keys(stack: &Stack) -> BTreeMap<String, String> {
    let mut c = stack.redis_client().await;
    let names: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut c)
        .await
        .unwrap();
    let mut out = BTreeMap::new();
    for name in names {
        let kind: String = redis::cmd("TYPE")
            .arg(&name)
            .query_async(&mut c)
            .await
            .unwrap();
        out.insert(name, kind);
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_detected_alert_reaches_the_webhook_once() {
    let stack = Stack::start().await;
    let t0 = now() - 900;
    // Two tokens jumping +30 % in a minute: a critical price alert each.
    let items = price_items(2, t0, 1.3);
    stack.put(COINS_TABLE, &items).await;
    let expected = ids_of(&expected_events(&items, now()), Some(EventType::Alert));
    assert_eq!(expected.len(), 2, "the fixture makes two alerts");

    let detector = stack.detector().await;
    let tick = detector.tick().await.unwrap();
    assert_eq!(tick.alerts_sent, 2);

    // The consumer receives those SQS messages, on the detector's Redis.
    let hook = FakeReceiver::start().await;
    let (app, _) = consumer(&one_webhook(&hook.url("/hook"), ""), &stack.redis().url()).await;
    let queue = stack.queues();
    let received = queue.receive_event(&queue.url).await;
    let received_ids: HashSet<String> = received
        .records
        .iter()
        .map(|m| {
            let body: SqsAlertBody = serde_json::from_str(m.body.as_deref().unwrap()).unwrap();
            body.event.event_id.to_string()
        })
        .collect();
    assert_eq!(
        received_ids, expected,
        "the consumer gets the detector's alerts"
    );
    let response = app.handle(received.clone(), None).await;
    assert_eq!(
        failed_ids(&response),
        Vec::<String>::new(),
        "every alert delivered (a failure here is what a key shared with the detector causes)"
    );
    assert_eq!(hook.count(), 2);
    for id in &expected {
        assert_eq!(hook.mentioning(id), 1, "alert {id} notified once");
    }

    // SQS redelivers the same batch (a lost acknowledgement): acknowledged, nobody notified.
    let again = app.handle(received.clone(), None).await;
    assert!(failed_ids(&again).is_empty());
    queue.settle(&received, &[]).await;
    assert_eq!(hook.count(), 2);

    // The detector redoes its batch (its commit was lost): the same alerts come out of the
    // engine, the ledger knows they reached SQS, nothing is sent again.
    let mut c = stack.redis_client().await;
    let state_keys: Vec<String> = redis::cmd("KEYS")
        .arg("state:*")
        .query_async(&mut c)
        .await
        .unwrap();
    let _: () = redis::cmd("DEL")
        .arg(&state_keys)
        .arg(keys::WATERMARK)
        .query_async(&mut c)
        .await
        .unwrap();
    let redo = detector.tick().await.unwrap();
    assert_eq!((redo.alerts_sent, redo.alerts_already_sent), (0, 2));
    assert!(stack.drain_alerts().await.is_empty(), "nothing new on SQS");
    assert_eq!(hook.count(), 2);

    // Every key either function wrote is of the one namespace, with its declared type.
    let found = redis_keys(&stack).await;
    let mut owners = HashSet::new();
    for (key, kind) in &found {
        let spec = keys::spec_of(key).unwrap_or_else(|| panic!("{key} is not in pulse_core::keys"));
        assert_eq!(kind, spec.kind.as_str(), "{key} ({})", spec.pattern);
        owners.insert(spec.owner);
    }
    assert_eq!(
        owners,
        HashSet::from([Owner::Detector, Owner::AlertConsumer]),
        "{found:?}"
    );
    for id in &expected {
        assert!(found.contains_key(&keys::alert_sent(&id.parse().unwrap())));
        assert!(found.contains_key(&keys::delivery_done(id)));
    }
}
