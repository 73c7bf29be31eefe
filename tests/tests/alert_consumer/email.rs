//! The email receiver through SES (moto's sesv2 SendEmail): what moto recorded as sent is read
//! back from its `/moto-api/data.json`, so the test fails when nothing was sent. moto, like
//! SES, refuses a sender that is not a verified identity: the test verifies one through the
//! SES API first, and an unverified sender is a permanent failure (MessageRejected).

use alert_consumer::App;
use alert_consumer::clock::ManualClock;
use alert_consumer::config::RoutesFile;
use alert_consumer::secrets::{NoSsm, Secret};
use alert_consumer::startup;
use pulse_adapters::redis::RedisStore;
use pulse_core::event::{AlertRule, Severity};
use pulse_tests::Stack;
use pulse_tests::fixtures::{T0, alert, batch, body, failed_ids, message, with_alert};
use pulse_tests::http_request;
use serde_json::Value;
use std::sync::Arc;

fn routes(from: &str) -> String {
    format!(
        r#"
        [route]
        receivers = ["mail"]
        [receivers.mail]
        kind = "email"
        from = "{from}"
        to = ["oncall@example.org", "desk@example.org"]
        region = "us-east-1"
        "#
    )
}

/// The consumer with one email receiver sending from `from`, through the emulator's SES.
async fn consumer(stack: &Stack, from: &str) -> App<RedisStore> {
    let routes = RoutesFile::parse(&routes(from)).unwrap();
    let store = RedisStore::connect(&Secret::new(stack.redis().url())).unwrap();
    let clock = Arc::new(ManualClock::new(T0));
    let aws = Some(stack.aws());
    startup::build_with_aws(routes, None, &NoSsm, store, clock, "PulseTest", aws)
        .await
        .unwrap()
}

/// The emails moto recorded as sent.
fn sent(stack: &Stack) -> Vec<Value> {
    let (status, text) = http_request(stack.moto().port, "GET", "/moto-api/data.json", "");
    assert_eq!(status, 200, "{text}");
    let data: Value = serde_json::from_str(&text).unwrap();
    data["ses"]["Message"]
        .as_array()
        .cloned()
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_and_its_resolve_go_out_as_emails_through_ses() {
    let stack = Stack::builder().redis().moto().start().await;
    let ses = aws_sdk_sesv2::Client::new(stack.aws());
    ses.create_email_identity()
        .email_identity("alerts@example.org")
        .send()
        .await
        .unwrap();
    let app = consumer(&stack, "Pulse <alerts@example.org>").await;
    let key = "price:coingecko:usd-coin";
    let trigger = alert(AlertRule::PegDeviation, Severity::Critical, key, 1);
    let r = app
        .handle(batch(vec![message("m1", &body(&trigger))]), None)
        .await;
    assert!(failed_ids(&r).is_empty(), "{r:?}");
    let mails = sent(&stack);
    assert_eq!(mails.len(), 1, "{mails:?}");
    let mail = &mails[0];
    assert_eq!(mail["source"], "Pulse <alerts@example.org>");
    assert_eq!(mail["subject"], "[CRITICAL] USDC: peg deviation");
    let text = mail["body"].as_str().unwrap();
    assert!(text.starts_with("USDC is 3.00% off its peg\n"), "{text}");
    assert!(
        text.contains(&format!("event {}", trigger.event_id)),
        "{text}"
    );
    assert_eq!(
        mail["destinations"]["ToAddresses"],
        serde_json::json!(["oncall@example.org", "desk@example.org"])
    );

    // The resolve reaches the receiver that got the trigger, in the short resolved text.
    let resolve = with_alert(alert(AlertRule::PegRecovery, Severity::Info, key, 2), |a| {
        a.status = pulse_core::event::AlertStatus::Resolved;
        a.level = 0;
        a.message = "USDC is back within 1% of its peg".into();
    });
    let r = app
        .handle(batch(vec![message("m2", &body(&resolve))]), None)
        .await;
    assert!(failed_ids(&r).is_empty(), "{r:?}");
    let mails = sent(&stack);
    assert_eq!(mails.len(), 2, "{mails:?}");
    assert_eq!(mails[1]["subject"], "[RESOLVED] USDC: peg deviation");
    assert!(
        mails[1]["body"]
            .as_str()
            .unwrap()
            .starts_with("USDC is back within 1% of its peg\n"),
        "{:?}",
        mails[1]
    );

    // An unverified sender: SES (and moto) reject the message, a permanent failure.
    let app = consumer(&stack, "nobody@unverified.example").await;
    let other = alert(
        AlertRule::PegDeviation,
        Severity::Critical,
        "price:coingecko:tether",
        3,
    );
    let m = message("m3", &body(&other));
    let err = app.handle_message(&m, None).await.unwrap_err();
    assert!(!err.is_retryable(), "{err}");
    assert!(err.to_string().contains("MessageRejected"), "{err}");
    assert_eq!(sent(&stack).len(), 2, "nothing more was sent");
}
