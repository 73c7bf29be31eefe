//! `pulse local alert`: the alert consumer against the local stack, as the Lambda runs it.
//! Reads the alerts the detector put on the local queue (`PULSE_ALERTS_QUEUE_URL`), hands them
//! to the consumer's own batch handler (routes file, Redis idempotency and repeat intervals,
//! receivers) in batches of ten, deletes what it acknowledged and puts the failures back on
//! the queue at once, as SQS would after the visibility timeout. With the local routes file
//! (`functions/alert-consumer/routes.local.toml`) every alert goes to `pulse local receiver`.

use alert_consumer::config::Settings;
use alert_consumer::metrics::Metrics;
use alert_consumer::startup;
use anyhow::{Context as _, bail};
use aws_lambda_events::event::sqs::SqsEvent;
use pulse_adapters::sqs::SqsQueue;
use pulse_adapters::ssm::SsmSecrets;
use pulse_core::env;
use pulse_core::ports::queue::{Handle, Message, Queue};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

/// The routes file when neither `--routes` nor `PULSE_ROUTES_FILE` names one.
pub const LOCAL_ROUTES: &str = "functions/alert-consumer/routes.local.toml";

/// What a message is hidden for while this run handles it (longer than a batch takes).
const VISIBILITY_SECS: i32 = 60;

/// The Lambda's timeout, as Terraform sets it for the consumer.
const BATCH_TIME: Duration = Duration::from_secs(60);

/// The routes file: `--routes`, else `PULSE_ROUTES_FILE`, else the local one.
fn routes_file(given: Option<&Path>, lookup: &impl Fn(&str) -> Option<String>) -> String {
    given
        .map(|p| p.display().to_string())
        .or_else(|| lookup(env::ROUTES_FILE))
        .unwrap_or_else(|| LOCAL_ROUTES.to_string())
}

/// The Lambda's SQS event for these messages.
fn sqs_event(messages: &[Message]) -> anyhow::Result<SqsEvent> {
    let records: Vec<Value> = messages
        .iter()
        .map(|m| {
            json!({
                "messageId": m.id,
                "receiptHandle": m.receipt_handle,
                "body": m.body,
                "attributes": {"ApproximateReceiveCount": m.receive_count.to_string()},
                "messageAttributes": {},
                "eventSource": "aws:sqs",
            })
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).context("build the SQS event")
}

/// `critical peg_deviation price:coingecko:usd-coin (event 8f0c…)` from an alert body.
fn describe(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return "an unparseable body".into();
    };
    let get = |p: &str| v.pointer(p).and_then(Value::as_str).unwrap_or("?");
    format!(
        "{} {} {} (event {})",
        get("/event/data/severity"),
        get("/event/data/rule"),
        get("/event/data/key"),
        get("/event/eventId")
    )
}

/// What a failed start-up means locally, and what to do about it.
fn startup_hint(error: &str, routes: &str) -> String {
    if error.contains("ssm") {
        format!(
            "{routes} reads secrets from SSM, which the local stack does not hold: give them as \
             {{ value = \"...\" }} as {LOCAL_ROUTES} does, or create the SecureString \
             parameters in the emulator"
        )
    } else if error.contains("cannot read routes file") {
        format!(
            "run from the repository's root (the default is {LOCAL_ROUTES}) or pass --routes FILE"
        )
    } else {
        format!("check {routes} (functions/alert-consumer/routes.example.toml documents it)")
    }
}

