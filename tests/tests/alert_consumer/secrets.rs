//! Receiver secrets from SSM SecureString parameters (emulated), read at start-up.

use alert_consumer::clock::ManualClock;
use alert_consumer::config::RoutesFile;
use alert_consumer::secrets::Secret;
use alert_consumer::startup;
use pulse_adapters::redis::RedisStore;
use pulse_adapters::ssm::SsmSecrets;
use pulse_core::event::{AlertRule, Severity};
use pulse_tests::fixtures::{T0, alert, batch, body, failed_ids, message};
use pulse_tests::{FakeReceiver, Stack};
use std::sync::Arc;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn secrets_come_from_ssm_and_never_print() {
    let stack = Stack::builder().redis().moto().start().await;
    let redis = stack.redis();
    let hook = FakeReceiver::start().await;
    let ssm = aws_sdk_ssm::Client::new(stack.aws());
    for (name, value) in [
        ("/pulse/test/hook-url", hook.url("/from-ssm")),
        ("/pulse/test/hook-hmac", "ssm-hmac-key".to_string()),
    ] {
        ssm.put_parameter()
            .name(name)
            .value(value)
            .r#type(aws_sdk_ssm::types::ParameterType::SecureString)
            .send()
            .await
            .unwrap();
    }
    let routes = RoutesFile::parse(
        r#"
        [route]
        receivers = ["hook"]
        [receivers.hook]
        kind = "webhook"
        url = { ssm = "hook-url" }
        secret = { ssm = "/pulse/test/hook-hmac" }
        "#,
    )
    .unwrap();
    let store = RedisStore::connect(&Secret::new(redis.url())).unwrap();
    let app = startup::build(
        routes.clone(),
        Some("/pulse/test"),
        &SsmSecrets::from_client(ssm.clone()),
        store,
        Arc::new(ManualClock::new(T0)),
        "PulseTest",
    )
    .await
    .unwrap();
    let e = alert(AlertRule::PegDeviation, Severity::Critical, "price:x", 1);
    let response = app.handle(batch(vec![message("m", &body(&e))]), None).await;
    assert!(failed_ids(&response).is_empty());
    let r = &hook.requests()[0];
    assert_eq!(r.path, "/from-ssm");
    assert_eq!(
        r.header("x-signature").map(str::to_string),
        Some(alert_consumer::receivers::webhook::signature(
            b"ssm-hmac-key",
            &r.body
        ))
    );
    let debug = format!("{app:?}");
    assert!(!debug.contains("ssm-hmac-key") && !debug.contains("/from-ssm"));

    // A missing parameter stops the start-up.
    let missing = startup::build(
        routes,
        Some("/pulse/other"),
        &SsmSecrets::from_client(ssm),
        RedisStore::connect(&Secret::new(redis.url())).unwrap(),
        Arc::new(ManualClock::new(T0)),
        "PulseTest",
    )
    .await;
    assert!(missing.is_err());
}
