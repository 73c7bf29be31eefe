//! Grouping, rate limits, deferrals and dead letters with their reason: alerts of one group in
//! a batch are one notification; a receiver's rate limit holds across two consumers sharing
//! Redis; a 429 with `Retry-After` sends the message back to the emulated alerts queue with a
//! delay (its receive count stays 1) instead of burning receives, a bounded number of times;
//! a message failing on its final receive reaches the DLQ with its `failureReason`.

use alert_consumer::App;
use alert_consumer::forward::{self, Queues};
use dlq_redrive::ops::{self, Budget};
use dlq_redrive::request::InspectRequest;
use pulse_adapters::redis::RedisStore;
use pulse_adapters::sqs::SqsForward;
use pulse_core::event::{AlertRule, Event, Severity};
use pulse_tests::fixtures::{alert, batch, body, failed_ids, message, with_alert};
use pulse_tests::queues::MAX_RECEIVE_COUNT;
use pulse_tests::{FakeReceiver, RedisServer, Reply, Stack, consumer};
use std::time::{Duration, Instant};

/// The consumer sending deferrals and dead letters to the stack's queues, as Terraform
/// configures it.
fn with_queues(app: &mut App<RedisStore>, stack: &Stack) {
    let q = stack.queues();
    app.queues = Queues {
        sqs: Some(SqsForward::new(stack.aws())),
        alerts_queue_url: Some(q.url.clone()),
        dead_letter_queue_url: Some(q.dlq_url.clone()),
        max_receive_count: MAX_RECEIVE_COUNT,
    };
}

fn messages(events: &[Event]) -> Vec<aws_lambda_events::event::sqs::SqsMessage> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| message(&format!("m{i}"), &body(e)))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_of_one_group_in_a_batch_are_one_notification() {
    let redis = RedisServer::start();
    let (slack, hook) = (FakeReceiver::start().await, FakeReceiver::start().await);
    let routes = format!(
        r#"
        [route]
        receivers = ["slack", "hook"]
        [receivers.slack]
        kind = "slack"
        url = {{ value = "{}" }}
        rate_limit = "100/s"
        [receivers.hook]
        kind = "webhook"
        url = {{ value = "{}" }}
        group_by = ["..."]
        "#,
        slack.url("/slack"),
        hook.url("/hook"),
    );
    let (app, _) = consumer(&routes, &redis.url()).await;
    // Four alerts of one incident (a depeg deepening through four levels), one of another.
    let usdt: Vec<Event> = (1..=4)
        .map(|n| {
            with_alert(
                alert(AlertRule::PegDeviation, Severity::Critical, "price:usdt", n),
                |a| a.level = n as u8,
            )
        })
        .collect();

    // The group's one send fails: each of its messages fails (none is marked delivered).
    slack.then(Reply::Status(500));
    let response = app.handle(batch(messages(&usdt)), None).await;
    assert_eq!(failed_ids(&response), ["m0", "m1", "m2", "m3"]);
    assert_eq!(slack.count(), 1, "one notification for the four");
    assert_eq!(hook.count(), 4, "group_by [\"...\"]: one request each");

    // The retry: one notification listing the four, the webhook not told again.
    let mut events = usdt.clone();
    events.push(alert(
        AlertRule::PegDeviation,
        Severity::Critical,
        "price:dai",
        9,
    ));
    let response = app.handle(batch(messages(&events)), None).await;
    assert!(failed_ids(&response).is_empty(), "{response:?}");
    assert_eq!(slack.count(), 3, "usdt's group and dai's alert");
    let grouped = slack
        .requests()
        .into_iter()
        .skip(1)
        .find(|r| r.json()["blocks"][0]["text"]["text"] == "4 alerts")
        .expect("a notification headed `4 alerts`");
    let text = String::from_utf8_lossy(&grouped.body).into_owned();
    for e in &usdt {
        assert!(
            text.contains(&e.event_id.to_string()),
            "lists {}",
            e.event_id
        );
    }
    assert!(!text.contains(&events[4].event_id.to_string()));
    assert_eq!(hook.count(), 5);

    // Every member was marked delivered: the same batch again notifies nobody.
    let response = app.handle(batch(messages(&events)), None).await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!((slack.count(), hook.count()), (3, 5));
    let t = app.metrics.totals();
    assert_eq!((t["slack"].delivered, t["slack"].failed), (5, 4));
}

