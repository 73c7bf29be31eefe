//! Scheduled ticks end to end: DynamoDB in, Redis channels and streams, SQS, watermark.

use detector::handler::{TickSummary, scheduled_event};
use pulse_core::event::{EventType, SqsAlertBody};
use pulse_tests::Stack;
use pulse_tests::fixtures::{expected_events, ids_of, now, price_items, tvl_items};
use pulse_tests::pubsub::Listener;
use pulse_tests::queues::alert_ids;
use pulse_tests::tables::{BUCKET_INDEX, COINS_TABLE, EVENTS_TABLE};
use serde_json::{Value, json};
use std::collections::HashSet;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tick_publishes_events_sends_alerts_and_advances_the_watermark() {
    let stack = Stack::start().await;
    let t0 = now() - 900;
    let prices = price_items(3, t0, 1.3);
    let tvl = tvl_items(2, t0);
    stack.put(COINS_TABLE, &prices).await;
    stack.put(EVENTS_TABLE, &tvl).await;
    let all: Vec<Value> = prices.iter().chain(&tvl).cloned().collect();
    let expected = expected_events(&all, now());
    let expected_alerts = ids_of(&expected, Some(EventType::Alert));
    assert!(
        expected_alerts.len() >= 5,
        "fixture makes alerts: {expected_alerts:?}"
    );

    let listener = Listener::start(&stack.redis().url()).await;
    let detector = stack.detector().await;
    let out = detector.handle(&scheduled_event()).await.unwrap();
    let summary: TickSummary = serde_json::from_value(out).unwrap();
    assert_eq!(summary.records, all.len());
    assert_eq!(summary.rejected, 0);
    assert_eq!(summary.events, expected.len());
    assert_eq!(summary.alerts_sent, expected_alerts.len());
    assert_eq!(summary.watermark, Some(t0 + 60));

    // Every event on every one of its channels, once.
    let channel_count: usize = expected.iter().map(|e| e.channels().len()).sum();
    let messages = listener.wait_for(channel_count).await;
    assert_eq!(messages.len(), channel_count);
    let by_event = Listener::by_event(&messages);
    for event in &expected {
        let mut got = by_event[&event.event_id.to_string()].clone();
        let mut want = event.channels();
        got.sort();
        want.sort();
        assert_eq!(got, want, "channels of {}", event.event_id);
    }
    // And in the replay streams, by general channel.
    let prices_stream: HashSet<String> = stack
        .stream_ids("stream:events:prices")
        .await
        .into_iter()
        .collect();
    assert_eq!(
        prices_stream,
        ids_of(&expected, Some(EventType::PriceUpdate))
    );
    let alerts_stream: HashSet<String> = stack
        .stream_ids("stream:events:alerts")
        .await
        .into_iter()
        .collect();
    assert_eq!(alerts_stream, expected_alerts);

    // Alerts on SQS with SPEC bodies and attributes.
    let messages = stack.drain_alerts().await;
    assert_eq!(messages.len(), expected_alerts.len());
    for m in &messages {
        let body: SqsAlertBody = serde_json::from_str(m.body().unwrap()).unwrap();
        let raw: Value = serde_json::from_str(m.body().unwrap()).unwrap();
        assert!(raw.get("priority").is_some() && raw.get("retryCount").is_some());
        let alert = body.event.alert().unwrap();
        let attrs = m.message_attributes().unwrap();
        let attr = |k: &str| {
            attrs
                .get(k)
                .and_then(|a| a.string_value())
                .map(str::to_string)
        };
        assert_eq!(attr("eventType").as_deref(), Some("alert"));
        assert_eq!(attr("severity").as_deref(), Some(alert.severity.as_str()));
        assert_eq!(attr("tokenId"), alert.token_id);
        assert_eq!(attr("protocolId"), alert.protocol_id);
        assert!(expected_alerts.contains(&body.event.event_id.to_string()));
    }

    let dlq = stack.queues().drain(&stack.queues().dlq_url).await;
    assert!(dlq.is_empty(), "nothing dead-lettered");

    // Watermark, current values (1 h TTL) and history (2 points).
    assert_eq!(stack.watermark().await, Some(t0 + 60));
    let mut c = stack.redis_client().await;
    let price: String = redis::cmd("GET")
        .arg("price:coingecko:tok-0")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&price).unwrap()["price"],
        json!(130.0)
    );
    let ttl: i64 = redis::cmd("TTL")
        .arg("price:coingecko:tok-0")
        .query_async(&mut c)
        .await
        .unwrap();
    assert!((1..=3600).contains(&ttl), "ttl {ttl}");
    let chain: String = redis::cmd("GET")
        .arg("tvl:1000:ethereum")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(&chain).unwrap()["tvl"],
        json!(75_000_000.0)
    );
    let points: i64 = redis::cmd("ZCARD")
        .arg("price:coingecko:tok-0:history")
        .query_async(&mut c)
        .await
        .unwrap();
    assert_eq!(points, 2);

    // A second tick re-reads the overlap: nothing new is published or sent.
    let out = detector.handle(&scheduled_event()).await.unwrap();
    let again: TickSummary = serde_json::from_value(out).unwrap();
    assert_eq!(
        again.records,
        all.len(),
        "the overlap re-reads the same records"
    );
    assert_eq!(again.events, 0, "all stale");
    assert!(stack.drain_alerts().await.is_empty());
    assert_eq!(
        listener.wait_for(channel_count + 1).await.len(),
        channel_count
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_round_trips_per_tick_are_constant() {
    let stack = Stack::start().await;
    let detector = stack.detector().await;
    let mut per_tick = Vec::new();
    let mut commands = Vec::new();
    for (round, tokens) in [(0, 5usize), (1, 100)] {
        let t0 = now() - 1800 + round * 120;
        let mut items = price_items(tokens, t0, 1.3);
        for item in &mut items {
            item["PK"] = json!(format!("{}-r{round}", item["PK"].as_str().unwrap()));
        }
        stack.put(COINS_TABLE, &items).await;
        stack.redis().command("CONFIG RESETSTAT");
        let before = detector.store.round_trips();
        let summary: TickSummary =
            serde_json::from_value(detector.handle(&scheduled_event()).await.unwrap()).unwrap();
        assert!(summary.alerts_sent >= tokens, "{summary:?}");
        per_tick.push(detector.store.round_trips() - before);
        commands.push(command_calls(&stack.redis().command("INFO commandstats")));
    }
    // EVAL lease, MGET state check, EVAL watermark per table (2), then one chunk: MGET
    // states, EVALSHA publish, MGET sent markers, SET markers pipeline, WATCH + GET lease,
    // MULTI/EXEC commit; EVAL release: 12 round trips, for 10 records as for 200.
    assert_eq!(per_tick, vec![12, 12], "round trips per tick");
    // (`get` is left out: the first tick that finds SPEC's watermark seeds a table's own
    // watermark from it, one GET more, once.)
    for name in ["mget", "multi", "exec"] {
        assert_eq!(
            commands[0].get(name),
            commands[1].get(name),
            "{name}: {commands:?}"
        );
    }
    assert_eq!(commands[1].get("mget"), Some(&3));
    assert_eq!(commands[1].get("exec"), Some(&1));
    eprintln!("commandstats per tick (100 tokens): {:?}", commands[1]);
}

fn command_calls(info: &str) -> std::collections::BTreeMap<String, u64> {
    info.lines()
        .filter_map(|l| {
            let rest = l.strip_prefix("cmdstat_")?;
            let (name, stats) = rest.split_once(':')?;
            let calls = stats.split(',').find_map(|kv| kv.strip_prefix("calls="))?;
            Some((name.to_string(), calls.parse().ok()?))
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn malformed_items_are_counted_and_the_rest_processed() {
    let stack = Stack::start().await;
    let t0 = now() - 600;
    let good = price_items(2, t0, 1.3);
    let bad = vec![
        json!({"PK": "coingecko#bad-price", "SK": t0, "price": "abc"}),
        json!({"PK": "coingecko#negative", "SK": t0, "price": -1.0}),
        json!({"PK": "nonsense", "SK": t0, "price": 1.0}),
        json!({"PK": "coingecko#no-price", "SK": t0}),
        json!({"PK": "coingecko#zero", "SK": t0, "price": 0}),
    ];
    stack.put(COINS_TABLE, &good).await;
    stack.put(COINS_TABLE, &bad).await;
    let expected = expected_events(&good, now());
    let detector = stack.detector().await;
    let summary: TickSummary =
        serde_json::from_value(detector.handle(&scheduled_event()).await.unwrap()).unwrap();
    assert_eq!(summary.items, good.len() + bad.len());
    assert_eq!(summary.rejected, bad.len() as u64);
    assert_eq!(summary.events, expected.len());
    assert_eq!(
        alert_ids(&stack.drain_alerts().await)
            .into_iter()
            .collect::<HashSet<_>>(),
        ids_of(&expected, Some(EventType::Alert))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn time_bucket_index_reads_only_since_the_watermark() {
    let stack = Stack::builder()
        .redis()
        .tables_with_bucket_index()
        .queues()
        .start()
        .await;
    let mut settings = stack.detector_settings();
    settings.read_mode = pulse_adapters::dynamodb::ReadMode::TimeBucketIndex {
        index: BUCKET_INDEX.into(),
    };
    settings.scan_overlap_secs = 0;
    let mut detector = detector::handler::build(&settings, stack.aws())
        .await
        .unwrap();
    detector.metrics = detector::handler::Metrics::Off;
    let t0 = now() - 3000;
    let items = tvl_items(3, t0);
    stack.put_bucketed(EVENTS_TABLE, &items).await;
    let first: TickSummary =
        serde_json::from_value(detector.handle(&scheduled_event()).await.unwrap()).unwrap();
    assert_eq!(first.records, items.len());
    assert_eq!(first.watermark, Some(t0 + 60));
    let mut c = stack.redis_client().await;
    let current: String = redis::cmd("GET")
        .arg("tvl:1000")
        .query_async(&mut c)
        .await
        .unwrap();
    let chains = serde_json::from_str::<Value>(&current).unwrap()["chains"].clone();
    assert_eq!(
        chains,
        json!({"arbitrum": 25_000_000.0, "ethereum": 75_000_000.0}),
        "the index attribute is not a chain"
    );
    let later = tvl_items(1, t0 + 1200);
    stack.put_bucketed(EVENTS_TABLE, &later).await;
    let second: TickSummary =
        serde_json::from_value(detector.handle(&scheduled_event()).await.unwrap()).unwrap();
    // Only items with SK >= the watermark: the three newest of the first tick (each
    // protocol's second record) and the two new ones; not the three older ones.
    assert_eq!(second.records, 3 + later.len(), "{second:?}");
    assert_eq!(second.watermark, Some(t0 + 1260));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scan_paginates_past_one_page() {
    let stack = Stack::start().await;
    // ~600 items of ~2 KB: well over DynamoDB's 1 MB page.
    let t0 = now() - 1200;
    let pad = "x".repeat(2000);
    let items: Vec<Value> = (0..600)
        .map(|i| {
            json!({"PK": format!("coingecko#pad-{i}"), "SK": t0 + i, "price": 1.5, "symbol": "PAD", "note": pad})
        })
        .collect();
    stack.put(COINS_TABLE, &items).await;
    let mut detector = stack.detector().await;
    detector.source.mode = pulse_adapters::dynamodb::ReadMode::Scan { segments: 1 };
    let summary: TickSummary =
        serde_json::from_value(detector.handle(&scheduled_event()).await.unwrap()).unwrap();
    assert_eq!(summary.records, items.len());
    assert!(summary.dynamodb_pages >= 2, "{summary:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redis_auth_token_comes_from_ssm() {
    let stack = Stack::start().await;
    let ssm = aws_sdk_ssm::Client::new(stack.aws());
    ssm.put_parameter()
        .name("/pulse/redis-auth")
        .value("s3cret-token")
        .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
        .send()
        .await
        .unwrap();
    stack.redis().command("CONFIG SET requirepass s3cret-token");
    let mut settings = stack.detector_settings();
    let err = detector::handler::build(&settings, stack.aws())
        .await
        .expect_err("no AUTH, no connection");
    assert!(
        !err.to_string().contains("s3cret"),
        "no secret in errors: {err}"
    );
    settings.redis_auth_parameter = Some("/pulse/redis-auth".into());
    let detector = detector::handler::build(&settings, stack.aws())
        .await
        .unwrap();
    assert!(format!("{:?}", detector.store).contains("RedisPorts"));
    assert!(
        !format!("{detector:?}").contains("s3cret"),
        "no secret in Debug"
    );
    stack
        .put(COINS_TABLE, &price_items(1, now() - 600, 1.3))
        .await;
    let summary: TickSummary =
        serde_json::from_value(detector.handle(&scheduled_event()).await.unwrap()).unwrap();
    assert_eq!(summary.records, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_reach_cloudwatch_through_put_metric_data() {
    let stack = Stack::start().await;
    let mut settings = stack.detector_settings();
    settings.metrics_mode = detector::settings::MetricsMode::Api;
    let detector = detector::handler::build(&settings, stack.aws())
        .await
        .unwrap();
    let mut items = price_items(2, now() - 600, 1.3);
    items.push(json!({"PK": "coingecko#broken", "SK": now() - 600, "price": "NaN?"}));
    stack.put(COINS_TABLE, &items).await;
    detector.handle(&scheduled_event()).await.unwrap();
    let cw = aws_sdk_cloudwatch::Client::new(stack.aws());
    let metrics = cw
        .list_metrics()
        .namespace("PulseTest")
        .send()
        .await
        .unwrap()
        .metrics
        .unwrap_or_default();
    let names: HashSet<String> = metrics
        .iter()
        .filter_map(|m| m.metric_name().map(str::to_string))
        .collect();
    for name in [
        "RecordsProcessed",
        "RecordsRejected",
        "Events",
        "Alerts",
        "Duration",
        "Lag",
    ] {
        assert!(names.contains(name), "{name} missing from {names:?}");
    }
    let reasons: HashSet<String> = metrics
        .iter()
        .flat_map(|m| m.dimensions())
        .filter(|d| d.name() == Some("Reason"))
        .filter_map(|d| d.value().map(str::to_string))
        .collect();
    assert_eq!(reasons.len(), 1, "{reasons:?}");
}

/// Sections are parts of a protocol's TVL, not chains: the current value keeps them apart
/// and they get no `tvl:{pid}:{chain}` key of their own.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn current_values_keep_sections_apart_from_chains() {
    let stack = Stack::start().await;
    let t0 = now() - 600;
    let item = json!({
        "PK": "hourlyTvl#777", "SK": t0, "tvl": 5e8, "ethereum": 5e8,
        "borrowed": 1e8, "ethereum-staking": 2e7, "source": "tvl-adapter",
    });
    stack.put(EVENTS_TABLE, &[item]).await;
    stack.detector().await.tick().await.unwrap();
    let mut c = stack.redis_client().await;
    let get = |key: &str| redis::cmd("GET").arg(key).clone();
    let total: String = get("tvl:777").query_async(&mut c).await.unwrap();
    let total: Value = serde_json::from_str(&total).unwrap();
    assert_eq!(total["chains"], json!({"ethereum": 5e8}));
    assert_eq!(
        total["sections"],
        json!({"borrowed": 1e8, "ethereum-staking": 2e7})
    );
    let chain: Option<String> = get("tvl:777:ethereum").query_async(&mut c).await.unwrap();
    assert!(chain.is_some());
    for section in ["tvl:777:borrowed", "tvl:777:ethereum-staking"] {
        let v: Option<String> = get(section).query_async(&mut c).await.unwrap();
        assert_eq!(v, None, "{section}");
    }
}
