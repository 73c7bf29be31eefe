//! Repeat interval, escalation and silences, with time set by the test.

use pulse_core::event::{AlertRule, Severity};
use pulse_tests::RedisServer;
use pulse_tests::fixtures::{T0, alert, batch, body, failed_ids, message, one_webhook};
use pulse_tests::{FakeReceiver, consumer};

const MIN: i64 = 60_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeat_interval_escalation_and_silences() {
    let redis = RedisServer::start();
    let hook = FakeReceiver::start().await;
    // A silence on one token for the first hour after T0.
    let silence = format!(
        r#"
        [[silences]]
        match = {{ tokenId = ["coingecko:muted"] }}
        expires = {}
        comment = "known issue"
        "#,
        (T0 + 60 * MIN) / 1000
    );
    let (app, clock) = consumer(&one_webhook(&hook.url("/hook"), &silence), &redis.url()).await;
    let key = "price:coingecko:usdc";
    let mut n = 0;
    let mut send = |severity: Severity, key: &str| {
        n += 1;
        let e = alert(AlertRule::PegDeviation, severity, key, n);
        batch(vec![message(&format!("m{n}"), &body(&e))])
    };

    assert!(failed_ids(&app.handle(send(Severity::Warning, key), None).await).is_empty());
    assert_eq!(hook.count(), 1);
    clock.advance_ms(10 * MIN);
    app.handle(send(Severity::Warning, key), None).await;
    assert_eq!(hook.count(), 1, "same severity within the hour: suppressed");
    clock.advance_ms(10 * MIN);
    app.handle(send(Severity::Critical, key), None).await;
    assert_eq!(hook.count(), 2, "severity rose: sent");
    assert!(
        hook.requests()[1].json()["title"]
            .as_str()
            .unwrap()
            .ends_with("(escalated)")
    );
    clock.advance_ms(10 * MIN);
    app.handle(send(Severity::Critical, key), None).await;
    app.handle(send(Severity::Warning, key), None).await;
    assert_eq!(hook.count(), 2, "same or lower severity: suppressed");
    clock.advance_ms(61 * MIN);
    app.handle(send(Severity::Warning, key), None).await;
    assert_eq!(hook.count(), 3, "an hour after the last one: sent again");
    // Another rule on the same key has its own interval.
    let other = alert(AlertRule::PriceMove, Severity::Warning, key, 99);
    app.handle(batch(vec![message("other", &body(&other))]), None)
        .await;
    assert_eq!(hook.count(), 4);

    // Silences: muted until the expiry, then delivered.
    clock.set(T0 + 30 * MIN);
    app.handle(send(Severity::Critical, "price:coingecko:muted"), None)
        .await;
    assert_eq!(hook.count(), 4, "silenced");
    clock.set(T0 + 60 * MIN);
    app.handle(send(Severity::Critical, "price:coingecko:muted"), None)
        .await;
    assert_eq!(hook.count(), 5, "silence expired");

    let t = &app.metrics.totals()["hook"];
    assert_eq!(
        (t.suppressed_cooldown, t.suppressed_silence, t.delivered),
        (3, 1, 5)
    );
}
