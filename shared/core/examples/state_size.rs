//! State bytes per key as the detector stores them in Redis (`serde_json` of the key's
//! [`EntityState`], one string value per key), for minute prices under the default 1h and
//! 24h windows: the USDC depeg minutes (../shared/data, or $PULSE_DATA_DIR) judged as an
//! ordinary token (no peg, so its windows are tracked), and two synthetic 48 h series: a
//! steady rise (the min deque keeps every point of the window: the worst case) and a
//! sawtooth. Prints the largest (sampled every 10th record) and the last size of each.
//! Run: cargo run --release -p pulse-core --example state_size
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pulse_core::engine::{Context, Engine};
use pulse_core::parse::{self, Format};
use pulse_core::state::StateMap;
use pulse_core::{Config, Record};
use std::path::{Path, PathBuf};

fn data_dir() -> PathBuf {
    std::env::var_os("PULSE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn records(lines: impl Iterator<Item = String>, config: &Config) -> Vec<Record> {
    let mut out = Vec::new();
    for line in lines {
        parse::parse_line(Format::Plain, &line, &config.validation, |r| {
            out.extend(r.ok())
        });
    }
    out
}

/// Replays `records` on one key; returns (records, largest state bytes, last state bytes,
/// largest number of window points held).
fn measure(config: &Config, records: &[Record]) -> (usize, usize, usize, usize) {
    let engine = Engine::new(config.clone());
    let (mut states, mut key, mut events) = (StateMap::default(), String::new(), Vec::new());
    let (mut largest, mut last, mut points) = (0, 0, 0);
    for (i, r) in records.iter().enumerate() {
        engine.observe_keyed(r, &mut states, &mut key, &Context::replay(), &mut events);
        events.clear();
        // Measured every 10th record and at the end (serialising is the slow part).
        if i % 10 != 0 && i + 1 != records.len() {
            continue;
        }
        let state = &states[key.as_str()];
        last = serde_json::to_string(state).unwrap().len();
        largest = largest.max(last);
        let held = serde_json::to_value(&state.main.windows)
            .unwrap()
            .to_string();
        points = points.max(held.matches("\"t\":").count());
    }
    (records.len(), largest, last, points)
}

fn synthetic(config: &Config, value: impl Fn(i64) -> f64) -> Vec<Record> {
    let lines = (0..2 * 1440).map(|m| {
        format!(
            r#"{{"PK":"coingecko#synthetic","SK":{},"price":{},"symbol":"SYN"}}"#,
            1_700_000_000 + m * 60,
            value(m)
        )
    });
    records(lines, config)
}

fn main() {
    let mut config = Config::default();
    config.peg.assets.clear();
    println!("| series | records | largest state | last state | window points held (max) |");
    println!("|---|---|---|---|---|");
    let mut sets = Vec::new();
    let usdc = data_dir().join("usdc-depeg-2023-03.prices.ndjson");
    match std::fs::read_to_string(&usdc) {
        Ok(text) => sets.push((
            "USDC minutes, no peg",
            records(text.lines().map(str::to_string), &config),
        )),
        Err(e) => eprintln!("skipped {}: {e}", usdc.display()),
    }
    sets.push((
        "steady rise, 48 h of minutes",
        synthetic(&config, |m| 1.0 + m as f64 * 1e-4),
    ));
    sets.push((
        "sawtooth (60 min period), 48 h",
        synthetic(&config, |m| 1.0 + (m % 60) as f64 * 1e-3),
    ));
    for (name, recs) in sets {
        let (n, largest, last, points) = measure(&config, &recs);
        println!("| {name} | {n} | {largest} B | {last} B | {points} |");
    }
}
