//! Figures for BENCHMARKS.md, ignored by default (run with `--run-ignored only`):
//! one tick of 10,000 records with the time spent in each service, and the cold start of
//! the release binary.

use detector::handler::{Detector, TickSummary, scheduled_event};
use pulse_core::event::SqsAlertBody;
use pulse_core::ports::{
    AlertLedger, AlertSink, CheckpointStore, Commit, Delivery, EventPublisher, PortError,
};
use pulse_core::record::UnixSecs;
use pulse_core::state::StateMap;
use pulse_tests::Stack;
use pulse_tests::fixtures::{now, price_items};
use pulse_tests::tables::COINS_TABLE;
use serde_json::json;
use std::collections::{BTreeMap, HashSet};
use std::io::{BufRead, BufReader};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use uuid::Uuid;

type Clock = Arc<Mutex<BTreeMap<&'static str, Duration>>>;

/// A port that adds the time each call takes under a name.
#[derive(Clone)]
struct Timed<T> {
    inner: T,
    clock: Clock,
}

impl<T> Timed<T> {
    async fn time<R>(&self, name: &'static str, f: impl Future<Output = R>) -> R {
        let started = Instant::now();
        let out = f.await;
        *self.clock.lock().unwrap().entry(name).or_default() += started.elapsed();
        out
    }
}

impl<T: CheckpointStore + Sync> CheckpointStore for Timed<T> {
    async fn load(&self, keys: &[String]) -> Result<StateMap, PortError> {
        self.time("redis: load state (MGET)", self.inner.load(keys))
            .await
    }
    async fn watermark(&self, table: &str) -> Result<Option<UnixSecs>, PortError> {
        self.time("redis: watermark (EVAL)", self.inner.watermark(table))
            .await
    }
    async fn commit(&self, commit: Commit<'_>) -> Result<(), PortError> {
        self.time("redis: commit (MULTI/EXEC)", self.inner.commit(commit))
            .await
    }
}

impl<T: EventPublisher + Sync> EventPublisher for Timed<T> {
    async fn publish(&self, events: &[pulse_core::Event]) -> Result<(), PortError> {
        self.time("redis: publish (EVALSHA)", self.inner.publish(events))
            .await
    }
}

impl<T: AlertLedger + Sync> AlertLedger for Timed<T> {
    async fn unsent(&self, ids: &[Uuid]) -> Result<HashSet<Uuid>, PortError> {
        self.time("redis: ledger read (MGET)", self.inner.unsent(ids))
            .await
    }
    async fn mark_sent(&self, ids: &[Uuid]) -> Result<(), PortError> {
        self.time("redis: ledger write", self.inner.mark_sent(ids))
            .await
    }
    async fn quarantine(&self, alert: &SqsAlertBody, reason: &str) -> Result<(), PortError> {
        self.time("redis: quarantine", self.inner.quarantine(alert, reason))
            .await
    }
}

