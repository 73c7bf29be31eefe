//! The real Lambda binary: `cargo lambda watch` serves it, `cargo lambda invoke` sends it the
//! scheduled-event fixture, against Redis and the emulator. Skips where cargo-lambda is absent.

use detector::handler::TickSummary;
use pulse_tests::Stack;
use pulse_tests::fixtures::{now, price_items};
use pulse_tests::tables::COINS_TABLE;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

fn on_path(program: &str) -> bool {
    std::env::var_os("PATH")
        .is_some_and(|paths| std::env::split_paths(&paths).any(|d| d.join(program).is_file()))
}

/// Kills the process group it leads (cargo-lambda and the function it started).
struct Group(Child);

impl Drop for Group {
    fn drop(&mut self) {
        let pgid = self.0.id().to_string();
        let _ = Command::new("kill")
            .args(["-TERM", "--", &format!("-{pgid}")])
            .status();
        let _ = self.0.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cargo_lambda_watch_and_invoke_run_the_real_binary() {
    if !on_path("cargo-lambda") {
        eprintln!("SKIPPED: cargo-lambda is not on PATH (pip install cargo-lambda)");
        return;
    }
    let stack = Stack::start().await;
    let t0 = now() - 600;
    let items = price_items(2, t0, 1.3);
    stack.put(COINS_TABLE, &items).await;
    let workspace = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    let port = pulse_tests::free_port();
    let s = stack.detector_settings();
    let mut vars = vec![
        format!("PULSE_EVENTS_TABLE={}", s.events_table),
        format!("PULSE_COINS_TABLE={}", s.coins_table),
        format!("PULSE_ALERTS_QUEUE_URL={}", s.alerts_queue_url),
        format!("PULSE_REDIS_URL={}", s.redis_url),
        "PULSE_METRICS_MODE=api".to_string(),
    ];
    for (k, v) in stack.moto().aws_env() {
        vars.push(format!("{k}={v}"));
    }
    let mut watch = pulse_tests::apps::cargo_command("cargo");
    watch
        .current_dir(&workspace)
        .args(["lambda", "watch", "--bin", "detector", "--ignore-changes"])
        .args([
            "--invoke-address",
            "127.0.0.1",
            "--invoke-port",
            &port.to_string(),
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .process_group(0);
    for v in &vars {
        watch.args(["--env-var", v]);
    }
    let _watch = Group(watch.spawn().unwrap());
    let fixture = workspace.join("functions/detector/fixtures/scheduled-event.json");
    // The first invoke builds the binary: allow minutes on two cores.
    let deadline = Instant::now() + Duration::from_secs(900);
    let output = loop {
        let out = pulse_tests::apps::cargo_command("cargo")
            .current_dir(&workspace)
            .args([
                "lambda",
                "invoke",
                "detector",
                "--invoke-address",
                "127.0.0.1",
            ])
            .args(["--invoke-port", &port.to_string()])
            .arg("--data-file")
            .arg(&fixture)
            .output()
            .unwrap();
        if out.status.success() {
            break String::from_utf8_lossy(&out.stdout).to_string();
        }
        assert!(
            Instant::now() < deadline,
            "cargo lambda invoke kept failing: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        tokio::time::sleep(Duration::from_secs(2)).await;
    };
    let summary: TickSummary = serde_json::from_str(output.trim()).unwrap();
    assert_eq!(summary.records, items.len(), "{output}");
    assert!(summary.alerts_sent >= 2, "{output}");
    assert_eq!(stack.watermark().await, Some(t0 + 60));
}
