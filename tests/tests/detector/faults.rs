//! Faults. Each asserts that no event is lost and no alert reaches SQS twice across the
//! failed run and its rerun.

use detector::handler::{Detector, Metrics, RealDetector, TickSummary, scheduled_event};
use pulse_adapters::dynamodb::DynamoSource;
use pulse_adapters::redis::RedisPorts;
use pulse_adapters::sqs::SqsAlerts;
use pulse_core::event::EventType;
use pulse_core::ports::{CheckpointStore, Commit, EventPublisher, PortError};
use pulse_core::record::UnixSecs;
use pulse_core::state::StateMap;
use pulse_tests::Stack;
use pulse_tests::aws::sdk_config;
use pulse_tests::fixtures::{expected_events, ids_of, now, price_items, tvl_items};
use pulse_tests::proxy::{Intercept, Proxy, Request, Response, Step};
use pulse_tests::pubsub::Listener;
use pulse_tests::queues::alert_ids;
use pulse_tests::tables::COINS_TABLE;
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every alert id exactly once, and exactly the expected ones.
fn assert_once(sent: &[String], expected: &HashSet<String>) {
    let mut counts: HashMap<&String, usize> = HashMap::new();
    for id in sent {
        *counts.entry(id).or_default() += 1;
    }
    let twice: Vec<_> = counts.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "alerts sent twice: {twice:?}");
    let got: HashSet<String> = sent.iter().cloned().collect();
    assert_eq!(&got, expected, "alerts sent vs expected");
}

fn with_store<S>(
    d: RealDetector,
    store: S,
) -> Detector<DynamoSource, S, RedisPorts, SqsAlerts, RedisPorts, Metrics> {
    Detector {
        engine: d.engine,
        source: d.source,
        store,
        publisher: d.publisher,
        alerts: d.alerts,
        ledger: d.ledger,
        metrics: d.metrics,
        scan_overlap_secs: d.scan_overlap_secs,
        initial_lookback_secs: d.initial_lookback_secs,
        budget: d.budget,
        clock: d.clock,
    }
}

/// A store whose next commit fails, as if the process died after its effects.
struct CrashBeforeCommit {
    inner: RedisPorts,
    armed: AtomicBool,
}

impl CheckpointStore for CrashBeforeCommit {
    async fn load(&self, keys: &[String]) -> Result<StateMap, PortError> {
        self.inner.load(keys).await
    }
    async fn watermark(&self, table: &str) -> Result<Option<UnixSecs>, PortError> {
        self.inner.watermark(table).await
    }
    async fn commit(&self, commit: Commit<'_>) -> Result<(), PortError> {
        if self.armed.swap(false, Ordering::SeqCst) {
            return Err(PortError::retryable("injected crash before commit"));
        }
        self.inner.commit(commit).await
    }
}

/// A publisher that shuts Redis down just before its next publish (mid-batch: state was
/// loaded, nothing published or committed yet).
struct KillRedisBeforePublish {
    inner: RedisPorts,
    port: u16,
    armed: AtomicBool,
}

