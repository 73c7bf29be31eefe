//! `pulse dlq` end to end: the built binary, run with --direct against moto.

use dlq_redrive::{Budget, Config, Request};
use pulse_adapters::sqs::SqsQueue;
use pulse_tests::Stack;
use pulse_tests::aws::sqs_client;
use pulse_tests::servers::read_request;
use std::io::Write;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

/// The `pulse` binary of this workspace, next to this test's own target directory. Built (a
/// no-op when fresh) before use: a target directory shared with other checkouts may hold
/// another checkout's `pulse`.
fn pulse_binary() -> PathBuf {
    static BUILT: std::sync::Once = std::sync::Once::new();
    let exe = std::env::current_exe().unwrap();
    let dir = exe.parent().and_then(|d| d.parent()).unwrap().to_path_buf();
    BUILT.call_once(|| {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../Cargo.toml");
        let status = Command::new(cargo)
            .args(["build", "--quiet", "-p", "pulse-cli", "--manifest-path"])
            .arg(manifest)
            .status()
            .unwrap();
        assert!(status.success(), "cargo build -p pulse-cli failed");
    });
    let bin = dir.join("pulse");
    assert!(bin.exists(), "no pulse binary at {}", bin.display());
    bin
}

fn pulse(s: &Stack, args: &[&str]) -> Output {
    let endpoint = s.moto().endpoint();
    let direct = [
        "--direct",
        "--endpoint-url",
        endpoint.as_str(),
        "--queue-url",
        s.queues().dlq_url.as_str(),
    ];
    pulse_with(&[&direct[..], args].concat())
}

fn pulse_with(args: &[&str]) -> Output {
    let mut cmd = Command::new(pulse_binary());
    cmd.arg("dlq")
        .args(args)
        .env_remove(pulse_core::env::DEAD_LETTER_QUEUE_URL)
        .env_remove(pulse_core::env::ALERTS_QUEUE_URL)
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
    let s = Stack::builder().queues().start().await;
    s.queues().put_mixed().await;
    s.queues().fail_into_dlq().await;

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
    assert_eq!(s.queues().counts(&s.queues().dlq_url).await.visible, 50);

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
    assert_eq!(s.queues().counts(&s.queues().url).await.visible, 10);

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

/// A stand-in for the Lambda Invoke API on a loopback port: each invocation runs the request
/// through `dlq_redrive::handle` against moto, as the deployed function does, and answers as
/// Lambda does (a function error is a 200 with `X-Amz-Function-Error`). Returns the port and
/// the request paths seen.
fn fake_lambda(moto_endpoint: String, dlq: String) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let paths = Arc::new(Mutex::new(Vec::new()));
    let seen = paths.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let queue = SqsQueue::new(sqs_client(&moto_endpoint));
        let config = Config {
            dead_letter_queue_url: dlq,
            alerts_queue_url: None,
            max_redrive_count: 3,
            metrics_namespace: "Pulse".into(),
        };
        for stream in listener.incoming() {
            let mut stream = stream.unwrap();
            let Ok(Some((head, body))) = read_request(&stream) else {
                continue;
            };
            let path = head
                .split_whitespace()
                .nth(1)
                .unwrap_or_default()
                .to_string();
            seen.lock().unwrap().push(path);
            let (extra, payload) = match serde_json::from_slice::<Request>(&body) {
                Ok(request) => match rt.block_on(dlq_redrive::handle(&queue, &config, &request, Budget::unlimited())) {
                    Ok(report) => ("", serde_json::to_string(&report).unwrap()),
                    Err(e) => (
                        "X-Amz-Function-Error: Unhandled\r\n",
                        serde_json::json!({"errorType": e.kind(), "errorMessage": e.to_string()}).to_string(),
                    ),
                },
                Err(e) => (
                    "X-Amz-Function-Error: Unhandled\r\n",
                    serde_json::json!({"errorType": "Runtime.UnmarshalError", "errorMessage": e.to_string()}).to_string(),
                ),
            };
            let _ = write!(
                stream,
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nX-Amz-Executed-Version: $LATEST\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{payload}",
                payload.len()
            );
        }
    });
    (port, paths)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulse_dlq_invokes_the_function_by_name_and_reports_its_errors() {
    let s = Stack::builder().queues().start().await;
    s.queues().put_mixed().await;
    s.queues().fail_into_dlq().await;
    let (port, paths) = fake_lambda(s.moto().endpoint(), s.queues().dlq_url.clone());
    let lambda = format!("http://127.0.0.1:{port}");
    let base = [
        "--endpoint-url",
        lambda.as_str(),
        "--function",
        "pulse-test-dlq-redrive",
        "--region",
        "us-east-1",
    ];

    let out = pulse_with(
        &[
            &base[..],
            &["inspect", "--json", "--event-type", "unparsed"],
        ]
        .concat(),
    );
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        (report["examined"].as_u64(), report["matched"].as_u64()),
        (Some(50), Some(3))
    );
    assert_eq!(
        paths.lock().unwrap().last().map(String::as_str),
        Some("/2015-03-31/functions/pulse-test-dlq-redrive/invocations")
    );

    let out = pulse_with(
        &[
            &base[..],
            &[
                "redrive",
                "--yes",
                "--token",
                "coingecko:bitcoin",
                "--reason",
                "price feed back",
            ],
        ]
        .concat(),
    );
    assert!(out.status.success());
    assert!(
        text(&out.stdout).contains("moved 10"),
        "{}",
        text(&out.stdout)
    );
    assert_eq!(s.queues().counts(&s.queues().url).await.visible, 10);

    // A function error is an error here too, with the function's message.
    let out = pulse_with(
        &[
            &base[..],
            &["redrive", "--yes", "--destination-url", &s.queues().dlq_url],
        ]
        .concat(),
    );
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("pulse-test-dlq-redrive failed")
            && stderr.contains("dead-letter queue itself"),
        "{stderr}"
    );
    assert_eq!(s.queues().counts(&s.queues().dlq_url).await.visible, 40);
}
