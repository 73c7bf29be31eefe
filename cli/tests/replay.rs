//! `pulse replay` as a user runs it: the real binary on the shipped sample and on a generated
//! input long enough to cross many reader, engine and writer chunks. Its NDJSON must be
//! byte-for-byte what the engine gives on one thread, in the same order.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pulse_core::Config;
use pulse_core::replay::{FileDecoder, Replay};
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
    let text = std::fs::read(path).unwrap();
    let mut replay = Replay::new(Config::default());
    let mut decoder = FileDecoder::new(None);
    let mut events = Vec::new();
    let mut out = String::new();
    for line in text.split(|b| *b == b'\n') {
        replay.feed_bytes(&mut decoder, line, &mut events);
        for e in events.drain(..) {
            out.push_str(&serde_json::to_string(&e).unwrap());
            out.push('\n');
        }
    }
    out
}

fn run_replay(input: &Path, name: &str, extra: &[&str]) -> (String, serde_json::Value) {
    let out = temp(&format!("{name}.events.ndjson"));
    let summary = temp(&format!("{name}.summary.json"));
    let status = pulse()
        .arg("replay")
        .arg(input)
        .args(extra)
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
    let (events, summary) = run_replay(&sample, "sample", &[]);
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
    let expected = reference(&input);
    assert!(
        expected.lines().count() > 20_000,
        "enough events to cross chunks"
    );
    // One thread (the default for a small file) and the sharded path.
    for threads in ["1", "2"] {
        let (events, summary) =
            run_replay(&input, &format!("long.{threads}"), &["--threads", threads]);
        assert_eq!(events.lines().count(), expected.lines().count());
        assert!(
            events == expected,
            "{threads} threads: the replay reordered or changed events"
        );
        assert_eq!(summary["records"], 400 * 31 + 400);
        assert_eq!(summary["rejected"]["negative"], 400);
        assert_eq!(summary["rejected"]["malformed"], 400);
    }
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
    for threads in ["1", "2"] {
        let mut child = pulse()
            .arg("replay")
            .arg(&input)
            .args(["--out", "-", "--quiet", "--threads", threads])
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
        assert!(out.status.success(), "{threads} threads: {err}");
        assert!(!err.contains("Broken pipe"), "{threads} threads: {err}");
    }
}

fn replay_summary(input: &Path, extra: &[&str]) -> (std::process::Output, serde_json::Value) {
    let summary = temp(&format!(
        "{}.summary.json",
        input.file_name().unwrap().to_string_lossy()
    ));
    let _ = std::fs::remove_file(&summary);
    let out = pulse()
        .arg("replay")
        .arg(input)
        .args(["--out", "/dev/null", "--quiet", "--summary-json"])
        .arg(&summary)
        .args(extra)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(out.status.success(), "{err}");
    let summary = serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    (out, summary)
}

const EXPORT_1: &str =
    r#"{"Item":{"PK":{"S":"coingecko#dai"},"SK":{"N":"1678543200"},"price":{"N":"1.0"}}}"#;
const EXPORT_2: &str =
    r#"{"Item":{"PK":{"S":"coingecko#dai"},"SK":{"N":"1678543260"},"price":{"N":"0.9"}}}"#;

#[test]
fn a_line_that_is_not_utf8_is_rejected_and_the_replay_goes_on() {
    let input = temp("latin1.ndjson");
    let mut bytes = Vec::new();
    bytes.extend_from_slice(b"{\"PK\":\"coingecko#dai\",\"SK\":1678543200,\"price\":1.0}\n");
    bytes.extend_from_slice(b"{\"PK\":\"coingecko#caf\xe9\",\"SK\":1678543230,\"price\":1.0}\n");
    bytes.extend_from_slice(b"{\"PK\":\"coingecko#dai\",\"SK\":1678543260,\"price\":0.9}\n");
    std::fs::write(&input, bytes).unwrap();
    let (_, s) = replay_summary(&input, &[]);
    assert_eq!(
        (s["records"].as_u64(), s["applied"].as_u64()),
        (Some(3), Some(2))
    );
    assert_eq!(s["rejected"]["malformed"], 1);
    assert_eq!(
        s["alerts"][0]["severity"], "critical",
        "the line after it still counts"
    );
}