impl EventPublisher for KillRedisBeforePublish {
    async fn publish(&self, events: &[pulse_core::Event]) -> Result<(), PortError> {
        if self.armed.swap(false, Ordering::SeqCst) {
            if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", self.port)) {
                let _ = s.write_all(b"SHUTDOWN NOSAVE\r\n");
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
        self.inner.publish(events).await
    }
}

async fn fixture(stack: &Stack) -> (Vec<Value>, HashSet<String>, HashSet<String>) {
    let t0 = now() - 900;
    let prices = price_items(4, t0, 1.3);
    let tvl = tvl_items(2, t0);
    // One table (events and coins may be one): the tick runs them as one chunk, so each
    // fault below hits one batch holding every alert.
    stack.put(COINS_TABLE, &prices).await;
    stack.put(COINS_TABLE, &tvl).await;
    let all: Vec<Value> = prices.into_iter().chain(tvl).collect();
    let expected = expected_events(&all, now());
    (
        all,
        ids_of(&expected, None),
        ids_of(&expected, Some(EventType::Alert)),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn crash_after_publishing_before_commit_redoes_the_batch_without_duplicates() {
    let stack = Stack::start().await;
    let (_, events, alerts) = fixture(&stack).await;
    let listener = Listener::start(&stack.redis().url()).await;
    let real = stack.detector().await;
    let inner = real.store.clone();
    let crashing = with_store(
        real.clone(),
        CrashBeforeCommit {
            inner,
            armed: AtomicBool::new(true),
        },
    );

    let err = crashing.handle(&scheduled_event()).await.unwrap_err();
    assert!(err.retryable, "{err}");
    assert_eq!(stack.watermark().await, None, "nothing committed");
    let first_alerts = alert_ids(&stack.drain_alerts().await);

    let summary: TickSummary =
        serde_json::from_value(real.handle(&scheduled_event()).await.unwrap()).unwrap();
    assert_eq!(
        summary.alerts_sent, 0,
        "the ledger knew they went out: {summary:?}"
    );
    assert_eq!(summary.alerts_already_sent, alerts.len());
    assert!(summary.watermark.is_some());
    assert!(stack.watermark().await.is_some());
    let mut sent = first_alerts;
    sent.extend(alert_ids(&stack.drain_alerts().await));
    assert_once(&sent, &alerts);
    // Every event published, each once (the rerun's publications were deduplicated).
    let published = Listener::by_event(&listener.wait_for(1).await);
    assert_eq!(published.keys().cloned().collect::<HashSet<_>>(), events);
    assert_eq!(
        stack.stream_ids("stream:events:alerts").await.len(),
        alerts.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_killed_mid_batch_and_restarted_loses_nothing() {
    let mut stack = Stack::start().await;
    let (_, events, alerts) = fixture(&stack).await;
    let real = stack.detector().await;
    let killing = Detector {
        engine: real.engine.clone(),
        source: real.source.clone(),
        store: real.store.clone(),
        publisher: KillRedisBeforePublish {
            inner: real.publisher.clone(),
            port: stack.redis().port,
            armed: AtomicBool::new(true),
        },
        alerts: real.alerts.clone(),
        ledger: real.ledger.clone(),
        metrics: Metrics::Off,
        scan_overlap_secs: real.scan_overlap_secs,
        initial_lookback_secs: real.initial_lookback_secs,
        budget: real.budget,
        clock: real.clock,
    };
    let err = killing.handle(&scheduled_event()).await.unwrap_err();
    assert!(err.retryable, "{err}");
    assert!(
        stack.drain_alerts().await.is_empty(),
        "no alert before publication"
    );

    stack.redis_mut().restart();
    let listener = Listener::start(&stack.redis().url()).await;
    // The same client reconnects on its own.
    let mut result = real.handle(&scheduled_event()).await;
    for _ in 0..20 {
        if result.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        result = real.handle(&scheduled_event()).await;
    }
    let summary: TickSummary = serde_json::from_value(result.unwrap()).unwrap();
    assert_eq!(summary.alerts_sent, alerts.len());
    assert_once(&alert_ids(&stack.drain_alerts().await), &alerts);
    let published = Listener::by_event(&listener.wait_for(1).await);
    assert_eq!(published.keys().cloned().collect::<HashSet<_>>(), events);
    assert!(stack.watermark().await.is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_unreachable_for_one_invocation_then_each_alert_once() {
    let stack = Stack::start().await;
    let (_, events, alerts) = fixture(&stack).await;
    let listener = Listener::start(&stack.redis().url()).await;
    let real = stack.detector().await;
    let mut broken = real.clone();
    let dead = format!("http://127.0.0.1:{}", pulse_tests::free_port());
    let bad_aws = sdk_config(&dead)
        .into_builder()
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .build();
    broken.alerts = SqsAlerts::new(&bad_aws, &stack.queues().url);
    broken.alerts.max_attempts = 2;
    broken.alerts.base_delay = Duration::from_millis(10);

    let err = broken.handle(&scheduled_event()).await.unwrap_err();
    assert!(err.retryable, "{err}");
    assert_eq!(stack.watermark().await, None);
    let summary: TickSummary =
        serde_json::from_value(real.handle(&scheduled_event()).await.unwrap()).unwrap();
    assert_eq!(summary.alerts_sent, alerts.len());
    assert_once(&alert_ids(&stack.drain_alerts().await), &alerts);
    let messages = listener.wait_for(1).await;
    let published = Listener::by_event(&messages);
    assert_eq!(published.keys().cloned().collect::<HashSet<_>>(), events);
    // Published in the first run only: the rerun found the dedup keys.
    let alerts_channel = messages
        .iter()
        .filter(|(c, _)| c == "events:alerts")
        .count();
    assert_eq!(alerts_channel, alerts.len());
}

/// Fails chosen SendMessageBatch entries (through a [`Proxy`]): while `failing`, the entries
/// at odd positions of the first batch it sees (and the same messages in later batches) are
/// removed from the request and reported back as failed, `SenderFault` as configured.
struct FailEntries {
    sender_fault: bool,
    failing: Arc<AtomicBool>,
    doomed: Mutex<Option<HashSet<String>>>,
    batch_sizes: Mutex<Vec<usize>>,
    requests: Arc<AtomicUsize>,
}

impl FailEntries {
    fn start(upstream: u16, sender_fault: bool) -> Proxy<FailEntries> {
        let intercept = FailEntries {
            sender_fault,
            failing: Arc::new(AtomicBool::new(true)),
            doomed: Mutex::new(None),
            batch_sizes: Mutex::new(Vec::new()),
            requests: Arc::new(AtomicUsize::new(0)),
        };
        Proxy::start(upstream, intercept)
    }

    /// Entries to forward and ids of the entries to fail.
    fn split(&self, entries: Vec<Value>) -> (Vec<Value>, Vec<String>) {
        let mut guard = self.doomed.lock().unwrap();
        let doomed = guard.get_or_insert_with(|| {
            entries
                .iter()
                .enumerate()
                .filter(|(i, _)| i % 2 == 1)
                .map(|(_, e)| e["MessageBody"].as_str().unwrap().to_string())
                .collect()
        });
        let (fail, keep): (Vec<Value>, Vec<Value>) = entries
            .into_iter()
            .partition(|e| doomed.contains(e["MessageBody"].as_str().unwrap()));
        let ids = fail
            .iter()
            .map(|e| e["Id"].as_str().unwrap().to_string())
            .collect();
        (keep, ids)
    }

    /// The message bodies it fails.
    fn doomed_bodies(&self) -> HashSet<String> {
        self.doomed.lock().unwrap().clone().unwrap_or_default()
    }

    fn doomed(&self) -> usize {
        self.doomed_bodies().len()
    }
}

impl Intercept for FailEntries {
    fn request(&self, request: &mut Request) -> Step {
        if !request.is_target("AmazonSQS.SendMessageBatch") {
            return Step::Forward;
        }
        self.requests.fetch_add(1, Ordering::SeqCst);
        let mut batch: Value = serde_json::from_slice(&request.body).unwrap();
        let entries = batch["Entries"].as_array().cloned().unwrap_or_default();
        self.batch_sizes.lock().unwrap().push(entries.len());
        if !self.failing.load(Ordering::SeqCst) {
            return Step::Forward;
        }
        let (keep, removed) = self.split(entries);
        if removed.is_empty() {
            return Step::Forward;
        }
        let failed: Vec<Value> = removed
            .iter()
            .map(|id| serde_json::json!({"Id": id, "SenderFault": self.sender_fault, "Code": "InjectedFailure", "Message": "injected by the test proxy"}))
            .collect();
        if keep.is_empty() {
            // Every entry fails: answer without the emulator (it refuses empty batches).
            let answer = serde_json::json!({"Successful": [], "Failed": failed});
            return Step::Answer(Response::aws_json(200, &answer));
        }
        batch["Entries"] = Value::Array(keep);
        request.body = serde_json::to_vec(&batch).unwrap();
        Step::Rewrite(Box::new(move |response: &mut Response| {
            let mut out: Value = serde_json::from_slice(&response.body).unwrap();
            let mut all = out["Failed"].as_array().cloned().unwrap_or_default();
            all.extend(failed);
            out["Failed"] = Value::Array(all);
            if out.get("Successful").is_none() {
                out["Successful"] = Value::Array(Vec::new());
            }
            response.body = serde_json::to_vec(&out).unwrap();
        }))
    }
}

fn through_proxy(real: &RealDetector, stack: &Stack, proxy: &Proxy<FailEntries>) -> RealDetector {
    let mut d = real.clone();
    d.alerts = SqsAlerts::new(&sdk_config(&proxy.endpoint()), &stack.queues().url);
    d.alerts.max_attempts = 3;
    d.alerts.base_delay = Duration::from_millis(10);
    d.alerts.max_delay = Duration::from_millis(50);
    d
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_failed_entries_are_retried_alone_within_the_invocation() {
    let stack = Stack::start().await;
    let (_, _, alerts) = fixture(&stack).await;
    let proxy = FailEntries::start(stack.moto().port, false);
    let real = stack.detector().await;
    let d = through_proxy(&real, &stack, &proxy);
    // Fail the first batch's odd entries once, then let everything through.
    let failing = proxy.intercept.failing.clone();
    let requests = proxy.intercept.requests.clone();
    tokio::spawn(async move {
        while requests.load(Ordering::SeqCst) == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        failing.store(false, Ordering::SeqCst);
    });
    let summary: TickSummary =
        serde_json::from_value(d.handle(&scheduled_event()).await.unwrap()).unwrap();
    assert_eq!(summary.alerts_sent, alerts.len());
    assert_once(&alert_ids(&stack.drain_alerts().await), &alerts);
    let sizes = proxy.intercept.batch_sizes.lock().unwrap().clone();
    let doomed = proxy.intercept.doomed();
    assert!(doomed > 0);
    assert_eq!(
        sizes,
        vec![alerts.len(), doomed],
        "the retry carries only the failed entries"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqs_entries_failing_every_attempt_fail_the_invocation_and_the_rerun_sends_only_them() {
    let stack = Stack::start().await;
    let (_, events, alerts) = fixture(&stack).await;
    let proxy = FailEntries::start(stack.moto().port, false);
    let real = stack.detector().await;
    let d = through_proxy(&real, &stack, &proxy);
    let err = d.handle(&scheduled_event()).await.unwrap_err();
    assert!(err.retryable, "{err}");
    let requests = proxy.intercept.requests.load(Ordering::SeqCst);
    assert_eq!(requests, 3, "every attempt");
    assert_eq!(stack.watermark().await, None, "nothing committed");
    let mut sent = alert_ids(&stack.drain_alerts().await);
    let doomed = proxy.intercept.doomed();
    assert_eq!(sent.len(), alerts.len() - doomed);

    // The rerun (entries accepted again) sends only what had failed.
    proxy.intercept.failing.store(false, Ordering::SeqCst);
    let listener = Listener::start(&stack.redis().url()).await;
    let summary: TickSummary =
        serde_json::from_value(d.handle(&scheduled_event()).await.unwrap()).unwrap();
    assert_eq!(summary.alerts_sent, doomed);
    assert_eq!(summary.alerts_already_sent, alerts.len() - doomed);
    sent.extend(alert_ids(&stack.drain_alerts().await));
    assert_once(&sent, &alerts);
    assert_eq!(
        listener.wait_for(1).await.len(),
        0,
        "events were published by the first run"
    );
    let streamed: HashSet<String> = [
        "stream:events:prices",
        "stream:events:tvl",
        "stream:events:alerts",
        "stream:events:protocols",
    ]
    .iter()
    .map(|s| stack.stream_ids(s))
    .collect::<futures::future::JoinAll<_>>()
    .await
    .into_iter()
    .flatten()
    .collect();
    assert_eq!(streamed, events);
}

/// A poison alert (SQS refuses it as the sender's fault, every time) is quarantined: counted,
/// kept in `detector:quarantine` with its key and reason, never retried; the tick commits and
/// the other keys keep flowing on the next tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_poison_alert_is_quarantined_and_the_other_keys_keep_flowing() {
    let stack = Stack::start().await;
    let (_, _, alerts) = fixture(&stack).await;
    let proxy = FailEntries::start(stack.moto().port, true);
    let real = stack.detector().await;
    let mut d = through_proxy(&real, &stack, &proxy);
    let metrics = Metrics::Collect(Arc::new(Mutex::new(Vec::new())));
    d.metrics = metrics.clone();
    let first = d.tick().await.unwrap();
    assert_eq!(
        proxy.intercept.requests.load(Ordering::SeqCst),
        1,
        "a sender fault is not retried"
    );
    let doomed = proxy.intercept.doomed_bodies();
    assert!(!doomed.is_empty());
    assert_eq!(first.alerts_quarantined, doomed.len(), "{first:?}");
    assert_eq!(first.alerts_sent, alerts.len() - doomed.len(), "{first:?}");
    assert!(first.watermark.is_some(), "the tick committed: {first:?}");
    assert_eq!(metrics.total("AlertsQuarantined"), doomed.len() as f64);
    assert_eq!(metrics.total("InvocationFailures"), 0.0);
    let sent = alert_ids(&stack.drain_alerts().await);
    assert_eq!(sent.len(), alerts.len() - doomed.len());

    // Kept for an operator: the SQS body as it would have been sent, its key and why.
    let mut c = stack.redis_client().await;
    let kept: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
        .arg(pulse_core::keys::QUARANTINE)
        .arg("-")
        .arg("+")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(kept.len(), doomed.len());
    let mut quarantined = HashSet::new();
    for (_, fields) in &kept {
        let field = |k: &str| {
            fields
                .iter()
                .find(|(n, _)| n == k)
                .map(|(_, v)| v.clone())
                .unwrap()
        };
        assert!(field("reason").contains("InjectedFailure"), "{fields:?}");
        assert!(!field("key").is_empty(), "{fields:?}");
        let body = field("body");
        assert!(doomed.contains(&body), "the body SQS refused");
        quarantined.insert(field("eventId"));
    }
    let all_sent: HashSet<String> = sent.iter().cloned().collect();
    assert!(quarantined.is_disjoint(&all_sent));
    assert_eq!(
        quarantined
            .union(&all_sent)
            .cloned()
            .collect::<HashSet<_>>(),
        alerts
    );

    // The next tick: other keys alert and their alerts go out; the poison is not retried.
    let later = now() - 600;
    let mut fresh = price_items(3, later, 1.3);
    for item in &mut fresh {
        let pk = item["PK"].as_str().unwrap().replace("tok-", "other-");
        item["PK"] = Value::String(pk);
    }
    stack.put(COINS_TABLE, &fresh).await;
    let fresh_alerts = ids_of(&expected_events(&fresh, now()), Some(EventType::Alert));
    let next = d.tick().await.unwrap();
    assert_eq!(next.alerts_quarantined, 0, "{next:?}");
    assert_eq!(next.alerts_sent, fresh_alerts.len(), "{next:?}");
    let sent_next: HashSet<String> = alert_ids(&stack.drain_alerts().await).into_iter().collect();
    assert_eq!(sent_next, fresh_alerts);
}
