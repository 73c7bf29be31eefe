//! `pulse dlq` end to end: the built binary, run with --direct against moto.

use dlq_redrive::{Budget, Config, Request};
use pulse_adapters::sqs::SqsQueue;
use pulse_tests::Stack;
use pulse_tests::apps::pulse_binary;
use pulse_tests::aws::sqs_client;
use pulse_tests::servers::read_request;
use std::io::Write;
use std::net::TcpListener;
use std::process::{Command, Output, Stdio};
use std::sync::{Arc, Mutex};

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

/// `pulse dlq ARGS` with the emulator's credentials and none of the operator's settings.
fn pulse_command(args: &[&str]) -> Command {
    let mut cmd = Command::new(pulse_binary());
    cmd.arg("dlq")
        .args(args)
        .env_remove(pulse_core::env::DEAD_LETTER_QUEUE_URL)
        .env_remove(pulse_core::env::ALERTS_QUEUE_URL)
        .env_remove(pulse_core::env::DLQ_FUNCTION)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .stdin(Stdio::null());
    cmd
}

fn pulse_with(args: &[&str]) -> Output {
    let out = pulse_command(args).output().unwrap();
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

fn direct_args(s: &Stack) -> Vec<String> {
    vec![
        "--direct".into(),
        "--endpoint-url".into(),
        s.moto().endpoint(),
        "--queue-url".into(),
        s.queues().dlq_url.clone(),
    ]
}

/// Runs `pulse dlq ARGS` on a pseudo-terminal (util-linux `script`), typing `input`: what an
/// operator at a terminal sees, stdout and stderr together.
fn pulse_on_a_terminal(args: &[String], input: &str) -> (bool, String) {
    let quote = |a: &str| format!("'{}'", a.replace('\'', r"'\''"));
    let line = std::iter::once(quote(&pulse_binary().display().to_string()))
        .chain(std::iter::once("dlq".to_string()))
        .chain(args.iter().map(|a| quote(a)))
        .collect::<Vec<_>>()
        .join(" ");
    let mut child = Command::new("script")
        .args(["-q", "-e", "-c", &line, "/dev/null"])
        .env_remove(pulse_core::env::DEAD_LETTER_QUEUE_URL)
        .env_remove(pulse_core::env::ALERTS_QUEUE_URL)
        .env_remove(pulse_core::env::DLQ_FUNCTION)
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_PROFILE")
        .env("AWS_ACCESS_KEY_ID", "testing")
        .env("AWS_SECRET_ACCESS_KEY", "testing")
        .env("AWS_REGION", "us-east-1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux `script` (a pseudo-terminal) is needed: apt-get install bsdutils");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    eprintln!("pulse dlq {args:?} on a terminal\n{all}");
    (out.status.success(), all)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_confirmed_redrive_that_moved_everything_reports_complete_and_shows_progress() {
    let s = Stack::builder().queues().start().await;
    s.queues().put_mixed().await;
    s.queues().fail_into_dlq().await;
    let mut args = direct_args(&s);
    args.extend(["redrive", "--severity", "critical", "--reason", "fixed"].map(String::from));
    let (ok, screen) = pulse_on_a_terminal(&args, "y\n");
    assert!(screen.contains("would move 10"), "{screen}");
    assert!(screen.contains("moved 10"), "{screen}");
    assert!(
        screen.contains("(complete)") && !screen.contains("not complete"),
        "all 10 the operator agreed to moved: {screen}"
    );
    assert!(ok, "a complete redrive exits 0: {screen}");
    assert!(
        screen.contains("/10 moved"),
        "a progress bar on a terminal: {screen}"
    );
    assert_eq!(s.queues().counts(&s.queues().url).await.visible, 10);

    // Not a terminal: no bar on stderr, the report alone on stdout.
    let out = pulse(&s, &["redrive", "--yes", "--severity", "warning"]);
    assert!(out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        !stderr.contains("moved") && !stderr.contains('\r'),
        "no progress bar without a terminal: {stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_incomplete_redrive_exits_non_zero_saying_what_is_left() {
    let s = Stack::builder().queues().start().await;
    s.queues().put_mixed().await;
    s.queues().fail_into_dlq().await;
    let out = pulse(
        &s,
        &[
            "redrive",
            "--yes",
            "--severity",
            "critical",
            "--max-messages",
            "4",
        ],
    );
    assert!(!out.status.success(), "4 of 10 moved: not complete");
    let stdout = text(&out.stdout);
    assert!(stdout.contains("moved 4"), "{stdout}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("not complete") && stderr.contains("--max-messages"),
        "{stderr}"
    );
    // Capped at exactly what matches: complete, exit 0.
    let out = pulse(
        &s,
        &[
            "redrive",
            "--yes",
            "--severity",
            "critical",
            "--max-messages",
            "6",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains("(complete)"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ctrl_c_during_a_direct_redrive_makes_the_held_messages_visible_again() {
    let s = Stack::builder().queues().start().await;
    s.queues().put_mixed().await;
    s.queues().fail_into_dlq().await;
    let direct = direct_args(&s);
    let mut args: Vec<&str> = direct.iter().map(String::as_str).collect();
    // Two a second: the run holds the other severities it has looked at while it paces.
    args.extend(["redrive", "--yes", "--severity", "critical", "--rate", "2"]);
    let child = pulse_command(&args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let q = s.queues();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while q.counts(&q.url).await.visible < 2 {
        assert!(std::time::Instant::now() < deadline, "nothing moved");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let held = q.counts(&q.dlq_url).await.in_flight;
    assert!(held > 0, "the run holds messages it looked at");
    let status = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    let stderr = text(&out.stderr);
    eprintln!("{stderr}");
    assert!(
        !out.status.success(),
        "an interrupted redrive is not a success"
    );
    assert!(stderr.contains("interrupted"), "{stderr}");
    let dlq = q.counts(&q.dlq_url).await;
    let moved = q.counts(&q.url).await.visible;
    assert_eq!(
        dlq.in_flight, 0,
        "nothing left hidden after Ctrl-C: {dlq:?}"
    );
    assert!(moved < 10, "stopped before the end: {moved}");
    assert_eq!(dlq.visible + moved, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn inspect_says_it_raises_receive_counts_and_shows_the_failure_reason() {
    let s = Stack::builder().queues().start().await;
    let q = s.queues();
    let attr = |t: &str, v: &str| {
        aws_sdk_sqs::types::MessageAttributeValue::builder()
            .data_type(t)
            .string_value(v)
            .build()
            .unwrap()
    };
    q.client
        .send_message()
        .queue_url(&q.dlq_url)
        .message_body(pulse_tests::fixtures::mixed_body(0))
        .message_attributes("index", attr("Number", "0"))
        .message_attributes(
            "failureReason",
            attr(
                "String",
                "webhook ops: HTTP 400: {\"error\":\"unknown channel\"}",
            ),
        )
        .send()
        .await
        .unwrap();
    let out = pulse(&s, &["inspect"]);
    assert!(out.status.success());
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("failure reason: webhook ops: HTTP 400: {\"error\":\"unknown channel\"}"),
        "{stdout}"
    );
    assert!(
        stdout.contains("raises its receive count by one"),
        "inspect says what it does to receive counts: {stdout}"
    );
    // And it does: a second look counts one more receive.
    let first = stdout.contains("received 1x");
    let again = text(&pulse(&s, &["inspect"]).stdout);
    assert!(first && again.contains("received 2x"), "{again}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_comes_from_env_or_the_variable_and_errors_are_one_line_naming_the_fix() {
    let s = Stack::builder().queues().start().await;
    s.queues().put_mixed().await;
    s.queues().fail_into_dlq().await;
    let (port, paths) = fake_lambda(s.moto().endpoint(), s.queues().dlq_url.clone());
    let lambda = format!("http://127.0.0.1:{port}");
    let base = ["--endpoint-url", lambda.as_str(), "--region", "us-east-1"];

    // No name at all: no guess, one line naming the ways to give it.
    let out = pulse_with(&[&base[..], &["status"]].concat());
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("--env dev|staging|prod") && stderr.contains("PULSE_DLQ_FUNCTION"),
        "{stderr}"
    );
    assert!(paths.lock().unwrap().is_empty(), "nothing invoked");

    // --env names what Terraform deploys, with its alias.
    let out = pulse_with(&[&base[..], &["--env", "staging", "status"]].concat());
    assert!(out.status.success(), "{}", text(&out.stderr));
    let path = paths.lock().unwrap().last().cloned().unwrap();
    assert!(
        path.contains("/functions/pulse-staging-dlq-redrive%3Alive/"),
        "{path}"
    );

    // PULSE_DLQ_FUNCTION when neither flag is given.
    let out = pulse_command(&[&base[..], &["status"]].concat())
        .env(pulse_core::env::DLQ_FUNCTION, "pulse-ops-dlq-redrive")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let path = paths.lock().unwrap().last().cloned().unwrap();
    assert!(path.contains("/functions/pulse-ops-dlq-redrive/"), "{path}");

    // A function that does not exist (moto's Lambda has none): one line and the fix, no SDK dump.
    let moto = s.moto().endpoint();
    let out = pulse_with(&["--endpoint-url", &moto, "--env", "prod", "status"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("fix:") && stderr.contains("--env"),
        "{stderr}"
    );
    assert!(
        stderr.lines().count() <= 2,
        "one line and its fix: {stderr}"
    );
    for dump in [
        "ServiceError",
        "source:",
        "raw: Response",
        "DispatchFailure",
    ] {
        assert!(!stderr.contains(dump), "{dump} in {stderr}");
    }

    // Nothing listening: one line, the fix names the local stack.
    let out = pulse_with(&[
        "--endpoint-url",
        "http://127.0.0.1:1",
        "--env",
        "dev",
        "status",
    ]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("fix:") && stderr.contains("local-stack.sh"),
        "{stderr}"
    );
    assert_eq!(
        stderr.matches("Connection refused").count(),
        1,
        "the cause once, not once per error in the chain: {stderr}"
    );
    assert!(
        stderr.lines().count() <= 2,
        "one line and its fix: {stderr}"
    );
}
