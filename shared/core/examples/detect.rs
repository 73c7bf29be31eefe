//! Detection alone over one data set (parse first, then detect + generate every record into
//! a reused event buffer, as `pulse replay` does), in a function of its own, so a profiler can
//! count what detection costs: `scripts/bench.sh --instructions` counts its instructions with
//! callgrind, which on a shared machine is steadier than any timing.
//! Run: cargo run --release -p pulse-core --example detect -- FILE
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pulse_core::engine::{Context, Engine};
use pulse_core::parse::{self, Format};
use pulse_core::state::StateMap;
use pulse_core::{Config, Record};

// The allocator `pulse` itself uses (cli/src/main.rs).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Every record against one state map; returns the number of events.
#[inline(never)]
fn detect_all(engine: &Engine, records: &[Record]) -> usize {
    let mut states = StateMap::default();
    let mut events = Vec::with_capacity(64);
    let ctx = Context::replay();
    let mut key = String::new();
    let mut n = 0;
    for r in records {
        engine.observe_keyed(r, &mut states, &mut key, &ctx, &mut events);
        n += events.len();
        events.clear();
    }
    n
}

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: detect FILE (plain NDJSON records)");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let limits = Config::default().validation;
    let mut records = Vec::new();
    for line in text.lines() {
        parse::parse_line(Format::Plain, line, &limits, |r| records.extend(r.ok()));
    }
    let engine = Engine::new(Config::default());
    let events = detect_all(&engine, &records);
    println!("{} records, {events} events", records.len());
}