/// 30 alerts with distinct keys (30 groups, so 30 messages) to one Slack receiver limited to
/// 10/s, handled by two consumers sharing Redis, three batches at once: any 11 consecutive
/// requests span at least about a second.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn thirty_alerts_to_one_slack_receiver_keep_its_rate() {
    let redis = RedisServer::start();
    let slack = FakeReceiver::start().await;
    let routes = format!(
        r#"
        [route]
        receivers = ["slack"]
        [receivers.slack]
        kind = "slack"
        url = {{ value = "{}" }}
        rate_limit = "10/s"
        "#,
        slack.url("/slack"),
    );
    let (a, _) = consumer(&routes, &redis.url()).await;
    let (b, _) = consumer(&routes, &redis.url()).await;
    let events: Vec<Event> = (0..30)
        .map(|i| {
            alert(
                AlertRule::PriceMove,
                Severity::Warning,
                &format!("price:t{i}"),
                i,
            )
        })
        .collect();
    let batches: Vec<_> = events.chunks(10).map(|c| batch(messages(c))).collect();
    let started = Instant::now();
    let (r0, r1, r2) = tokio::join!(
        a.handle(batches[0].clone(), None),
        b.handle(batches[1].clone(), None),
        a.handle(batches[2].clone(), None),
    );
    for r in [r0, r1, r2] {
        assert!(failed_ids(&r).is_empty(), "{r:?}");
    }
    assert_eq!(slack.count(), 30);
    let mut at: Vec<Instant> = slack.requests().iter().map(|r| r.at).collect();
    at.sort();
    for i in 10..at.len() {
        let span = at[i] - at[i - 10];
        assert!(
            span >= Duration::from_millis(900),
            "requests {} to {i} within {span:?}: more than 10 a second",
            i - 10
        );
    }
    assert!(started.elapsed() >= Duration::from_millis(2700));
}

/// Receives from the alerts queue until `done` or 20 s, handling and settling as the event
/// source mapping does; each receive's (time, receive count, deferrals).
async fn run_queue(
    app: &App<RedisStore>,
    stack: &Stack,
    done: impl Fn() -> bool,
) -> Vec<(Instant, String, u32)> {
    let q = stack.queues();
    let mut receives = Vec::new();
    let started = Instant::now();
    while !done() && started.elapsed() < Duration::from_secs(20) {
        let event = q.receive_event(&q.url).await;
        if event.records.is_empty() {
            tokio::time::sleep(Duration::from_millis(200)).await;
            continue;
        }
        for m in &event.records {
            receives.push((
                Instant::now(),
                m.attributes["ApproximateReceiveCount"].clone(),
                forward::deferrals(m),
            ));
        }
        let response = app.handle(event.clone(), None).await;
        q.settle(&event, &failed_ids(&response)).await;
    }
    receives
}

