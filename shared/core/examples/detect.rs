//! Detection alone over one data set (parse first, then detect + generate every record into
//! a reused event buffer, as `pulse replay` does), in a function of its own, so a profiler can
//! count what detection costs: `scripts/bench.sh --instructions` counts its instructions with
//! callgrind, which on a shared machine is steadier than any timing.
//! Run: cargo run --release -p pulse-core --example detect -- FILE
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pulse_core::Config;
use pulse_core::engine::Engine;

#[path = "../benches/support/detect.rs"]
mod support;
use support::{detect_all, records};

// The allocator `pulse` itself uses (cli/src/main.rs).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let path = std::env::args()
        .nth(1)
        .expect("usage: detect FILE (plain NDJSON records)");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let records = records(text.lines());
    let engine = Engine::new(Config::default());
    let events = detect_all(&engine, &records);
    println!("{} records, {events} events", records.len());
}