#[test]
fn a_bom_and_a_junk_first_line_do_not_switch_the_format() {
    for (name, text) in [
        ("bom.json", format!("\u{feff}{EXPORT_1}\n{EXPORT_2}\n")),
        (
            "junk.json",
            format!("\u{feff}garbage\n{{\"x\":1}}\n{EXPORT_1}\n{EXPORT_2}\n"),
        ),
    ] {
        let input = temp(name);
        std::fs::write(&input, text).unwrap();
        let (_, s) = replay_summary(&input, &[]);
        assert_eq!(s["applied"], 2, "{name}: {s}");
        assert_eq!(s["events"]["alert"], 1, "{name}: {s}");
    }
}

#[test]
fn a_failed_write_exits_non_zero_naming_the_path() {
    let input = temp("writes.ndjson");
    std::fs::write(&input, format!("{EXPORT_1}\n{EXPORT_2}\n")).unwrap();
    let missing_dir = temp("no-such-dir/summary.json");
    for (args, path, reason) in [
        (
            vec!["--summary-json", "/dev/full", "--out", "/dev/null"],
            "/dev/full",
            "No space left",
        ),
        (vec!["--out", "/dev/full"], "/dev/full", "No space left"),
        (
            vec![
                "--summary-json",
                missing_dir.to_str().unwrap(),
                "--out",
                "/dev/null",
            ],
            missing_dir.to_str().unwrap(),
            "No such file",
        ),
    ] {
        let out = pulse()
            .arg("replay")
            .arg(&input)
            .arg("--quiet")
            .args(&args)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} succeeded: {err}");
        assert!(
            err.contains(path) && err.contains(reason),
            "{args:?}: {err}"
        );
    }
}

#[test]
fn the_time_guard_uses_the_wall_clock_or_now() {
    let input = temp("future.ndjson");
    std::fs::write(&input, format!("{EXPORT_1}\n{EXPORT_2}\n")).unwrap();
    // 2023-03-11T14:00:00Z: the second record (14:01:00) is within the 5 minutes of skew.
    let (_, s) = replay_summary(&input, &["--now", "2023-03-11T14:00:00Z"]);
    assert_eq!(s["applied"], 2);
    // Half an hour earlier both are in the future.
    let (_, s) = replay_summary(&input, &["--now", "1678541400"]);
    assert_eq!(
        (s["applied"].as_u64(), s["rejected"]["future_time"].as_u64()),
        (Some(0), Some(2))
    );
    // The wall clock is long past 2023.
    let (_, s) = replay_summary(&input, &[]);
    assert_eq!(s["applied"], 2);
    let out = pulse()
        .arg("replay")
        .arg(&input)
        .args(["--now", "yesterday"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("RFC 3339"));
}

/// The real data sets (../shared/data or $PULSE_DATA_DIR); panics naming the file when missing.
fn real_data(name: &str) -> PathBuf {
    let dir = std::env::var_os("PULSE_DATA_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/data"));
    let path = dir.join(name);
    assert!(
        path.exists(),
        "data set {} is missing: put the real data in ../shared/data or set PULSE_DATA_DIR",
        path.display()
    );
    path
}

/// Events and summary (without its timings) of `pulse replay FILE --threads N`.
fn replay_threads(input: &Path, threads: u16) -> (Vec<u8>, serde_json::Value) {
    let name = format!("{}.{threads}", input.file_name().unwrap().to_string_lossy());
    let out = temp(&format!("{name}.events.ndjson"));
    let summary = temp(&format!("{name}.summary.json"));
    let run = pulse()
        .arg("replay")
        .arg(input)
        .args(["--now", "1700000000", "--quiet", "--threads"])
        .arg(threads.to_string())
        .arg("--out")
        .arg(&out)
        .arg("--summary-json")
        .arg(&summary)
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let mut summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    let fields = summary.as_object_mut().unwrap();
    fields.remove("seconds");
    fields.remove("recordsPerSecond");
    (std::fs::read(&out).unwrap(), summary)
}

#[test]
fn real_data_replays_the_same_on_any_number_of_threads() {
    for name in [
        "chains-2018-2023.tvl.ndjson",
        "usdc-depeg-2023-03.prices.ndjson",
        "stablecoins-2020-2023.prices.ndjson",
    ] {
        let input = real_data(name);
        let (one, one_summary) = replay_threads(&input, 1);
        assert!(one.len() > 100_000, "{name}: {} bytes of events", one.len());
        for threads in [2, 3] {
            let (many, summary) = replay_threads(&input, threads);
            assert!(
                many == one,
                "{name}: {threads} threads wrote other events than one thread"
            );
            assert_eq!(summary, one_summary, "{name}: {threads} threads");
        }
    }
}
