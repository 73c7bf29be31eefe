//! Ticks that always make progress: a backlog larger than one tick's budget drains over
//! consecutive ticks, each resuming where the last stopped, every event published once and
//! every watermark only rising; each table keeps its own watermark.

use detector::handler::{TickBudget, TickSummary};
use pulse_core::event::EventType;
use pulse_core::keys;
use pulse_tests::Stack;
use pulse_tests::fixtures::{expected_events, ids_of, now, tvl_items};
use pulse_tests::queues::alert_ids;
use pulse_tests::read_path::price_item;
use pulse_tests::tables::{COINS_TABLE, EVENTS_TABLE};
use serde_json::Value;
use std::collections::{HashMap, HashSet};
use std::time::Duration;

const TOKENS: usize = 10;
const MINUTES: usize = 12;
const MAX_RECORDS: usize = 25;

/// `TOKENS` tokens, one price a minute for `MINUTES` minutes; each token jumps +30 % at its
/// own minute (a critical alert) and comes back.
fn backlog(t0: i64) -> Vec<Value> {
    (0..TOKENS)
        .flat_map(|i| {
            (0..MINUTES).map(move |j| {
                let price = if j == 3 + i % 6 { 1.3 } else { 1.0 };
                price_item(i, t0 + 60 * j as i64, price)
            })
        })
        .collect()
}

