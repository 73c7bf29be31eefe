//! Partial batch failures, unparseable bodies, failure classes, Retry-After, and a receiver
//! down until the message reaches the dead-letter queue of the emulated SQS.

use pulse_core::event::{AlertRule, Severity};
use pulse_tests::RedisServer;
use pulse_tests::fixtures::{alert, batch, body, failed_ids, message, one_webhook};
use pulse_tests::{FakeReceiver, Reply, Stack, consumer};
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_failure_in_ten_lists_exactly_that_one() {
    let stack = Stack::builder().redis().queues().start().await;
    let redis = stack.redis();
    let hook = FakeReceiver::start().await;
    let (app, _) = consumer(&one_webhook(&hook.url("/hook"), ""), &redis.url()).await;
    let q = stack.queues();
    let events: Vec<_> = (0..10)
        .map(|i| {
            alert(
                AlertRule::PriceMove,
                Severity::Warning,
                &format!("price:t{i}"),
                i,
            )
        })
        .collect();
    let bad = events[6].event_id.to_string();
    hook.answer_when_body_contains(&bad, Reply::Status(500));
    q.send(&events.iter().map(body).collect::<Vec<_>>()).await;
    let mut event = q.receive_event(&q.url).await;
    while event.records.len() < 10 {
        let more = q.receive_event(&q.url).await;
        assert!(
            !more.records.is_empty(),
            "moto returned fewer than 10 messages"
        );
        event.records.extend(more.records);
    }
    let response = app.handle(event.clone(), None).await;
    let failed = failed_ids(&response);
    let bad_message = event
        .records
        .iter()
        .find(|m| m.body.as_deref().unwrap().contains(&bad))
        .and_then(|m| m.message_id.clone())
        .unwrap();
    assert_eq!(failed, [bad_message]);
    for e in &events {
        assert_eq!(
            hook.mentioning(&e.event_id.to_string()),
            1,
            "each delivered once"
        );
    }
    let totals = app.metrics.totals();
    assert_eq!((totals["hook"].delivered, totals["hook"].failed), (9, 1));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unparseable_bodies_fail_and_deliver_nothing() {
    let redis = RedisServer::start();
    let hook = FakeReceiver::start().await;
    let (app, _) = consumer(&one_webhook(&hook.url("/hook"), ""), &redis.url()).await;
    let good = alert(AlertRule::PriceMove, Severity::Warning, "price:x", 1);
    let response = app
        .handle(
            batch(vec![
                message("garbage", "{not json"),
                message(
                    "wrong-shape",
                    r#"{"event": {"eventId": 1}, "priority": "high"}"#,
                ),
                message("good", &body(&good)),
            ]),
            None,
        )
        .await;
    assert_eq!(failed_ids(&response), ["garbage", "wrong-shape"]);
    assert_eq!(hook.count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_classes_retry_after_and_timeouts() {
    let redis = RedisServer::start();
    let hook = FakeReceiver::start().await;
    let routes = one_webhook(&hook.url("/hook"), "timeout = \"300ms\"");
    let (app, _) = consumer(&routes, &redis.url()).await;
    let send = |n: i64| {
        let e = alert(
            AlertRule::PriceMove,
            Severity::Warning,
            &format!("price:r{n}"),
            n,
        );
        batch(vec![message(&format!("m{n}"), &body(&e))])
    };

    // 429 with a short Retry-After: waited for once, then delivered in the same invocation.
    hook.then(Reply::RetryAfter(429, 1));
    let started = Instant::now();
    let response = app.handle(send(1), None).await;
    assert!(failed_ids(&response).is_empty());
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(hook.count(), 2);

    // A Retry-After longer than the limit (10 s): failed at once, for SQS to retry.
    hook.then(Reply::RetryAfter(503, 60));
    let started = Instant::now();
    let response = app.handle(send(2), None).await;
    assert_eq!(failed_ids(&response), ["m2"]);
    assert!(started.elapsed() < Duration::from_secs(5));
    // ... nor when the Lambda has too little time left.
    hook.then(Reply::RetryAfter(429, 1));
    let response = app
        .handle(send(3), Some(Instant::now() + Duration::from_millis(800)))
        .await;
    assert_eq!(failed_ids(&response), ["m3"]);

    // A receiver that hangs: the timeout fails the message (retryable).
    hook.then(Reply::Hang);
    let started = Instant::now();
    let response = app.handle(send(4), None).await;
    assert_eq!(failed_ids(&response), ["m4"]);
    assert!(started.elapsed() < Duration::from_secs(2));

    // 400: permanent for the receiver; the message is still reported failed (DLQ later).
    hook.then(Reply::Status(400));
    let response = app.handle(send(5), None).await;
    assert_eq!(failed_ids(&response), ["m5"]);
    let t = &app.metrics.totals()["hook"];
    assert_eq!((t.failed, t.failed_permanent), (4, 1));

    // Each failed message succeeds on its retry (the in-progress marker was released).
    let response = app.handle(send(2), None).await;
    assert!(failed_ids(&response).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receiver_down_sends_the_message_to_the_dlq_without_resending_to_the_others() {
    let stack = Stack::builder().redis().queues().start().await;
    let redis = stack.redis();
    let (up, down) = (FakeReceiver::start().await, FakeReceiver::start().await);
    down.answer(Reply::Status(503));
    let routes = format!(
        r#"
        [route]
        receivers = ["up", "down"]
        [receivers.up]
        kind = "webhook"
        url = {{ value = "{}" }}
        [receivers.down]
        kind = "slack"
        url = {{ value = "{}" }}
        "#,
        up.url("/up"),
        down.url("/down"),
    );
    let (app, _) = consumer(&routes, &redis.url()).await;
    let q = stack.queues();
    let e = alert(AlertRule::PegDeviation, Severity::Critical, "price:usdt", 1);
    q.send(&[body(&e)]).await;

    for receive in 1..=3 {
        let event = q.receive_event(&q.url).await;
        assert_eq!(event.records.len(), 1, "receive {receive}");
        assert_eq!(
            event.records[0].attributes["ApproximateReceiveCount"],
            receive.to_string()
        );
        let response = app.handle(event.clone(), None).await;
        assert_eq!(failed_ids(&response).len(), 1);
        q.settle(&event, &failed_ids(&response)).await;
    }
    // The fourth receive finds it gone: the redrive policy moved it to the DLQ.
    assert!(q.receive_event(&q.url).await.records.is_empty());
    let dlq = q.receive_event(&q.dlq_url).await;
    assert_eq!(dlq.records.len(), 1);
    assert_eq!(dlq.records[0].body.as_deref(), Some(body(&e).as_str()));

    assert_eq!(up.count(), 1, "the receiver that worked got it once");
    assert_eq!(down.count(), 3);
    let t = app.metrics.totals();
    assert_eq!((t["up"].delivered, t["up"].suppressed_dedup), (1, 2));
    assert_eq!(t["down"].failed, 3);
}

/// A store error says its Redis cause, and whether a retry can help: a key of the wrong type
/// (what a key shared with another component gives) will fail the same way on every receive,
/// a Redis that is down may come back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_errors_name_their_redis_cause() {
    use alert_consumer::handler::MessageError;
    let redis = RedisServer::start();
    let hook = FakeReceiver::start().await;
    let (up, _) = consumer(&one_webhook(&hook.url("/hook"), ""), &redis.url()).await;
    let e = alert(AlertRule::PegDeviation, Severity::Critical, "price:usdt", 1);
    let id = e.event_id.to_string();
    redis.command(&format!(
        "SET {} not-a-hash",
        pulse_core::keys::delivered_receivers(&id)
    ));
    let err = up
        .handle_message(&message("m1", &body(&e)), None)
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(
        matches!(&err, MessageError::Store(p) if !p.retryable),
        "{text}"
    );
    assert!(
        text.contains("claim") && text.contains("WRONGTYPE"),
        "{text}"
    );
    assert_eq!(hook.count(), 0);

    // Redis down: retryable, and the text says what the client saw.
    let port = redis.port;
    drop(redis);
    let (down, _) = consumer(
        &one_webhook(&hook.url("/hook"), ""),
        &format!("redis://127.0.0.1:{port}"),
    )
    .await;
    let err = down
        .handle_message(&message("m2", &body(&e)), None)
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(err.to_string().starts_with("store: redis claim: "), "{err}");
}

/// A receiver's error answer is kept (its first 500 bytes) in the failure; a redirect is not
/// followed (a 302 would turn the POST into a body-less GET) but fails naming its Location.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn errors_keep_the_receivers_answer_and_redirects_are_not_followed() {
    let redis = RedisServer::start();
    let hook = FakeReceiver::start().await;
    let (app, _) = consumer(&one_webhook(&hook.url("/hook"), ""), &redis.url()).await;
    let msg = |n: i64| {
        let e = alert(
            AlertRule::PriceMove,
            Severity::Warning,
            &format!("price:e{n}"),
            n,
        );
        message(&format!("m{n}"), &body(&e))
    };

    let answer = format!(
        "{{\"error\":\"invalid_blocks\",\"pad\":\"{}\"}}",
        "x".repeat(2000)
    );
    hook.then(Reply::Body(400, answer.clone()));
    let err = app.handle_message(&msg(1), None).await.unwrap_err();
    let text = err.to_string();
    assert!(!err.is_retryable());
    assert!(
        text.contains("HTTP 400: body: {\"error\":\"invalid_blocks\""),
        "{text}"
    );
    assert!(
        text.contains(&answer[..500]) && !text.contains(&answer[..501]),
        "500 bytes kept"
    );

    hook.then(Reply::Redirect(302, hook.url("/moved")));
    let err = app.handle_message(&msg(2), None).await.unwrap_err();
    let text = err.to_string();
    assert!(
        !err.is_retryable(),
        "a redirect is a configuration to fix: {text}"
    );
    assert!(
        text.contains("HTTP 302") && text.contains(&hook.url("/moved")),
        "{text}"
    );
    let paths: Vec<String> = hook
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    assert_eq!(
        paths,
        ["POST /hook", "POST /hook"],
        "the redirect was not followed"
    );
}
