//! Repeat interval (from the alerts' own time), escalation by severity and by level, and
//! silences, with time set by the test.

use pulse_core::event::{AlertRule, Severity};
use pulse_tests::RedisServer;
use pulse_tests::fixtures::{T0, alert, batch, body, failed_ids, message, one_webhook, with_alert};
use pulse_tests::{FakeReceiver, consumer};

const MIN: i64 = 60;

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
        T0 / 1000 + 60 * MIN
    );
    let (app, clock) = consumer(&one_webhook(&hook.url("/hook"), &silence), &redis.url()).await;
    let key = "price:coingecko:usdc";
    // An alert at T0 + `secs`: the repeat interval runs on the alerts' own time.
    let send = |severity: Severity, key: &str, secs: i64| {
        let e = alert(AlertRule::PegDeviation, severity, key, secs);
        app.handle(batch(vec![message(&format!("m{secs}"), &body(&e))]), None)
    };

    assert!(failed_ids(&send(Severity::Warning, key, 0).await).is_empty());
    assert_eq!(hook.count(), 1);
    send(Severity::Warning, key, 10 * MIN).await;
    assert_eq!(hook.count(), 1, "same severity within the hour: suppressed");
    send(Severity::Critical, key, 20 * MIN).await;
    assert_eq!(hook.count(), 2, "severity rose: sent");
    assert!(
        hook.requests()[1].json()["title"]
            .as_str()
            .unwrap()
            .ends_with("(escalated)")
    );
    send(Severity::Critical, key, 30 * MIN).await;
    send(Severity::Warning, key, 30 * MIN + 1).await;
    assert_eq!(hook.count(), 2, "same or lower severity: suppressed");
    send(Severity::Warning, key, 81 * MIN).await;
    assert_eq!(hook.count(), 3, "an hour after the last one: sent again");
    // Another rule on the same key has its own interval.
    let other = alert(AlertRule::PriceMove, Severity::Warning, key, 82 * MIN);
    app.handle(batch(vec![message("other", &body(&other))]), None)
        .await;
    assert_eq!(hook.count(), 4);

    // Silences (on the consumer's clock): muted until the expiry, then delivered.
    clock.set(T0 + 30 * MIN * 1000);
    send(Severity::Critical, "price:coingecko:muted", 30 * MIN).await;
    assert_eq!(hook.count(), 4, "silenced");
    clock.set(T0 + 60 * MIN * 1000);
    send(Severity::Critical, "price:coingecko:muted", 60 * MIN).await;
    assert_eq!(hook.count(), 5, "silence expired");

    let t = &app.metrics.totals()["hook"];
    assert_eq!(
        (t.suppressed_cooldown, t.suppressed_silence, t.delivered),
        (3, 1, 5)
    );
}

/// A depeg deepening from 5 % to 10 % to 25 % within the hour: levels 2, 3 and 4 of the
/// default peg levels (2, 5, 10, 25 %), all critical. Each deeper level goes out.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deepening_depeg_alerts_at_every_level() {
    let redis = RedisServer::start();
    let hook = FakeReceiver::start().await;
    let (app, _clock) = consumer(&one_webhook(&hook.url("/hook"), ""), &redis.url()).await;
    let key = "price:coingecko:usd-coin";
    for (i, (level, percent)) in [(2u8, 5.0), (3, 10.0), (4, 25.0)].into_iter().enumerate() {
        let e = with_alert(
            alert(
                AlertRule::PegDeviation,
                Severity::Critical,
                key,
                i as i64 * 10 * MIN,
            ),
            |a| {
                a.level = level;
                a.threshold_percent = percent;
                a.value = 1.0 - percent / 100.0;
            },
        );
        let r = app
            .handle(batch(vec![message(&format!("m{i}"), &body(&e))]), None)
            .await;
        assert!(failed_ids(&r).is_empty());
    }
    assert_eq!(hook.count(), 3, "one alert per level");
    let escalated: Vec<bool> = hook
        .requests()
        .iter()
        .map(|r| r.json()["escalation"].as_bool().unwrap())
        .collect();
    assert_eq!(escalated, vec![false, true, true]);
    // The same level again within the hour: held back.
    let again = with_alert(
        alert(AlertRule::PegDeviation, Severity::Critical, key, 40 * MIN),
        |a| a.level = 4,
    );
    app.handle(batch(vec![message("again", &body(&again))]), None)
        .await;
    assert_eq!(hook.count(), 3);
}