fn deferring_routes(url: &str, extra: &str) -> String {
    format!(
        r#"
        [defaults]
        timeout = "2s"
        max_retry_after = "0s"   # every Retry-After defers
        {extra}
        [route]
        receivers = ["hook"]
        [receivers.hook]
        kind = "webhook"
        url = {{ value = "{url}" }}
        "#
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_429_with_retry_after_is_retried_after_the_delay_not_sent_to_the_dlq() {
    let stack = Stack::builder().redis().queues().start().await;
    let hook = FakeReceiver::start().await;
    let (mut app, _) = consumer(
        &deferring_routes(&hook.url("/hook"), ""),
        &stack.redis().url(),
    )
    .await;
    with_queues(&mut app, &stack);
    // More 429s than the queue's maxReceiveCount (3): receives would have moved it to the DLQ.
    for _ in 0..4 {
        hook.then(Reply::RetryAfter(429, 1));
    }
    let e = alert(AlertRule::PegDeviation, Severity::Critical, "price:usdt", 1);
    let q = stack.queues();
    q.send(&[body(&e)]).await;

    let receives = run_queue(&app, &stack, || hook.count() >= 5).await;
    assert_eq!(hook.count(), 5, "four 429s, then delivered");
    assert_eq!(hook.mentioning(&e.event_id.to_string()), 5);
    let counts: Vec<_> = receives.iter().map(|r| r.1.as_str()).collect();
    assert_eq!(
        counts, ["1"; 5],
        "each deferral is a new message: no receive burnt"
    );
    let deferrals: Vec<_> = receives.iter().map(|r| r.2).collect();
    assert_eq!(deferrals, [0, 1, 2, 3, 4]);
    for w in receives.windows(2) {
        assert!(
            w[1].0 - w[0].0 >= Duration::from_millis(900),
            "received again before its Retry-After: {:?}",
            w[1].0 - w[0].0
        );
    }
    assert!(q.receive_event(&q.dlq_url).await.records.is_empty());
    assert!(q.receive_event(&q.url).await.records.is_empty());
    let t = &app.metrics.totals()["hook"];
    assert_eq!((t.delivered, t.deferred), (1, 4));
}

/// The bound: after `max_deferrals`, a receiver still answering 429 fails the message as
/// any retryable failure, so it reaches the DLQ (with its reason) after maxReceiveCount.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_answering_429_forever_still_ends_in_the_dlq() {
    let stack = Stack::builder().redis().queues().start().await;
    let hook = FakeReceiver::start().await;
    let (mut app, _) = consumer(
        &deferring_routes(&hook.url("/hook"), "max_deferrals = 2"),
        &stack.redis().url(),
    )
    .await;
    with_queues(&mut app, &stack);
    hook.answer(Reply::RetryAfter(429, 1));
    let e = alert(AlertRule::PegDeviation, Severity::Critical, "price:usdt", 1);
    let q = stack.queues();
    q.send(&[body(&e)]).await;

    let receives = run_queue(&app, &stack, || hook.count() >= 5).await;
    let seen: Vec<_> = receives.iter().map(|r| (r.1.as_str(), r.2)).collect();
    assert_eq!(
        seen,
        [("1", 0), ("1", 1), ("1", 2), ("2", 2), ("3", 2)],
        "two deferrals, then three receives"
    );
    let dead = q.drain(&q.dlq_url).await;
    assert_eq!(dead.len(), 1);
    let attrs = dead[0].message_attributes().unwrap();
    let reason = attrs[forward::FAILURE_REASON].string_value().unwrap();
    assert!(reason.contains("HTTP 429"), "{reason}");
    assert_eq!(attrs[forward::DEFERRALS].string_value(), Some("2"));
    assert!(q.receive_event(&q.url).await.records.is_empty());
}

/// A receiver that always answers 400: on the final receive the consumer itself sends the
/// message to the DLQ with the receiver's answer in `failureReason`, and the DLQ tool's
/// inspect shows it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_final_failure_reaches_the_dlq_with_the_receivers_answer() {
    let stack = Stack::builder().redis().queues().start().await;
    let hook = FakeReceiver::start().await;
    let (mut app, _) = consumer(
        &pulse_tests::fixtures::one_webhook(&hook.url("/hook"), ""),
        &stack.redis().url(),
    )
    .await;
    with_queues(&mut app, &stack);
    let answer = r#"{"error":"invalid_token","hint":"rotate the key"}"#;
    hook.answer(Reply::Body(400, answer.into()));
    let e = alert(AlertRule::PegDeviation, Severity::Critical, "price:usdt", 1);
    let q = stack.queues();
    q.send(&[body(&e)]).await;

    for receive in 1..=3 {
        let event = q.receive_event(&q.url).await;
        assert_eq!(event.records.len(), 1, "receive {receive}");
        let response = app.handle(event.clone(), None).await;
        let failed = failed_ids(&response);
        // The final receive is done: the consumer dead-lettered it itself.
        assert_eq!(failed.is_empty(), receive == 3, "receive {receive}");
        q.settle(&event, &failed).await;
    }
    assert!(q.receive_event(&q.url).await.records.is_empty());
    assert_eq!(hook.count(), 3);

    let req = InspectRequest {
        samples: Some(1),
        ..Default::default()
    };
    let report = ops::inspect(&q.queue, &q.dlq_url, &req, Budget::unlimited())
        .await
        .unwrap();
    assert_eq!(report.examined, 1);
    let sample = &report.samples[0];
    let reason = &sample.attributes[forward::FAILURE_REASON];
    assert!(
        reason.contains("hook: HTTP 400: body: {\"error\":\"invalid_token\""),
        "{reason}"
    );
    let dead = q.drain(&q.dlq_url).await;
    assert_eq!(
        dead[0].body(),
        Some(body(&e).as_str()),
        "the body unchanged"
    );
}