async fn table_watermark(stack: &Stack, table: &str) -> Option<i64> {
    let mut c = stack.redis_client().await;
    redis::cmd("GET")
        .arg(keys::table_watermark(table))
        .query_async(&mut c)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backlog_larger_than_the_budget_drains_over_ticks_each_event_once() {
    let stack = Stack::start().await;
    let t0 = now() - 1800;
    let prices = backlog(t0);
    let tvl = tvl_items(2, t0);
    stack.put(COINS_TABLE, &prices).await;
    stack.put(EVENTS_TABLE, &tvl).await;
    let all: Vec<Value> = prices.iter().chain(&tvl).cloned().collect();
    let expected = expected_events(&all, now());
    let events = ids_of(&expected, None);
    let alerts = ids_of(&expected, Some(EventType::Alert));
    assert!(alerts.len() >= TOKENS, "the fixture makes alerts");

    let mut detector = stack.detector().await;
    detector.budget = TickBudget {
        max_records: MAX_RECORDS,
        chunk_records: 10,
        time: Duration::from_secs(60),
    };
    let total = prices.len() + tvl.len();
    let newest = |items: &[Value]| items.iter().filter_map(|i| i["SK"].as_i64()).max();
    let caught_up = (newest(&prices), newest(&tvl));
    let mut ticks: Vec<TickSummary> = Vec::new();
    let mut marks: Vec<(Option<i64>, Option<i64>)> = Vec::new();
    for _ in 0..12 {
        let summary = detector.tick().await.unwrap();
        let mark = (
            table_watermark(&stack, COINS_TABLE).await,
            table_watermark(&stack, EVENTS_TABLE).await,
        );
        marks.push(mark);
        let done = summary.deferred == 0 && mark == caught_up;
        ticks.push(summary);
        if done {
            break;
        }
    }
    // Caught up: the next tick re-reads only the overlap, all of it stale.
    let idle = detector.tick().await.unwrap();
    assert_eq!((idle.events, idle.deferred), (0, 0), "{idle:?}");
    let first = &ticks[0];
    assert!(
        first.deferred > 0,
        "the backlog exceeds one tick's budget: {first:?}"
    );
    assert!(
        ticks.len() >= total.div_ceil(MAX_RECORDS),
        "{} records at most {MAX_RECORDS} a tick: {} ticks",
        total,
        ticks.len()
    );
    let last = ticks.last().unwrap();
    assert_eq!(last.deferred, 0, "drained: {last:?}");
    // Every tick commits in chunks of at most 10 and never more than the budget of new
    // records (the overlap re-read before the watermark comes on top).
    for t in &ticks {
        assert!(t.chunks <= t.records.div_ceil(10) + 2, "{t:?}");
    }
    for pair in marks.windows(2) {
        assert!(
            pair[1].0 >= pair[0].0 && pair[1].1 >= pair[0].1,
            "watermarks only rise: {marks:?}"
        );
    }
    assert_eq!(
        marks.last().unwrap(),
        &caught_up,
        "each table's watermark is its own newest record"
    );
    assert_eq!(
        stack.watermark().await,
        newest(&prices).max(newest(&tvl)),
        "SPEC's watermark is the newest of all"
    );

    // Every event was made exactly once across the ticks (a record run twice from a fresh
    // state would make its events again), and each reached its stream once.
    let made: usize = ticks.iter().map(|t| t.events).sum();
    assert_eq!(made, expected.len(), "{ticks:?}");
    let mut streamed: Vec<String> = Vec::new();
    for s in [
        "stream:events:prices",
        "stream:events:tvl",
        "stream:events:alerts",
        "stream:events:protocols",
    ] {
        streamed.extend(stack.stream_ids(s).await);
    }
    let mut counts: HashMap<&String, usize> = HashMap::new();
    for id in &streamed {
        *counts.entry(id).or_default() += 1;
    }
    assert!(counts.values().all(|n| *n == 1), "published twice");
    assert_eq!(streamed.into_iter().collect::<HashSet<_>>(), events);
    let sent = alert_ids(&stack.drain_alerts().await);
    assert_eq!(sent.len(), alerts.len(), "each alert sent once");
    assert_eq!(sent.into_iter().collect::<HashSet<_>>(), alerts);
}

/// SPEC's single watermark seeds each table's watermark once, then each moves on its own.
#[tokio::test]
async fn the_single_watermark_migrates_to_one_per_table() {
    let stack = Stack::start().await;
    let t0 = now() - 1800;
    let mut c = stack.redis_client().await;
    // As left by the version with one watermark: everything up to t0 + 300 was processed.
    let () = redis::cmd("SET")
        .arg(keys::WATERMARK)
        .arg(t0 + 300)
        .query_async(&mut c)
        .await
        .unwrap();
    stack.put(COINS_TABLE, &backlog(t0)).await;
    let mut detector = stack.detector().await;
    detector.scan_overlap_secs = 0;
    let summary = detector.tick().await.unwrap();
    assert_eq!(
        summary.since,
        t0 + 300,
        "resumes from the old watermark: {summary:?}"
    );
    // Records at or after t0 + 300 only: minutes 5..12 of each token.
    assert_eq!(summary.records, TOKENS * (MINUTES - 5), "{summary:?}");
    let newest = t0 + 60 * (MINUTES as i64 - 1);
    assert_eq!(table_watermark(&stack, COINS_TABLE).await, Some(newest));
    assert_eq!(
        table_watermark(&stack, EVENTS_TABLE).await,
        Some(t0 + 300),
        "the table without new records keeps the migrated watermark"
    );
    assert_eq!(stack.watermark().await, Some(newest));
    // SPEC's watermark moved with the coins table; the events table does not follow it.
    let late = tvl_items(1, t0 + 600);
    stack.put(EVENTS_TABLE, &late).await;
    let next = detector.tick().await.unwrap();
    assert_eq!(
        next.watermarks.get(EVENTS_TABLE),
        Some(&(t0 + 660)),
        "{next:?}"
    );
}

/// Figures for BENCHMARKS.md (`--run-ignored only`): a backlog of `PULSE_FIGURES_BACKLOG`
/// price records (default 6,000: 60 tokens, one a minute) drained with a budget of 1,000
/// new records a tick, chunks of 250 and of 1,000: ticks, commits and time per tick.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "figures for BENCHMARKS.md"]
async fn backlog_drain_figures() {
    let total: usize = std::env::var("PULSE_FIGURES_BACKLOG")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6_000);
    let tokens = 60;
    let minutes = total / tokens;
    for chunk in [250, 1_000] {
        let stack = Stack::start().await;
        let t0 = now() - 60 * minutes as i64 - 60;
        let items: Vec<Value> = (0..tokens)
            .flat_map(|i| {
                (0..minutes)
                    .map(move |j| price_item(i, t0 + 60 * j as i64, 1.0 + (j % 7) as f64 * 1e-3))
            })
            .collect();
        stack.put(COINS_TABLE, &items).await;
        let mut d = stack.detector().await;
        d.initial_lookback_secs = 60 * minutes as i64 + 600;
        d.budget = TickBudget {
            max_records: 1_000,
            chunk_records: chunk,
            time: Duration::from_secs(40),
        };
        let mut ticks = Vec::new();
        loop {
            let s = d.tick().await.unwrap();
            let done = s.deferred == 0;
            ticks.push(s);
            if done || ticks.len() > 40 {
                break;
            }
        }
        let ms: Vec<u64> = ticks.iter().map(|t| t.total_ms).collect();
        let records: usize = ticks.iter().map(|t| t.records).sum();
        let commits: usize = ticks.iter().map(|t| t.chunks).sum();
        let busy: u64 = ms.iter().sum();
        eprintln!(
            "FIGURE backlog {} chunk {chunk}: {} ticks, {commits} commits, {records} records run, {} ms total, {:.0} ms/tick (max {} ms), {:.0} records/s",
            items.len(),
            ticks.len(),
            busy,
            busy as f64 / ticks.len() as f64,
            ms.iter().max().unwrap(),
            records as f64 / (busy as f64 / 1000.0)
        );
    }
}
