//! Messages really received from the emulated queue, delivered to every kind of receiver;
//! the recorded requests are checked (bodies, signature, headers).

use hmac::{Hmac, KeyInit, Mac};
use pulse_core::event::{AlertRule, Severity};
use pulse_tests::RedisServer;
use pulse_tests::fixtures::{alert, batch, body, failed_ids, message};
use pulse_tests::{FakeReceiver, Stack, consumer};
use sha2::Sha256;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queue_messages_reach_every_receiver_kind() {
    let stack = Stack::builder().redis().queues().start().await;
    let redis = stack.redis();
    let (hook, slack, discord, telegram, pager) = (
        FakeReceiver::start().await,
        FakeReceiver::start().await,
        FakeReceiver::start().await,
        FakeReceiver::start().await,
        FakeReceiver::start().await,
    );
    let routes = format!(
        r#"
        [route]
        receivers = ["hook", "slack", "discord", "telegram", "pager"]
        [receivers.hook]
        kind = "webhook"
        url = {{ value = "{}" }}
        secret = {{ value = "s3cret" }}
        [receivers.slack]
        kind = "slack"
        url = {{ value = "{}" }}
        [receivers.discord]
        kind = "discord"
        url = {{ value = "{}" }}
        [receivers.telegram]
        kind = "telegram"
        token = {{ value = "123:abc" }}
        chat_id = "-100"
        api_base = "{}"
        [receivers.pager]
        kind = "pagerduty"
        routing_key = {{ value = "rk-1" }}
        api_base = "{}"
        "#,
        hook.url("/hook"),
        slack.url("/services/T/B/X"),
        discord.url("/api/webhooks/1/x"),
        telegram.base(),
        pager.base(),
    );
    let (app, _clock) = consumer(&routes, &redis.url()).await;
    let q = stack.queues();
    let deviation = alert(
        AlertRule::PegDeviation,
        Severity::Critical,
        "price:coingecko:usd-coin",
        1,
    );
    q.send(&[body(&deviation)]).await;
    let event = q.receive_event(&q.url).await;
    assert_eq!(event.records.len(), 1);
    assert_eq!(event.records[0].attributes["ApproximateReceiveCount"], "1");
    let response = app.handle(event.clone(), None).await;
    assert!(failed_ids(&response).is_empty());
    q.settle(&event, &[]).await;

    let id = deviation.event_id.to_string();
    // Webhook: JSON, signature over the exact bytes, idempotency key.
    let r = &hook.requests()[0];
    assert_eq!((r.method.as_str(), r.path.as_str()), ("POST", "/hook"));
    assert_eq!(r.header("content-type"), Some("application/json"));
    assert_eq!(r.header("idempotency-key"), Some(id.as_str()));
    let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(b"s3cret").unwrap();
    mac.update(&r.body);
    let expected = hex::encode(mac.finalize().into_bytes());
    assert_eq!(r.header("x-signature"), Some(expected.as_str()));
    let b = r.json();
    assert_eq!(b["eventId"], id);
    assert_eq!(b["event"]["eventType"], "alert");
    assert_eq!(b["event"]["data"]["rule"], "peg_deviation");
    assert_eq!(b["title"], "[CRITICAL] USDC: peg deviation");
    // Slack blocks.
    let b = slack.requests()[0].json();
    assert_eq!(slack.requests()[0].path, "/services/T/B/X");
    assert_eq!(
        b["blocks"][0]["text"]["text"],
        "[CRITICAL] USDC: peg deviation"
    );
    assert!(
        b["blocks"][1]["text"]["text"]
            .as_str()
            .unwrap()
            .contains("-3.00%")
    );
    // Discord embed.
    let b = discord.requests()[0].json();
    assert_eq!(b["embeds"][0]["title"], "[CRITICAL] USDC: peg deviation");
    assert_eq!(b["embeds"][0]["fields"][1]["value"], "-3.00%");
    // Telegram sendMessage.
    let r = &telegram.requests()[0];
    assert_eq!(r.path, "/bot123:abc/sendMessage");
    assert_eq!(r.json()["chat_id"], "-100");
    assert!(
        r.json()["text"]
            .as_str()
            .unwrap()
            .starts_with("[CRITICAL] USDC")
    );
    // PagerDuty trigger.
    let r = &pager.requests()[0];
    assert_eq!(r.path, "/v2/enqueue");
    let trigger = r.json();
    assert_eq!(trigger["event_action"], "trigger");
    assert_eq!(trigger["routing_key"], "rk-1");
    assert_eq!(
        trigger["dedup_key"],
        "price:coingecko:usd-coin:peg_deviation"
    );

    // The recovery resolves the same incident.
    let recovery = alert(
        AlertRule::PegRecovery,
        Severity::Info,
        "price:coingecko:usd-coin",
        2,
    );
    q.send(&[body(&recovery)]).await;
    let event = q.receive_event(&q.url).await;
    let response = app.handle(event.clone(), None).await;
    assert!(failed_ids(&response).is_empty());
    let resolve = pager.requests()[1].json();
    assert_eq!(resolve["event_action"], "resolve");
    assert_eq!(resolve["dedup_key"], trigger["dedup_key"]);
    for r in [&hook, &slack, &discord, &telegram, &pager] {
        assert_eq!(r.count(), 2);
    }
    let totals = app.metrics.totals();
    assert_eq!(totals["pager"].delivered, 2);
    assert_eq!(totals["pager"].latency_ms.len(), 2);
    // No secret in the application's debug output.
    let debug = format!("{app:?}");
    for secret in ["s3cret", "123:abc", "rk-1", "/services/T/B/X"] {
        assert!(!debug.contains(secret), "{secret} printed");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routing_tree_picks_receivers_per_alert() {
    let redis = RedisServer::start();
    let (pager, stables, fallback) = (
        FakeReceiver::start().await,
        FakeReceiver::start().await,
        FakeReceiver::start().await,
    );
    let routes = format!(
        r#"
        [route]
        receivers = ["fallback"]
        [[route.routes]]
        match = {{ severity = ["critical"] }}
        receivers = ["pager"]
        continue = true
        [[route.routes]]
        match = {{ rule = ["peg_deviation"], tags = ["token"] }}
        receivers = ["stables"]
        [receivers.pager]
        kind = "webhook"
        url = {{ value = "{}" }}
        [receivers.stables]
        kind = "webhook"
        url = {{ value = "{}" }}
        [receivers.fallback]
        kind = "webhook"
        url = {{ value = "{}" }}
        "#,
        pager.url("/"),
        stables.url("/"),
        fallback.url("/"),
    );
    let (app, _) = consumer(&routes, &redis.url()).await;
    let critical_peg = alert(AlertRule::PegDeviation, Severity::Critical, "price:a", 1);
    let warning_peg = alert(AlertRule::PegDeviation, Severity::Warning, "price:b", 2);
    let critical_move = alert(AlertRule::PriceMove, Severity::Critical, "price:c", 3);
    let info_move = alert(AlertRule::PriceMove, Severity::Info, "price:d", 4);
    let msgs = [&critical_peg, &warning_peg, &critical_move, &info_move]
        .iter()
        .enumerate()
        .map(|(i, e)| message(&format!("m{i}"), &body(e)))
        .collect();
    let response = app.handle(batch(msgs), None).await;
    assert!(failed_ids(&response).is_empty());
    let ids = |r: &FakeReceiver| {
        let mut v: Vec<String> = r
            .requests()
            .iter()
            .map(|q| q.json()["key"].as_str().unwrap().to_string())
            .collect();
        v.sort();
        v
    };
    assert_eq!(ids(&pager), ["price:a", "price:c"]);
    assert_eq!(ids(&stables), ["price:a", "price:b"]);
    assert_eq!(
        ids(&fallback),
        ["price:d"],
        "a matching `continue` child stops the default"
    );
}