impl<T: AlertSink + Sync> AlertSink for Timed<T> {
    async fn deliver(&self, alerts: &[SqsAlertBody]) -> Delivery {
        self.time(
            "sqs (emulator): SendMessageBatch",
            self.inner.deliver(alerts),
        )
        .await
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "benchmark: cargo nextest run -p pulse-tests --test detector bench --run-ignored only --no-capture"]
async fn bench_tick_of_10000_records() {
    let stack = Stack::start().await;
    let t0 = now() - 1200;
    // 5,000 tokens × 2 records; 50 of them jump 30 % (50 alerts), the rest move 0.5 %.
    let mut items = price_items(50, t0, 1.3);
    let mut quiet = price_items(4950, t0, 1.005);
    for item in &mut quiet {
        item["PK"] = json!(format!("{}-q", item["PK"].as_str().unwrap()));
    }
    items.extend(quiet);
    assert_eq!(items.len(), 10_000);
    let load = Instant::now();
    stack.put(COINS_TABLE, &items).await;
    let load = load.elapsed();

    let real = stack.detector().await;
    let clock: Clock = Arc::default();
    let timed = |p| Timed {
        inner: p,
        clock: clock.clone(),
    };
    let detector = Detector {
        engine: real.engine.clone(),
        source: real.source.clone(),
        store: timed(real.store.clone()),
        publisher: timed(real.publisher.clone()),
        alerts: Timed {
            inner: real.alerts.clone(),
            clock: clock.clone(),
        },
        ledger: timed(real.ledger.clone()),
        metrics: detector::handler::Metrics::Off,
        scan_overlap_secs: real.scan_overlap_secs,
        initial_lookback_secs: real.initial_lookback_secs,
        budget: real.budget,
        clock: real.clock,
    };
    stack.redis().command("CONFIG RESETSTAT");
    let trips = real.store.round_trips();
    let started = Instant::now();
    let out = detector.handle(&scheduled_event()).await.unwrap();
    let wall = started.elapsed();
    let summary: TickSummary = serde_json::from_value(out).unwrap();
    assert_eq!(summary.records, 10_000);
    let spent = clock.lock().unwrap().clone();
    let services: Duration =
        spent.values().sum::<Duration>() + Duration::from_millis(summary.dynamodb_ms);
    eprintln!("BENCH load of 10,000 items into the emulator (BatchWriteItem): {load:?}");
    eprintln!("BENCH tick wall time: {wall:?}");
    eprintln!(
        "BENCH dynamodb (emulator): Scan, {} pages, 4 segments: {} ms",
        summary.dynamodb_pages, summary.dynamodb_ms
    );
    for (name, d) in &spent {
        eprintln!("BENCH {name}: {d:?}");
    }
    eprintln!(
        "BENCH ours (parse, engine, serialisation, the rest): {:?}",
        wall.saturating_sub(services)
    );
    eprintln!(
        "BENCH events {}, alerts sent {}, redis round trips {}",
        summary.events,
        summary.alerts_sent,
        real.store.round_trips() - trips
    );
    eprintln!(
        "BENCH commandstats:\n{}",
        stack.redis().command("INFO commandstats")
    );
}

#[test]
#[ignore = "benchmark: needs PULSE_DETECTOR_BIN (a release build of the detector for this machine)"]
fn bench_cold_start() {
    let Ok(bin) = std::env::var("PULSE_DETECTOR_BIN") else {
        eprintln!("SKIPPED: set PULSE_DETECTOR_BIN to the release binary");
        return;
    };
    let redis = pulse_tests::RedisServer::start();
    let moto = pulse_tests::MotoServer::start();
    let mut times = Vec::new();
    for _ in 0..7 {
        // A stand-in for the Lambda runtime API: the first `invocation/next` marks "ready".
        let api = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = api.local_addr().unwrap().port();
        let started = Instant::now();
        let mut child = std::process::Command::new(&bin)
            .env("AWS_LAMBDA_RUNTIME_API", format!("127.0.0.1:{port}"))
            .env("AWS_LAMBDA_FUNCTION_NAME", "detector")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "1")
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "512")
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "bench")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", "bench")
            .env("PULSE_EVENTS_TABLE", "events")
            .env("PULSE_COINS_TABLE", "coins")
            .env(
                "PULSE_ALERTS_QUEUE_URL",
                format!("{}/000000000000/alerts", moto.endpoint()),
            )
            .env("PULSE_REDIS_URL", redis.url())
            .envs(moto.aws_env())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let (conn, _) = api.accept().unwrap();
        let mut line = String::new();
        BufReader::new(conn).read_line(&mut line).unwrap();
        let ready = started.elapsed();
        assert!(line.contains("/runtime/invocation/next"), "{line}");
        times.push(ready);
        let _ = child.kill();
        let _ = child.wait();
    }
    times.sort();
    eprintln!("BENCH cold start (spawn to first invocation/next), 7 runs: {times:?}");
    eprintln!("BENCH cold start median: {:?}", times[times.len() / 2]);
}

