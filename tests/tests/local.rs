//! The README's "whole pipeline on your machine", run literally with the built `pulse`
//! binary against real servers (redis-server and moto_server from the harness, in place of
//! `scripts/local-stack.sh up`): load the shipped sample, one detection tick, then the alert
//! consumer (`pulse local alert`) delivering to `pulse local receiver` on a loopback port,
//! which prints each notification. First without the receiver: every alert fails, stays on
//! the queue, and the error names the fix.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use pulse_tests::Stack;
use pulse_tests::apps::pulse_binary;
use pulse_tests::tables::{COINS_TABLE, EVENTS_TABLE};
use std::io::Read as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

fn workspace() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The local stack's env file, as `scripts/local-stack.sh up` writes it, for these servers;
/// the routes file is the shipped local one with the receiver's port.
fn write_env(stack: &Stack, dir: &Path, receiver_port: u16) -> PathBuf {
    let routes =
        std::fs::read_to_string(workspace().join("functions/alert-consumer/routes.local.toml"))
            .unwrap();
    assert!(routes.contains("http://127.0.0.1:9180/webhook"), "{routes}");
    let routes_file = dir.join("routes.toml");
    std::fs::write(
        &routes_file,
        routes.replace("127.0.0.1:9180", &format!("127.0.0.1:{receiver_port}")),
    )
    .unwrap();
    let mut env = String::new();
    for (k, v) in stack.moto().aws_env() {
        env.push_str(&format!("export {k}={v}\n"));
    }
    for (k, v) in [
        ("PULSE_EVENTS_TABLE", EVENTS_TABLE.to_string()),
        ("PULSE_COINS_TABLE", COINS_TABLE.to_string()),
        ("PULSE_ALERTS_QUEUE_URL", stack.queues().url.clone()),
        (
            "PULSE_DEAD_LETTER_QUEUE_URL",
            stack.queues().dlq_url.clone(),
        ),
        ("PULSE_REDIS_URL", stack.redis().url()),
        ("PULSE_METRICS_MODE", "api".into()),
        ("PULSE_SCAN_SEGMENTS", "2".into()),
        ("PULSE_INITIAL_LOOKBACK_SECS", "86400".into()),
        ("PULSE_ROUTES_FILE", routes_file.display().to_string()),
    ] {
        env.push_str(&format!("export {k}={v}\n"));
    }
    let file = dir.join("env");
    std::fs::write(&file, env).unwrap();
    file
}

/// `pulse local ARGS` from the repository's root with only the env file's settings.
fn local(env_file: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(pulse_binary());
    cmd.current_dir(workspace())
        .arg("local")
        .args(args)
        .arg("--env-file")
        .arg(env_file)
        .stdin(Stdio::null());
    for (k, _) in std::env::vars() {
        if k.starts_with("PULSE_") || k.starts_with("AWS_") {
            cmd.env_remove(k);
        }
    }
    cmd
}

fn run(env_file: &Path, args: &[&str]) -> (Output, String, String) {
    let out = local(env_file, args).output().unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    );
    eprintln!("pulse local {args:?}\n--- stdout\n{stdout}\n--- stderr\n{stderr}");
    (out, stdout, stderr)
}

/// Kills the receiver (a child of this test) when the test ends, also on a panic.
struct Receiver(Child);

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn wait_for_port(port: u16) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "pulse local receiver did not listen on {port}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_goes_from_the_sample_to_the_local_receiver_and_is_printed() {
    let stack = Stack::builder()
        .redis()
        .tables_with_bucket_index()
        .queues()
        .start()
        .await;
    let port = pulse_tests::free_port();
    let dir = std::env::temp_dir().join(format!("pulse-local-{}-{port}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let env = write_env(&stack, &dir, port);

    let (out, stdout, _) = run(
        &env,
        &[
            "load",
            "samples/usdc-depeg-2023-03-11.prices.ndjson",
            "--shift-to-now",
        ],
    );
    assert!(out.status.success());
    assert!(stdout.contains("2400 items written to coins"), "{stdout}");
    let (out, stdout, _) = run(&env, &["tick"]);
    assert!(out.status.success());
    let summary: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let alerts = summary["alertsSent"].as_u64().unwrap();
    assert!(alerts >= 1, "the sample's depeg alerts: {stdout}");

    // No receiver yet: every alert fails, goes back on the queue, and the error says why.
    let (out, stdout, stderr) = run(&env, &["alert"]);
    assert!(!out.status.success());
    assert_eq!(
        stdout.matches("failed     ").count() as u64,
        alerts,
        "{stdout}"
    );
    assert!(stdout.contains("local-webhook: delivered 0"), "{stdout}");
    assert!(stderr.contains("pulse local receiver"), "{stderr}");
    assert!(stderr.contains("back on the queue"), "{stderr}");

    // With the receiver running, the same alerts are delivered and printed.
    let child = local(&env, &["receiver", "--port", &port.to_string()])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut receiver = Receiver(child);
    wait_for_port(port);
    let (out, stdout, _) = run(&env, &["alert"]);
    assert!(out.status.success());
    assert_eq!(
        stdout.matches("handled    ").count() as u64,
        alerts,
        "{stdout}"
    );
    assert!(
        stdout.contains("critical peg_deviation price:coingecko:usd-coin"),
        "{stdout}"
    );
    // One batch: its triggers go before their resolve, so none is dropped as stale.
    let delivered: u64 = stdout
        .split("local-webhook: delivered ")
        .nth(1)
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count for local-webhook: {stdout}"));
    assert_eq!(delivered, alerts, "{stdout}");
    assert!(stdout.contains("failed 0"), "{stdout}");
    assert!(
        stack.drain_alerts().await.is_empty(),
        "handled alerts are deleted"
    );

    let _ = receiver.0.kill();
    let mut printed = String::new();
    receiver
        .0
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut printed)
        .unwrap();
    eprintln!("--- receiver\n{printed}");
    // Each delivered alert is printed, alone or in a grouped notification.
    assert!(printed.contains("=== POST /webhook → 200"), "{printed}");
    assert_eq!(
        printed.matches("eventId ").count() as u64,
        delivered,
        "{printed}"
    );
    assert!(printed.contains("USDC: peg deviation"), "{printed}");
    assert!(
        printed.contains("key price:coingecko:usd-coin"),
        "{printed}"
    );
    assert!(printed.contains("signed (X-Pulse-Signature)"), "{printed}");

    // Run again: nothing is left, and the error says how to get alerts.
    let (out, _, stderr) = run(&env, &["alert"]);
    assert!(!out.status.success());
    assert!(stderr.contains("pulse local tick"), "{stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
