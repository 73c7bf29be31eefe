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
