//! `pulse replay` as a user runs it: the README's command on the shipped sample, output files
//! checked, and the errors a user meets.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

fn pulse() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_pulse"));
    c.current_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join(".."));
    c
}

#[test]
fn readme_command_on_the_shipped_sample() {
    let dir = std::env::temp_dir().join(format!("pulse-replay-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (events, summary) = (dir.join("events.ndjson"), dir.join("summary.json"));
    let out = pulse()
        .args([
            "replay",
            "samples/usdc-depeg-2023-03-11.prices.ndjson",
            "--out",
        ])
        .arg(&events)
        .arg("--summary-json")
        .arg(&summary)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("records   2400 read"), "{stderr}");
    assert!(
        stderr.contains("critical  peg_deviation  price:coingecko:usd-coin"),
        "{stderr}"
    );

    let summary: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&summary).unwrap()).unwrap();
    assert_eq!(summary["records"], 2400);
    assert_eq!(summary["rejected"], serde_json::json!({}));
    assert_eq!(summary["alerts"][0]["severity"], "critical");
    assert_eq!(summary["alerts"][0]["timestamp"], 1_678_543_259_000i64);
    assert!(summary["seconds"].as_f64().unwrap() > 0.0);

    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&events)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let total: u64 = summary["events"]
        .as_object()
        .unwrap()
        .values()
        .map(|v| v.as_u64().unwrap())
        .sum();
    assert_eq!(lines.len() as u64, total, "every counted event is written");
    assert!(
        lines
            .iter()
            .any(|e| e["eventType"] == "alert" && e["data"]["rule"] == "peg_deviation")
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bad_lines_are_counted_not_fatal_and_stdin_works() {
    use std::io::Write;
    let mut child = pulse()
        .args(["replay", "-", "--out", "-", "--format", "plain"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let input = concat!(
        r#"{"PK":"coingecko#dai","SK":1700000000,"price":0.9}"#,
        "\n",
        "garbage\n",
        r#"{"PK":"coingecko#dai","SK":1700000060,"price":-1}"#,
        "\n",
    );
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("rejected malformed: 1") && stderr.contains("rejected negative: 1"),
        "{stderr}"
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).lines().count(),
        1,
        "one alert: DAI 10 % off its peg"
    );
}

#[test]
fn errors_name_the_fix() {
    let out = pulse()
        .args(["replay", "no/such/file.ndjson"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot open no/such/file.ndjson"));

    let cfg = std::env::temp_dir().join(format!("pulse-bad-{}.toml", std::process::id()));
    std::fs::write(&cfg, "[peg]\nlevels_percent = [5, 2]\n").unwrap();
    let out = pulse()
        .args([
            "replay",
            "samples/usdc-depeg-2023-03-11.prices.ndjson",
            "--config",
        ])
        .arg(&cfg)
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("peg.levels_percent"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::remove_file(cfg).ok();
}
