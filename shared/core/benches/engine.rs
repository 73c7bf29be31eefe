//! Engine throughput on real market history (../shared/data, or $PULSE_DATA_DIR):
//! `detect` is detect + generate over parsed records, `parse_detect` adds JSON parsing, and
//! `replay` is what `pulse replay` does per line (parse, detect, write every event as JSON)
//! without the file I/O.
//! Run: cargo bench -p pulse-core --bench engine
#![allow(clippy::unwrap_used, clippy::expect_used)]

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use pulse_core::Config;
use pulse_core::engine::Engine;
use pulse_core::parse::Format;
use pulse_core::replay::Replay;
use std::hint::black_box;
use std::path::{Path, PathBuf};

#[path = "support/detect.rs"]
mod support;
use support::{detect_all, records};

// The allocator `pulse` itself uses (cli/src/main.rs).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn data_dir() -> PathBuf {
    std::env::var_os("PULSE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
}

fn lines(name: &str) -> Option<Vec<String>> {
    let text = std::fs::read_to_string(data_dir().join(name)).ok()?;
    Some(text.lines().map(str::to_string).collect())
}

fn bench(c: &mut Criterion) {
    let engine = Engine::new(Config::default());
    for (name, file) in [
        ("chains_daily_tvl", "chains-2018-2023.tvl.ndjson"),
        ("usdc_minutes", "usdc-depeg-2023-03.prices.ndjson"),
    ] {
        let Some(lines) = lines(file) else {
            eprintln!(
                "skipped {name}: {} not found (set PULSE_DATA_DIR)",
                data_dir().join(file).display()
            );
            continue;
        };
        let recs = records(lines.iter().map(String::as_str));
        let mut group = c.benchmark_group(name);
        group.sample_size(20);
        group.throughput(Throughput::Elements(recs.len() as u64));
        group.bench_function("detect", |b| {
            b.iter(|| black_box(detect_all(&engine, black_box(&recs))))
        });
        group.bench_function("parse_detect", |b| {
            b.iter(|| {
                let recs = records(black_box(&lines).iter().map(String::as_str));
                black_box(detect_all(&engine, &recs))
            })
        });
        group.bench_function("replay", |b| {
            b.iter(|| {
                let mut replay = Replay::new(Config::default());
                let mut events = Vec::with_capacity(64);
                let mut out: Vec<u8> = Vec::with_capacity(1 << 16);
                let mut written = 0;
                for line in black_box(&lines) {
                    replay.feed_line(Format::Plain, line, &mut events);
                    for e in &events {
                        e.write_json(&mut out);
                        out.push(b'\n');
                    }
                    events.clear();
                    if out.len() > 1 << 15 {
                        written += out.len();
                        out.clear();
                    }
                }
                black_box(written + out.len())
            })
        });
        group.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
