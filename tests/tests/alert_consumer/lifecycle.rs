//! The incident lifecycle: a resolve reaches every receiver that got its episode's trigger
//! (PagerDuty `resolve` with the trigger's `dedup_key`, whatever the severity routing), a
//! trigger older than its episode's resolve is dropped, and the next episode is news again.

use pulse_core::event::{AlertRule, AlertStatus, Event, Severity};
use pulse_tests::RedisServer;
use pulse_tests::fixtures::{alert, batch, body, failed_ids, message, with_alert};
use pulse_tests::{FakeReceiver, consumer};

/// A consumer on its own Redis with the three receivers of [`routes`].
struct Setup {
    redis: RedisServer,
    pager: FakeReceiver,
    hook: FakeReceiver,
    slack: FakeReceiver,
    app: alert_consumer::App<pulse_adapters::redis::RedisStore>,
}

async fn start() -> Setup {
    let redis = RedisServer::start();
    let (pager, hook, slack) = (
        FakeReceiver::start().await,
        FakeReceiver::start().await,
        FakeReceiver::start().await,
    );
    let (app, _clock) = consumer(&routes(&pager, &hook, &slack), &redis.url()).await;
    Setup {
        redis,
        pager,
        hook,
        slack,
        app,
    }
}

/// PagerDuty gets critical alerts only; the webhook and Slack get everything.
fn routes(pager: &FakeReceiver, hook: &FakeReceiver, slack: &FakeReceiver) -> String {
    format!(
        r#"
        [defaults]
        timeout = "2s"
        [route]
        receivers = ["hook", "slack"]
        [[route.routes]]
        match = {{ severity = ["critical"] }}
        receivers = ["pager"]
        continue = true
        [[route.routes]]
        receivers = ["hook", "slack"]
        [receivers.pager]
        kind = "pagerduty"
        routing_key = {{ value = "rk" }}
        api_base = "{}"
        [receivers.hook]
        kind = "webhook"
        url = {{ value = "{}" }}
        [receivers.slack]
        kind = "slack"
        url = {{ value = "{}" }}
        "#,
        pager.base(),
        hook.url("/hook"),
        slack.url("/slack"),
    )
}

/// The resolve of `trigger`'s episode at `T0 + n` s, as the detector makes it (info, level 0).
fn resolve_of(key: &str, n: i64) -> Event {
    with_alert(alert(AlertRule::PriceMove, Severity::Info, key, n), |a| {
        a.status = AlertStatus::Resolved;
        a.level = 0;
        a.message = "back within its price move thresholds".into();
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cleared_window_alert_resolves_the_incident_its_trigger_opened() {
    let Setup {
        redis: _redis,
        pager,
        hook,
        slack,
        app,
    } = start().await;
    let key = "price:coingecko:weth";
    let send = |e: &Event, id: &str| app.handle(batch(vec![message(id, &body(e))]), None);

    let trigger = alert(AlertRule::PriceMove, Severity::Critical, key, 10);
    assert!(failed_ids(&send(&trigger, "trigger").await).is_empty());
    assert_eq!((pager.count(), hook.count(), slack.count()), (1, 1, 1));
    let opened = pager.requests()[0].json();
    assert_eq!(opened["event_action"], "trigger");

    // Info is not routed to PagerDuty, but PagerDuty got the trigger: it gets the resolve.
    let resolve = resolve_of(key, 600);
    assert!(failed_ids(&send(&resolve, "resolve").await).is_empty());
    assert_eq!(pager.count(), 2, "the resolve reached PagerDuty");
    let closed = pager.requests()[1].json();
    assert_eq!(closed["event_action"], "resolve");
    assert_eq!(closed["dedup_key"], opened["dedup_key"]);
    assert_eq!(closed["dedup_key"], format!("{key}:price_move"));
    assert_eq!(hook.requests()[1].json()["status"], "resolved");
    assert_eq!(hook.requests()[0].json()["status"], "firing");
    let text = slack.requests()[1].json()["text"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(text.starts_with("[RESOLVED] "), "{text}");

    // A trigger of that episode arriving after its resolve (a retry, a redrive) would reopen
    // the incident: dropped and counted.
    let late = alert(AlertRule::PriceMove, Severity::Critical, key, 300);
    assert!(failed_ids(&send(&late, "late-trigger").await).is_empty());
    assert_eq!((pager.count(), hook.count(), slack.count()), (2, 2, 2));
    assert_eq!(app.metrics.totals()["pager"].suppressed_stale, 1);

    // The next episode, within the repeat interval of the first trigger: news again.
    let next = alert(AlertRule::PriceMove, Severity::Critical, key, 900);
    assert!(failed_ids(&send(&next, "next").await).is_empty());
    assert_eq!(
        pager.count(),
        3,
        "a resolved incident does not mute the next one"
    );
    assert_eq!(pager.requests()[2].json()["event_action"], "trigger");
    // Its resolve goes to PagerDuty once more; a redelivered resolve notifies nobody.
    let resolve = resolve_of(key, 1200);
    send(&resolve, "resolve-2").await;
    send(&resolve, "resolve-2-again").await;
    assert_eq!(pager.count(), 4);
    assert_eq!(pager.requests()[3].json()["event_action"], "resolve");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resolve_skips_receivers_that_never_got_the_trigger_but_follows_routing() {
    let Setup {
        redis: _redis,
        pager,
        hook,
        slack,
        app,
    } = start().await;
    let key = "price:coingecko:wbtc";
    // A warning trigger never reached PagerDuty: its resolve does not go there either.
    let trigger = alert(AlertRule::PriceMove, Severity::Warning, key, 10);
    app.handle(batch(vec![message("t", &body(&trigger))]), None)
        .await;
    let resolve = resolve_of(key, 600);
    app.handle(batch(vec![message("r", &body(&resolve))]), None)
        .await;
    assert_eq!((pager.count(), hook.count(), slack.count()), (0, 2, 2));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trigger_and_its_resolve_in_one_batch_both_reach_every_receiver() {
    let Setup {
        redis: _redis,
        pager,
        hook,
        slack,
        app,
    } = start().await;
    let key = "price:coingecko:dai";
    // The resolve first in the batch, as SQS may hand them out: the trigger is still news, and
    // PagerDuty, which only the critical trigger is routed to, gets the resolve as well.
    let trigger = alert(AlertRule::PriceMove, Severity::Critical, key, 10);
    let resolve = resolve_of(key, 600);
    let response = app
        .handle(
            batch(vec![
                message("r", &body(&resolve)),
                message("t", &body(&trigger)),
            ]),
            None,
        )
        .await;
    assert!(failed_ids(&response).is_empty());
    assert_eq!((pager.count(), hook.count(), slack.count()), (2, 2, 2));
    let actions: Vec<_> = pager
        .requests()
        .iter()
        .map(|r| r.json()["event_action"].clone())
        .collect();
    assert_eq!(actions, ["trigger", "resolve"]);
    assert_eq!(hook.requests()[1].json()["status"], "resolved");
    assert_eq!(app.metrics.totals()["pager"].suppressed_stale, 0);
}
