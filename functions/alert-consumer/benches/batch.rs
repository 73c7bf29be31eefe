//! Handler time for a batch of 10 alerts, each routed to five receivers (webhook with HMAC,
//! Slack, Discord, Telegram, PagerDuty) answering 200 on loopback: 50 HTTP calls a batch.
//! Prints p50 and p99 of the handler time and the share of it spent outside the HTTP calls
//! (wall time with no request in flight: parsing, routing, templates, Redis, bookkeeping),
//! with the idempotency store in Redis (a local redis-server) and in memory.
//!
//!     cargo bench -p alert-consumer --bench batch > /dev/null
//!
//! (EMF metric lines go to stdout; the figures go to stderr.) The receivers' rate limits are
//! set far above what the bench sends, so each send pays its slot's store call but never
//! waits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use alert_consumer::App;
use alert_consumer::clock::SystemClock;
use alert_consumer::config::RoutesFile;
use alert_consumer::secrets::{NoSsm, Secret};
use alert_consumer::startup;
use aws_lambda_events::event::sqs::SqsEvent;
use pulse_adapters::redis::RedisStore;
use pulse_core::event::{AlertRule, Severity};
use pulse_core::ports::{AlertStore, MemoryAlertStore};
use pulse_tests::FakeReceiver;
use pulse_tests::fixtures::{alert, body, message};
use std::sync::Arc;
use std::time::{Duration, Instant};

const WARMUP: usize = 30;
const ROUNDS: usize = 300;

/// Ten peg alerts of one round, each on its own key.
fn batch(round: usize) -> SqsEvent {
    pulse_tests::fixtures::batch(
        (0..10)
            .map(|i| {
                let key = format!("price:coingecko:t{round}-{i}");
                let event = alert(
                    AlertRule::PegDeviation,
                    Severity::Critical,
                    &key,
                    round as i64,
                );
                message(&format!("{round}-{i}"), &body(&event))
            })
            .collect(),
    )
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

async fn run<S: AlertStore>(label: &str, app: &App<S>) {
    let mut handler = Vec::with_capacity(ROUNDS);
    let mut outside = Vec::with_capacity(ROUNDS);
    for round in 0..WARMUP + ROUNDS {
        let event = batch(round);
        app.http.take_network_time();
        let started = Instant::now();
        let response = app.handle(event, None).await;
        let elapsed = started.elapsed();
        let network = app.http.take_network_time();
        assert!(response.batch_item_failures.is_empty());
        if round >= WARMUP {
            handler.push(elapsed);
            outside.push(elapsed.saturating_sub(network));
        }
    }
    let total: Duration = handler.iter().sum();
    let out: Duration = outside.iter().sum();
    handler.sort();
    outside.sort();
    eprintln!(
        "{label:<16} batches={ROUNDS} p50={:>7.2?} p99={:>7.2?} | outside HTTP: p50={:>7.2?} p99={:>7.2?} share={:.0}%",
        percentile(&handler, 0.5),
        percentile(&handler, 0.99),
        percentile(&outside, 0.5),
        percentile(&outside, 0.99),
        100.0 * out.as_secs_f64() / total.as_secs_f64()
    );
}

fn routes(ports: &[u16]) -> RoutesFile {
    let base = |p: u16| format!("http://127.0.0.1:{p}");
    RoutesFile::parse(&format!(
        r#"
        [route]
        receivers = ["hook", "slack", "discord", "telegram", "pager"]
        [receivers.hook]
        kind = "webhook"
        rate_limit = "100000/s"
        rate_burst = 1000
        url = {{ value = "{}/hook" }}
        secret = {{ value = "k" }}
        [receivers.slack]
        kind = "slack"
        rate_limit = "100000/s"
        rate_burst = 1000
        url = {{ value = "{}/slack" }}
        [receivers.discord]
        kind = "discord"
        rate_limit = "100000/s"
        rate_burst = 1000
        url = {{ value = "{}/discord" }}
        [receivers.telegram]
        kind = "telegram"
        rate_limit = "100000/s"
        rate_burst = 1000
        token = {{ value = "1:x" }}
        chat_id = "-1"
        api_base = "{}"
        [receivers.pager]
        kind = "pagerduty"
        rate_limit = "100000/s"
        rate_burst = 1000
        routing_key = {{ value = "rk" }}
        api_base = "{}"
        "#,
        base(ports[0]),
        base(ports[1]),
        base(ports[2]),
        base(ports[3]),
        base(ports[4]),
    ))
    .unwrap()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        // Receivers answering 200 to everything, keeping connections alive.
        let mut receivers = Vec::new();
        for _ in 0..5 {
            receivers.push(FakeReceiver::start().await);
        }
        let ports: Vec<u16> = receivers.iter().map(|r| r.port).collect();
        let redis = pulse_tests::RedisServer::start();
        let clock = Arc::new(SystemClock);
        let store = RedisStore::connect(&Secret::new(redis.url())).unwrap();
        let app = startup::build(routes(&ports), None, &NoSsm, store, clock.clone(), "Bench")
            .await
            .unwrap();
        run("redis store", &app).await;
        let app = startup::build(
            routes(&ports),
            None,
            &NoSsm,
            MemoryAlertStore::default(),
            clock,
            "Bench",
        )
        .await
        .unwrap();
        run("memory store", &app).await;
    });
}
