//! `pulse replay` as a user runs it: the real binary on the shipped sample and on a generated
//! input long enough to cross many reader, engine and writer chunks. Its NDJSON must be
//! byte-for-byte what the engine gives on one thread, in the same order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pulse_core::Config;
use pulse_core::parse::Format;
use pulse_core::replay::Replay;
use std::path::{Path, PathBuf};
use std::process::Command;

fn pulse() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pulse"))
}

fn temp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("pulse-replay-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

/// What one thread makes of the file: every event as a JSON line, in order.
fn reference(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap();
    let mut replay = Replay::new(Config::default());
    let mut events = Vec::new();
    let mut out = String::new();
    for line in text.lines() {
        replay.feed_line(
            Format::detect(text.lines().next().unwrap()),
            line,
            &mut events,
        );
        for e in events.drain(..) {
            out.push_str(&serde_json::to_string(&e).unwrap());
            out.push('\n');
        }
    }
    out
}

fn run_replay(input: &Path, name: &str) -> (String, serde_json::Value) {
    let out = temp(&format!("{name}.events.ndjson"));
    let summary = temp(&format!("{name}.summary.json"));
    let status = pulse()
        .arg("replay")
        .arg(input)
        .arg("--out")
        .arg(&out)
        .arg("--summary-json")
        .arg(&summary)
        .arg("--quiet")
        .status()
        .unwrap();
    assert!(status.success());
    let summary = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    (std::fs::read_to_string(&out).unwrap(), summary)
}

#[test]
fn shipped_sample_replays_as_one_thread_does() {
    let sample = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../samples/usdc-depeg-2023-03-11.prices.ndjson");
    let (events, summary) = run_replay(&sample, "sample");
    assert_eq!(events, reference(&sample));
    assert_eq!(summary["records"], 2400);
    assert_eq!(summary["alerts"][0]["severity"], "critical");
}

#[test]
fn long_input_keeps_its_order_across_chunks() {
    // 30 protocols × 400 hours, with bad lines mixed in: tens of thousands of events, so every
    // channel carries many chunks.
    let input = temp("long.ndjson");
    let mut text = String::new();
    for h in 0..400i64 {
        for p in 0..30i64 {
            let t = 1_700_000_000 + h * 3600;
            let wave = 1.0 + 0.3 * (((h * 7 + p * 13) % 23) as f64 / 23.0 - 0.5);
            let tvl = 5e7 * wave * (1 + p) as f64;
            let (eth, bsc) = (tvl * 0.7, tvl * 0.3);
            text.push_str(&format!(
                "{{\"PK\":\"hourlyTvl#{p}\",\"SK\":{t},\"tvl\":{tvl},\"ethereum\":{eth},\"bsc\":{bsc}}}\n"
            ));
        }
        text.push_str("{\"PK\":\"hourlyTvl#bad\",\"SK\":1,\"tvl\":-5}\n\nnot json\n");
    }
    std::fs::write(&input, text).unwrap();
    let (events, summary) = run_replay(&input, "long");
    let expected = reference(&input);
    assert!(
        expected.lines().count() > 20_000,
        "enough events to cross chunks"
    );
    assert_eq!(events.lines().count(), expected.lines().count());
    assert!(
        events == expected,
        "the threaded replay reordered or changed events"
    );
    assert_eq!(summary["records"], 400 * 31 + 400);
    assert_eq!(summary["rejected"]["negative"], 400);
    assert_eq!(summary["rejected"]["malformed"], 400);
}

#[test]
fn a_missing_file_fails_with_its_name() {
    let out = pulse()
        .args(["replay", "no/such/file.ndjson", "--out", "-"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no/such/file.ndjson"), "{err}");
}

#[test]
fn a_closed_pipe_stops_the_replay_quietly() {
    use std::io::{BufRead, BufReader};
    let input = temp("pipe.ndjson");
    let mut text = String::new();
    for h in 0..2000i64 {
        let tvl = if h % 2 == 0 { 1e8 } else { 2e8 };
        text.push_str(&format!(
            "{{\"PK\":\"hourlyTvl#p\",\"SK\":{},\"tvl\":{tvl},\"ethereum\":{tvl}}}\n",
            1_700_000_000 + h * 3600
        ));
    }
    std::fs::write(&input, text).unwrap();
    let mut child = pulse()
        .arg("replay")
        .arg(&input)
        .args(["--out", "-", "--quiet"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("{\"eventId\""), "{first}");
    // stdout is dropped here, like `pulse replay ... | head -1`.
    let out = child.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(!err.contains("Broken pipe"), "{err}");
}
