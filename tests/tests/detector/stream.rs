//! The DynamoDB Streams trigger: a real stream read from the emulator, handled as Lambda
//! would deliver it; partial batch failures by sequence number.

use detector::handler::{Detector, StreamResponse};
use pulse_adapters::redis::RedisPorts;
use pulse_core::event::EventType;
use pulse_core::ports::{CheckpointStore, Commit, PortError};
use pulse_core::record::UnixSecs;
use pulse_core::state::StateMap;
use pulse_tests::Stack;
use pulse_tests::fixtures::{expected_events, ids_of, now, price_items, tvl_items};
use pulse_tests::pubsub::Listener;
use pulse_tests::queues::alert_ids;
use pulse_tests::tables::{EVENTS_TABLE, stream_event_of};
use serde_json::{Value, json};
use std::collections::HashSet;
use std::sync::atomic::{AtomicUsize, Ordering};

async fn stream_arn(stack: &Stack, table: &str) -> String {
    stack
        .dynamodb()
        .describe_table()
        .table_name(table)
        .send()
        .await
        .unwrap()
        .table
        .unwrap()
        .latest_stream_arn
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stream_records_from_the_emulator_are_detected() {
    let stack = Stack::start().await;
    let t0 = now() - 600;
    let items = tvl_items(2, t0);
    let mut with_bad = items.clone();
    with_bad.push(json!({"PK": "hourlyTvl#bad", "SK": t0, "tvl": "lots"}));
    // Written with the time-bucket attribute, as `pulse local load` does: not a chain.
    stack.put_bucketed(EVENTS_TABLE, &with_bad).await;
    let event = stream_event_of(stack.moto().port, &stream_arn(&stack, EVENTS_TABLE).await);
    assert_eq!(event["Records"].as_array().unwrap().len(), with_bad.len());

    let expected = expected_events(&items, now());
    let listener = Listener::start(&stack.redis().url()).await;
    let detector = stack.detector().await;
    let response: StreamResponse =
        serde_json::from_value(detector.handle(&event).await.unwrap()).unwrap();
    assert!(response.batch_item_failures.is_empty());
    let published = Listener::by_event(&listener.wait_for(1).await);
    assert_eq!(
        published.keys().cloned().collect::<HashSet<_>>(),
        ids_of(&expected, None)
    );
    let sqs: HashSet<String> = alert_ids(&stack.drain_alerts().await).into_iter().collect();
    assert_eq!(sqs, ids_of(&expected, Some(EventType::Alert)));
    assert_eq!(
        stack.watermark().await,
        None,
        "the stream path leaves the watermark alone"
    );
}

/// Fails the `n`-th commit (counting from 0).
struct FailNthCommit {
    inner: RedisPorts,
    n: usize,
    seen: AtomicUsize,
}

impl CheckpointStore for FailNthCommit {
    async fn load(&self, keys: &[String]) -> Result<StateMap, PortError> {
        self.inner.load(keys).await
    }
    async fn watermark(&self, table: &str) -> Result<Option<UnixSecs>, PortError> {
        self.inner.watermark(table).await
    }
    async fn commit(&self, commit: Commit<'_>) -> Result<(), PortError> {
        if self.seen.fetch_add(1, Ordering::SeqCst) == self.n {
            return Err(PortError::retryable("injected commit failure"));
        }
        self.inner.commit(commit).await
    }
}

fn synthetic_stream_event(items: &[Value]) -> Value {
    let records: Vec<Value> = items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            let image: serde_json::Map<String, Value> = item
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| {
                    let attr = match v {
                        Value::String(s) => json!({"S": s}),
                        Value::Number(n) => json!({"N": n.to_string()}),
                        other => json!({"S": other.to_string()}),
                    };
                    (k.clone(), attr)
                })
                .collect();
            json!({
                "eventID": format!("id-{i}"),
                "eventName": "INSERT",
                "eventSource": "aws:dynamodb",
                "eventSourceARN": "arn:aws:dynamodb:us-east-1:000000000000:table/events/stream/x",
                "dynamodb": {
                    "Keys": {"PK": image["PK"], "SK": image["SK"]},
                    "NewImage": image,
                    "SequenceNumber": format!("{:021}", 1000 + i),
                    "StreamViewType": "NEW_AND_OLD_IMAGES",
                }
            })
        })
        .collect();
    json!({ "Records": records })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_chunk_and_the_rest_are_reported_by_sequence_number() {
    let stack = Stack::start().await;
    let t0 = now() - 600;
    // 150 records: chunk 0 (100) commits, chunk 1 (50) fails.
    let items = price_items(75, t0, 1.3);
    let event = synthetic_stream_event(&items);
    let real = stack.detector().await;
    let failing = Detector {
        engine: real.engine.clone(),
        source: real.source.clone(),
        store: FailNthCommit {
            inner: real.store.clone(),
            n: 1,
            seen: AtomicUsize::new(0),
        },
        publisher: real.publisher.clone(),
        alerts: real.alerts.clone(),
        ledger: real.ledger.clone(),
        metrics: detector::handler::Metrics::Off,
        scan_overlap_secs: 0,
        initial_lookback_secs: 0,
        budget: detector::handler::TickBudget::default(),
        clock: real.clock,
    };
    let response: StreamResponse =
        serde_json::from_value(failing.handle(&event).await.unwrap()).unwrap();
    let want: Vec<String> = (100..150).map(|i| format!("{:021}", 1000 + i)).collect();
    let got: Vec<String> = response
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect();
    assert_eq!(got, want);

    // Lambda retries from the first failure: the rest of the batch, then nothing is sent twice.
    let retry = json!({"Records": event["Records"].as_array().unwrap()[100..].to_vec()});
    let response: StreamResponse =
        serde_json::from_value(real.handle(&retry).await.unwrap()).unwrap();
    assert!(response.batch_item_failures.is_empty());
    let sent = alert_ids(&stack.drain_alerts().await);
    let unique: HashSet<&String> = sent.iter().collect();
    assert_eq!(unique.len(), sent.len(), "no alert twice");
    let expected = expected_events(&items, now());
    assert_eq!(
        sent.into_iter().collect::<HashSet<_>>(),
        ids_of(&expected, Some(EventType::Alert))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_before_any_commit_fails_the_invocation() {
    let stack = Stack::start().await;
    let items = price_items(3, now() - 600, 1.3);
    let real = stack.detector().await;
    let failing = Detector {
        engine: real.engine.clone(),
        source: real.source.clone(),
        store: FailNthCommit {
            inner: real.store.clone(),
            n: 0,
            seen: AtomicUsize::new(0),
        },
        publisher: real.publisher.clone(),
        alerts: real.alerts.clone(),
        ledger: real.ledger.clone(),
        metrics: detector::handler::Metrics::Off,
        scan_overlap_secs: 0,
        initial_lookback_secs: 0,
        budget: detector::handler::TickBudget::default(),
        clock: real.clock,
    };
    let err = failing
        .handle(&synthetic_stream_event(&items))
        .await
        .unwrap_err();
    assert!(err.retryable);
}