/// Hands every alert on the local queue to the consumer; at most `max` messages.
pub async fn run(
    lookup: &(impl Fn(&str) -> Option<String> + Sync),
    routes: Option<&Path>,
    max: usize,
) -> anyhow::Result<()> {
    let queue_url = lookup(env::ALERTS_QUEUE_URL).context(
        "PULSE_ALERTS_QUEUE_URL is not set: start the local stack (scripts/local-stack.sh up), \
         which writes it to .local-stack/env",
    )?;
    let redis = lookup(env::REDIS_URL).context(
        "PULSE_REDIS_URL is not set: start the local stack (scripts/local-stack.sh up), \
         which writes it to .local-stack/env",
    )?;
    let routes = routes_file(routes, lookup);
    let settings = Settings::from_lookup(|name| match name {
        env::ROUTES_FILE => Some(routes.clone()),
        _ => lookup(name),
    })?;
    let aws = pulse_adapters::aws::sdk_config(lookup).await;
    let ssm = SsmSecrets::new(&aws);
    let mut app = startup::from_settings(&settings, &ssm, &aws)
        .await
        .map_err(|e| {
            let text = e.to_string();
            anyhow::anyhow!(
                "the alert consumer did not start: {text}: {}",
                startup_hint(&text, &routes)
            )
        })?;
    // The Lambda prints its metrics as EMF lines for CloudWatch; here they would be noise.
    app.metrics = Metrics::new(&settings.metrics_namespace).without_emf();
    println!("routes {routes}; redis {}", redact(&redis));

    let queue = SqsQueue::from_config(&aws);
    let (mut seen, mut failed) = (0usize, Vec::<Handle>::new());
    while seen < max {
        let want = i32::try_from((max - seen).min(10)).unwrap_or(10);
        let messages = queue
            .receive(&queue_url, want, VISIBILITY_SECS, 0)
            .await
            .with_context(|| {
                format!("read the local alerts queue {queue_url}: is the local stack up? (scripts/local-stack.sh up)")
            })?;
        if messages.is_empty() {
            break;
        }
        seen += messages.len();
        let response = app
            .handle(sqs_event(&messages)?, Some(Instant::now() + BATCH_TIME))
            .await;
        let failures: BTreeSet<&str> = response
            .batch_item_failures
            .iter()
            .map(|f| f.item_identifier.as_str())
            .collect();
        // An empty identifier fails the whole batch, as Lambda reads it.
        let all_failed = failures.contains("");
        let mut done = Vec::new();
        for m in &messages {
            let handle = Handle {
                id: m.id.clone(),
                receipt_handle: m.receipt_handle.clone(),
            };
            if all_failed || failures.contains(m.id.as_str()) {
                println!(
                    "failed     {} (receive {} of 3)",
                    describe(&m.body),
                    m.receive_count
                );
                failed.push(handle);
            } else {
                println!("handled    {}", describe(&m.body));
                done.push(handle);
            }
        }
        for chunk in done.chunks(10) {
            let left = queue.delete_batch(&queue_url, chunk).await?;
            for f in left {
                eprintln!("warning: message {} not deleted: {}", f.id, f.error);
            }
        }
    }
    for chunk in failed.chunks(10) {
        queue.set_visibility(&queue_url, chunk, 0).await?;
    }
    for (receiver, c) in app.metrics.totals() {
        println!(
            "{receiver}: delivered {}, failed {}, suppressed {} (already delivered {}, repeat interval {}, silenced {}, stale {})",
            c.delivered,
            c.failed,
            c.suppressed_dedup + c.suppressed_cooldown + c.suppressed_silence + c.suppressed_stale,
            c.suppressed_dedup,
            c.suppressed_cooldown,
            c.suppressed_silence,
            c.suppressed_stale,
        );
    }
    if seen == 0 {
        bail!(
            "no alerts on the local alerts queue: load records and run a detection tick first \
             (pulse local load samples/usdc-depeg-2023-03-11.prices.ndjson --shift-to-now; pulse local tick)"
        );
    }
    if !failed.is_empty() {
        bail!(
            "{} of {seen} alerts failed (reasons above); they are back on the queue: fix the \
             cause and run `pulse local alert` again (is `pulse local receiver` running, on the \
             port the routes file names?). As in AWS, the third failed receive moves a message \
             to the dead-letter queue (pulse dlq)",
            failed.len()
        );
    }
    println!("{seen} alerts handled");
    Ok(())
}

/// A Redis URL without its password.
fn redact(url: &str) -> String {
    match url.split_once('@') {
        Some((scheme_user, host)) => {
            let scheme = scheme_user.split("://").next().unwrap_or("redis");
            format!("{scheme}://***@{host}")
        }
        None => url.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_routes_file_is_the_flag_then_the_environment_then_the_local_one() {
        let none = |_: &str| None;
        assert_eq!(routes_file(None, &none), LOCAL_ROUTES);
        let set = |n: &str| (n == env::ROUTES_FILE).then(|| "/x.toml".to_string());
        assert_eq!(routes_file(None, &set), "/x.toml");
        assert_eq!(routes_file(Some(Path::new("a.toml")), &set), "a.toml");
    }

    #[test]
    fn the_local_routes_file_parses_and_sends_everything_to_the_local_receiver() {
        let text = std::fs::read_to_string(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join(LOCAL_ROUTES),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let routes =
            alert_consumer::config::RoutesFile::parse(&text).unwrap_or_else(|e| panic!("{e}"));
        assert!(text.contains(&format!(
            "127.0.0.1:{}",
            super::super::receiver::DEFAULT_PORT
        )));
        assert!(routes.route.routes.is_empty(), "one route: the root");
        assert!(!text.contains("ssm"), "no SSM secrets locally");
    }

    #[test]
    fn the_cargo_lambda_fixture_is_an_alert_the_consumer_parses() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../functions/alert-consumer/fixtures/sqs-event.json");
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
        let event: SqsEvent = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(event.records.len(), 1);
        let body =
            alert_consumer::handler::parse(&event.records[0]).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            describe(&serde_json::to_string(&body).unwrap_or_default())
                .starts_with("critical peg_deviation price:coingecko:usd-coin")
        );
    }

    #[test]
    fn hints_name_the_fix() {
        assert!(startup_hint("ssm parameter /x was not found", "r.toml").contains("{ value"));
        assert!(startup_hint("cannot read routes file x: No such file", "x").contains("--routes"));
        assert_eq!(redact("redis://:pw@h:1/"), "redis://***@h:1/");
    }
}
