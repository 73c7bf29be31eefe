//! `pulse dlq` end to end: the built binary, run with --direct against moto.

use crate::common::Stack;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

/// The `pulse` binary next to this test's own target directory, built when missing.
fn pulse_binary() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    let bin = dir.join("pulse");
    if !bin.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let status = Command::new(cargo)
            .args(["build", "-p", "pulse-cli"])
            .status()
            .unwrap();
        assert!(status.success(), "cargo build -p pulse-cli failed");
    }
    assert!(bin.exists(), "no pulse binary at {}", bin.display());
    bin
}

fn pulse(s: &Stack, args: &[&str]) -> Output {
    let mut cmd = Command::new(pulse_binary());
    cmd.arg("dlq")
        .args([
            "--direct",
            "--endpoint-url",
            &s.moto.endpoint(),
            "--queue-url",
            &s.dlq,
        ])
        .args(args)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .stdin(Stdio::null());
    let out = cmd.output().unwrap();
    eprintln!(
        "pulse dlq {args:?}\n--- stdout\n{}\n--- stderr\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulse_dlq_inspects_asks_before_moving_and_redrives_with_a_filter() {
    let s = Stack::start().await;
    s.put_mixed().await;
    s.fail_into_dlq().await;

    let out = pulse(&s, &["status"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("dlq") && stdout.contains("pulse-alerts-dlq"),
        "{stdout}"
    );
    assert!(
        stdout
            .lines()
            .any(|l| l.starts_with("dlq") && l.contains(" 50 ")),
        "{stdout}"
    );

    let out = pulse(&s, &["inspect", "--samples", "2"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("examined 50  matched 50"), "{stdout}");
    assert!(
        stdout.contains("alert") && stdout.contains("price_update") && stdout.contains("unparsed")
    );
    assert!(stdout.contains("samples:"));

    let out = pulse(&s, &["inspect", "--json", "--severity", "critical"]);
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["action"], "inspect");
    assert_eq!(report["matched"], 10);
    assert_eq!(report["queue"]["visible"], 50);

    // Without --yes and without a terminal: the dry run is shown, nothing moves.
    let out = pulse(
        &s,
        &[
            "redrive",
            "--event-type",
            "alert",
            "--severity",
            "critical",
            "--reason",
            "receiver back",
        ],
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("DRY RUN") && stderr.contains("would move 10"),
        "{stderr}"
    );
    assert!(stderr.contains("pass --yes"), "{stderr}");
    assert!(
        stderr.contains("receiver back"),
        "the reason is logged: {stderr}"
    );
    assert_eq!(s.counts(&s.dlq).await.visible, 50);

    let out = pulse(
        &s,
        &[
            "redrive",
            "--yes",
            "--json",
            "--event-type",
            "alert",
            "--severity",
            "critical",
            "--rate",
            "100",
            "--reason",
            "receiver back",
        ],
    );
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(report["moved"], 10);
    assert_eq!(report["skipped"]["filter"], 40);
    assert_eq!(report["remaining"]["visible"], 40);
    assert_eq!(s.counts(&s.alerts).await.visible, 10);

    let out = pulse(&s, &["redrive", "--yes", "--protocol", "111"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(stdout.contains("moved 5"), "{stdout}");
    assert!(stdout.contains("(complete)"), "{stdout}");

    // Errors are errors: a bad filter value and a missing queue exit non-zero.
    let out = pulse(&s, &["redrive", "--yes", "--older-than", "2weeks"]);
    assert!(!out.status.success());
    let out = pulse(
        &s,
        &[
            "inspect",
            "--queue-url",
            "http://127.0.0.1:1/123456789012/none",
        ],
    );
    assert!(!out.status.success());
}
