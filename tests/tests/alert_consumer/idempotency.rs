//! The same message twice, and two invocations racing on it: one notification.

use pulse_core::event::{AlertRule, Severity};
use pulse_tests::RedisServer;
use pulse_tests::fixtures::{alert, batch, body, failed_ids, message, one_webhook};
use pulse_tests::{FakeReceiver, Reply, consumer};
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_message_twice_notifies_once() {
    let redis = RedisServer::start();
    let hook = FakeReceiver::start().await;
    let (app, _) = consumer(&one_webhook(&hook.url("/hook"), ""), &redis.url()).await;
    let e = alert(AlertRule::PegDeviation, Severity::Critical, "price:dai", 1);
    let m = message("m1", &body(&e));
    assert!(failed_ids(&app.handle(batch(vec![m.clone()]), None).await).is_empty());
    // Redelivered by SQS, and also duplicated within one batch.
    let again = app
        .handle(batch(vec![m.clone(), message("m2", &body(&e))]), None)
        .await;
    assert!(failed_ids(&again).is_empty(), "duplicates are acknowledged");
    assert_eq!(hook.count(), 1);
    assert_eq!(app.metrics.totals()["hook"].suppressed_dedup, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_lambdas_racing_notify_once() {
    let redis = RedisServer::start();
    let hook = FakeReceiver::start().await;
    // Slow enough that the second invocation claims while the first is delivering.
    hook.answer(Reply::Slow(Duration::from_millis(300)));
    let routes = one_webhook(&hook.url("/hook"), "");
    let (first, _) = consumer(&routes, &redis.url()).await;
    let (second, _) = consumer(&routes, &redis.url()).await;
    let e = alert(AlertRule::PegDeviation, Severity::Critical, "price:frax", 1);
    let m = message("m1", &body(&e));
    let (a, b) = tokio::join!(
        first.handle(batch(vec![m.clone()]), None),
        second.handle(batch(vec![m.clone()]), None)
    );
    let failures = failed_ids(&a).len() + failed_ids(&b).len();
    assert_eq!(
        failures, 1,
        "the loser sees the in-progress marker and fails"
    );
    assert_eq!(hook.count(), 1);
    // SQS retries the loser's copy later: acknowledged without a second notification.
    let retry = second.handle(batch(vec![m]), None).await;
    assert!(failed_ids(&retry).is_empty());
    assert_eq!(hook.count(), 1);
}

/// A message redriven from the DLQ days after it was delivered: the delivery records outlive
/// the DLQ's retention, so nobody is told twice. A never-delivered alert redriven as late is
/// delivered marked late and does not hide the next real alert (the repeat interval runs on
/// the alerts' own time).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redrive_three_days_after_delivery_does_not_renotify() {
    let redis = RedisServer::start();
    let hook = FakeReceiver::start().await;
    let (app, clock) = consumer(&one_webhook(&hook.url("/hook"), ""), &redis.url()).await;
    let e = alert(AlertRule::PegDeviation, Severity::Critical, "price:usdt", 1);
    assert!(
        failed_ids(
            &app.handle(batch(vec![message("m1", &body(&e))]), None)
                .await
        )
        .is_empty()
    );
    assert_eq!(hook.count(), 1);
    // Redis expires by its own clock: what matters is how long the records live.
    let day_ms: i64 = 24 * 3600 * 1000;
    let id = e.event_id.to_string();
    for key in [
        pulse_core::keys::delivery_done(&id),
        pulse_core::keys::delivered_receivers(&id),
    ] {
        let ttl: i64 = redis
            .command(&format!("PTTL {key}"))
            .trim_start_matches(':')
            .parse()
            .unwrap();
        assert!(
            ttl > 14 * day_ms,
            "{key} lives {ttl} ms, less than the DLQ's 14 days"
        );
    }
    clock.advance_ms(3 * day_ms);
    let redriven = app
        .handle(batch(vec![message("redriven", &body(&e))]), None)
        .await;
    assert!(failed_ids(&redriven).is_empty());
    assert_eq!(hook.count(), 1, "a redrive 3 days later notifies nobody");

    // Never delivered, redriven 3 days after its time: delivered, marked late.
    let old = alert(AlertRule::PegDeviation, Severity::Warning, "price:dai", 2);
    app.handle(batch(vec![message("old", &body(&old))]), None)
        .await;
    assert_eq!(hook.count(), 2);
    let late = hook.requests()[1].json();
    assert_eq!(late["late"], true);
    assert!(
        late["title"].as_str().unwrap().ends_with("(late: 3d old)"),
        "{}",
        late["title"]
    );
    assert_eq!(app.metrics.totals()["hook"].delivered_late, 1);
    // The real alert of now is not held back by the late one's repeat interval.
    let now = alert(
        AlertRule::PegDeviation,
        Severity::Warning,
        "price:dai",
        3 * 24 * 3600,
    );
    app.handle(batch(vec![message("now", &body(&now))]), None)
        .await;
    assert_eq!(
        hook.count(),
        3,
        "the repeat interval runs from the alerts' own time"
    );
    assert_eq!(hook.requests()[2].json()["late"], false);
}