/// Redis memory per key as the detector stores it, for BENCHMARKS.md: a day of minute prices
/// rising steadily (the largest window state) for 1,000 then 10,000 tokens, committed through
/// the detector's own Redis adapter: state, current value and 24 h history per key, with
/// `zset-max-listpack-entries` as Terraform's parameter group sets it (2048), or as
/// `PULSE_FIGURES_LISTPACK` says (128 is Redis's default).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "figures: cargo nextest run -p pulse-tests --test detector redis_memory --run-ignored only --no-capture"]
async fn redis_memory_per_key() {
    use pulse_adapters::redis::{RedisPorts, RedisSettings};
    use pulse_core::engine::{Context, Engine};
    use pulse_core::parse::{self, Format};
    use pulse_core::{Config, Record};

    let stack = Stack::builder().redis().start().await;
    let ports = RedisPorts::connect(&RedisSettings {
        url: stack.redis().url(),
        auth_token: None,
        response_timeout: Duration::from_secs(60),
        connection_timeout: Duration::from_secs(5),
    })
    .await
    .unwrap();
    let mut config = Config::default();
    config.peg.assets.clear();
    let engine = Engine::new(config.clone());
    let end = now();
    let minutes = 1440;
    // One parsed record per token, re-stamped for each minute (parsing 14 M lines in a debug
    // build would be most of the run).
    let template = |token: &str| -> Record {
        let line = format!(r#"{{"PK":"coingecko#{token}","SK":{end},"price":1.0,"symbol":"SYN"}}"#);
        let mut out = None;
        parse::parse_line(Format::Plain, &line, &config.validation, |r| out = r.ok());
        out.unwrap()
    };
    let at = |template: &Record, m: i64| -> Record {
        let mut r = template.clone();
        r.time = end - (minutes - 1 - m) * 60;
        if let pulse_core::record::RecordBody::Price(p) = &mut r.body {
            p.price = 1.0 + m as f64 * 1e-4;
        }
        r
    };
    let mut redis = stack.redis_client().await;
    let listpack = std::env::var("PULSE_FIGURES_LISTPACK").unwrap_or_else(|_| "2048".into());
    let () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("zset-max-listpack-entries")
        .arg(&listpack)
        .query_async(&mut redis)
        .await
        .unwrap();
    let used = |info: String| -> u64 {
        info.lines()
            .find_map(|l| l.strip_prefix("used_memory:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap()
    };
    let info: String = redis::cmd("INFO")
        .arg("memory")
        .query_async(&mut redis)
        .await
        .unwrap();
    let base = used(info);
    let sections = Default::default();
    let mut done = 0;
    for target in [1_000usize, 10_000] {
        while done < target {
            let chunk = (done..(done + 100).min(target)).collect::<Vec<_>>();
            let mut states = StateMap::default();
            let mut history = Vec::with_capacity(chunk.len() * minutes as usize);
            let (mut key, mut events) = (String::new(), Vec::new());
            for n in &chunk {
                let token = template(&format!("scale-k{n:05}"));
                for m in 0..minutes {
                    let r = at(&token, m);
                    engine.observe_keyed(
                        &r,
                        &mut states,
                        &mut key,
                        &Context::replay(),
                        &mut events,
                    );
                    events.clear();
                    history.push(r);
                }
            }
            let current: Vec<&Record> = history.iter().filter(|r| r.time == end).collect();
            ports
                .commit(Commit {
                    states: &states,
                    current: &current,
                    history: &history,
                    watermark: None,
                    now: end,
                    sections: &sections,
                })
                .await
                .unwrap();
            done = chunk.last().unwrap() + 1;
        }
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query_async(&mut redis)
            .await
            .unwrap();
        let total = used(info) - base;
        let usage = |key: String| {
            let mut redis = redis.clone();
            async move {
                let bytes: u64 = redis::cmd("MEMORY")
                    .arg("USAGE")
                    .arg(&key)
                    .arg("SAMPLES")
                    .arg(0)
                    .query_async(&mut redis)
                    .await
                    .unwrap_or_else(|e| panic!("MEMORY USAGE {key}: {e}"));
                bytes
            }
        };
        let token = pulse_core::record::TokenId::Coingecko("scale-k00000".into());
        println!(
            "FIGURES listpack={listpack} keys={target} used_memory={total} per_key={} state={} history={} current={}",
            total / target as u64,
            usage(pulse_core::keys::state("price:coingecko:scale-k00000")).await,
            usage(pulse_core::keys::price_history(&token)).await,
            usage(pulse_core::keys::price_current(&token)).await,
        );
    }
}
