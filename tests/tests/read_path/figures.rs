//! Figures for BENCHMARKS.md, ignored by default (`--run-ignored only`): items examined and
//! read units of one steady-state tick, keys read mode vs whole-table Scan, for a table of
//! `PULSE_FIGURES_ITEMS` old items (default 20,000) in 200 keys plus 40 new ones.

use detector::handler::system_now;
use pulse_adapters::dynamodb::ReadMode;
use pulse_tests::Stack;
use pulse_tests::read_path::{keys_mode, new_items, old_items};
use serde_json::Value;
use std::time::Instant;

/// An item's size as DynamoDB bills it, roughly: names and strings by length, numbers at
/// most 21 bytes (here 1 byte per two digits plus 1).
fn item_bytes(item: &Value) -> usize {
    item.as_object()
        .unwrap()
        .iter()
        .map(|(k, v)| {
            k.len()
                + match v {
                    Value::String(s) => s.len(),
                    other => other.to_string().len().div_ceil(2) + 1,
                }
        })
        .sum()
}

#[tokio::test]
#[ignore = "figures for BENCHMARKS.md"]
async fn read_cost_figures() {
    let total: usize = std::env::var("PULSE_FIGURES_ITEMS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let keys = 200;
    let stack = Stack::start().await;
    let now = system_now();
    let old = old_items(keys, total / keys, now);
    let bytes = old.iter().map(item_bytes).sum::<usize>() as f64 / old.len() as f64;
    let loading = Instant::now();
    stack.load_coins(&old).await;
    let loaded = loading.elapsed();
    let d = stack
        .detector_reading(keys_mode(i64::try_from(total).unwrap() + 1000, 100))
        .await;
    let first = d.tick().await.unwrap();
    stack.load_coins(&new_items(20, now)).await;
    let steady = d.tick().await.unwrap();
    let scan = stack.detector_reading(ReadMode::Scan { segments: 4 }).await;
    let scanned = scan.tick().await.unwrap();
    println!(
        "FIGURES items={} mean_item_bytes={bytes:.0} load_s={:.1}\n first keys tick: examined={} discovery={} keys_queried={} requests={} read_units={} ms={}\n steady keys tick: examined={} discovery={} keys_queried={} requests={} read_units={} records={} ms={}\n scan tick: examined={} requests={} read_units={} records={} ms={}",
        old.len() + 40,
        loaded.as_secs_f64(),
        first.items_examined,
        first.discovery_examined,
        first.keys_queried,
        first.dynamodb_pages,
        first.read_units,
        first.total_ms,
        steady.items_examined,
        steady.discovery_examined,
        steady.keys_queried,
        steady.dynamodb_pages,
        steady.read_units,
        steady.records,
        steady.total_ms,
        scanned.items_examined,
        scanned.dynamodb_pages,
        scanned.read_units,
        scanned.records,
        scanned.total_ms,
    );
}
