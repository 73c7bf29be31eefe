//! What the alert consumer tests share: a loopback HTTP server per receiver that records
//! requests and answers as told; the application built as production builds it (real Redis);
//! alerts; and the emulated SQS queue (moto) with a real redrive policy.

use alert_consumer::App;
use alert_consumer::clock::ManualClock;
use alert_consumer::config::RoutesFile;
use alert_consumer::secrets::{NoSsm, Secret};
use alert_consumer::startup;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use pulse_adapters::redis::RedisStore;
use pulse_core::event::{
    Alert, AlertRule, Event, Metadata, Payload, Severity, Source, SqsAlertBody,
};
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;

/// How the fake receiver answers.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Status(u16),
    /// Status with a `Retry-After` header (seconds).
    RetryAfter(u16, u64),
    /// Answer 200 after a delay.
    Slow(Duration),
    /// Never answer.
    Hang,
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub headers: BTreeMap<String, String>,
    pub body: Vec<u8>,
}

impl Recorded {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("JSON body")
    }
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).map(String::as_str)
    }
}

#[derive(Debug, Default)]
struct ServerState {
    requests: Vec<Recorded>,
    /// Replies used in order, before `default`.
    script: VecDeque<Reply>,
    /// A reply for requests whose body contains the text.
    when_body_contains: Vec<(String, Reply)>,
    default: Option<Reply>,
}

/// A receiver on a loopback port.
pub struct FakeReceiver {
    pub port: u16,
    state: Arc<Mutex<ServerState>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeReceiver {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeReceiver {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(Mutex::new(ServerState::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                let state = shared.clone();
                tokio::spawn(async move {
                    let (read, mut write) = stream.into_split();
                    let mut reader = BufReader::new(read);
                    loop {
                        let mut line = String::new();
                        if reader.read_line(&mut line).await.unwrap_or(0) == 0 {
                            return;
                        }
                        let mut parts = line.split_whitespace();
                        let method = parts.next().unwrap_or_default().to_string();
                        let path = parts.next().unwrap_or_default().to_string();
                        let mut headers = BTreeMap::new();
                        loop {
                            let mut h = String::new();
                            if reader.read_line(&mut h).await.unwrap_or(0) == 0 {
                                return;
                            }
                            let h = h.trim_end();
                            if h.is_empty() {
                                break;
                            }
                            if let Some((k, v)) = h.split_once(':') {
                                headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_string());
                            }
                        }
                        let len: usize = headers
                            .get("content-length")
                            .and_then(|l| l.parse().ok())
                            .unwrap_or(0);
                        let mut body = vec![0u8; len];
                        if reader.read_exact(&mut body).await.is_err() {
                            return;
                        }
                        let reply = {
                            let mut s = state.lock().unwrap();
                            let text = String::from_utf8_lossy(&body).into_owned();
                            let reply = s
                                .when_body_contains
                                .iter()
                                .find(|(needle, _)| text.contains(needle.as_str()))
                                .map(|(_, r)| r.clone())
                                .or_else(|| s.script.pop_front())
                                .or_else(|| s.default.clone())
                                .unwrap_or(Reply::Status(200));
                            s.requests.push(Recorded {
                                method,
                                path,
                                headers,
                                body,
                            });
                            reply
                        };
                        let (status, extra) = match reply {
                            Reply::Status(s) => (s, String::new()),
                            Reply::RetryAfter(s, secs) => (s, format!("retry-after: {secs}\r\n")),
                            Reply::Slow(d) => {
                                tokio::time::sleep(d).await;
                                (200, String::new())
                            }
                            Reply::Hang => {
                                tokio::time::sleep(Duration::from_secs(3600)).await;
                                return;
                            }
                        };
                        let response = format!(
                            "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: 11\r\n{extra}\r\n{{\"ok\":true}}"
                        );
                        if write.write_all(response.as_bytes()).await.is_err() {
                            return;
                        }
                    }
                });
            }
        });
        FakeReceiver { port, state, task }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }
    pub fn requests(&self) -> Vec<Recorded> {
        self.state.lock().unwrap().requests.clone()
    }
    pub fn count(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }
    pub fn answer(&self, reply: Reply) {
        self.state.lock().unwrap().default = Some(reply);
    }
    pub fn then(&self, reply: Reply) {
        self.state.lock().unwrap().script.push_back(reply);
    }
    pub fn answer_when_body_contains(&self, needle: &str, reply: Reply) {
        self.state
            .lock()
            .unwrap()
            .when_body_contains
            .push((needle.to_string(), reply));
    }
    /// Requests whose body mentions `text` (an event id, say).
    pub fn mentioning(&self, text: &str) -> usize {
        self.requests()
            .iter()
            .filter(|r| String::from_utf8_lossy(&r.body).contains(text))
            .count()
    }
}

pub const T0: i64 = 1_796_083_200_000;

/// An alert event; `n` makes the event id unique.
pub fn alert(rule: AlertRule, severity: Severity, key: &str, n: i64) -> Event {
    let token = key.strip_prefix("price:").unwrap_or(key).to_string();
    Event {
        event_id: pulse_core::event::event_id(key, T0 / 1000 + n, rule.as_str()),
        payload: Payload::Alert(Box::new(Alert {
            rule,
            severity,
            key: key.to_string(),
            token_id: Some(token),
            protocol_id: None,
            chain: Some("ethereum".into()),
            symbol: Some("USDC".into()),
            value: 0.97,
            reference: 1.0,
            change_percent: -3.0,
            threshold_percent: 2.0,
            window: None,
            reference_time: None,
            level: 1,
            message: "USDC is 3.00% off its peg".into(),
        })),
        timestamp: T0 + n * 1000,
        source: Source::Dynamodb,
        version: "1.0".into(),
        metadata: Metadata {
            correlation_id: uuid::Uuid::from_u128(n as u128),
            confidence: 0.9,
            processing_time: 5,
            retry_count: 0,
            tags: vec!["token".into(), "large-change".into()],
        },
    }
}

pub fn body(event: &Event) -> String {
    let body: SqsAlertBody = event.to_sqs_body().expect("an alert");
    serde_json::to_string(&body).unwrap()
}

/// An SQS message as Lambda would pass it, without a queue.
pub fn message(id: &str, body: &str) -> SqsMessage {
    let mut m = SqsMessage::default();
    m.message_id = Some(id.to_string());
    m.receipt_handle = Some(format!("rh-{id}"));
    m.body = Some(body.to_string());
    m.event_source = Some("aws:sqs".into());
    m
}

pub fn batch(messages: Vec<SqsMessage>) -> SqsEvent {
    let mut e = SqsEvent::default();
    e.records = messages;
    e
}

pub fn failed_ids(r: &aws_lambda_events::event::sqs::SqsBatchResponse) -> Vec<String> {
    r.batch_item_failures
        .iter()
        .map(|f| f.item_identifier.clone())
        .collect()
}

/// The application with these routes, real Redis, a manual clock at `T0`.
pub async fn app(routes: &str, redis_url: &str) -> (App<RedisStore>, Arc<ManualClock>) {
    let routes = RoutesFile::parse(routes).unwrap_or_else(|e| panic!("{e}"));
    let clock = Arc::new(ManualClock::new(T0));
    let store = RedisStore::connect(&Secret::new(redis_url)).unwrap();
    let app = startup::build(routes, None, &NoSsm, store, clock.clone(), "PulseTest")
        .await
        .unwrap();
    (app, clock)
}

/// Routes sending everything to one webhook.
pub fn one_webhook(url: &str, extra: &str) -> String {
    format!(
        r#"
        [defaults]
        timeout = "2s"
        [route]
        receivers = ["hook"]
        [receivers.hook]
        kind = "webhook"
        url = {{ value = "{url}" }}
        secret = {{ value = "hmac-key" }}
        {extra}
        "#
    )
}

// --- the emulated queue ---------------------------------------------------------------

pub fn sqs_client(endpoint: &str) -> aws_sdk_sqs::Client {
    let config = aws_sdk_sqs::Config::builder()
        .behavior_version(aws_sdk_sqs::config::BehaviorVersion::latest())
        .endpoint_url(endpoint)
        .region(aws_sdk_sqs::config::Region::new("us-east-1"))
        .credentials_provider(aws_sdk_sqs::config::Credentials::new(
            "testing", "testing", None, None, "test",
        ))
        .build();
    aws_sdk_sqs::Client::from_conf(config)
}

pub struct Queues {
    pub client: aws_sdk_sqs::Client,
    pub url: String,
    pub dlq_url: String,
    pub arn: String,
}

/// A queue with a DLQ and a redrive policy (maxReceiveCount 3, as in SPEC).
pub async fn queues(endpoint: &str) -> Queues {
    let client = sqs_client(endpoint);
    let dlq_url = client
        .create_queue()
        .queue_name("alerts-dlq")
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let dlq_arn = client
        .get_queue_attributes()
        .queue_url(&dlq_url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    let policy =
        serde_json::json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}).to_string();
    let url = client
        .create_queue()
        .queue_name("alerts")
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::RedrivePolicy,
            policy,
        )
        .attributes(
            aws_sdk_sqs::types::QueueAttributeName::VisibilityTimeout,
            "300",
        )
        .send()
        .await
        .unwrap()
        .queue_url
        .unwrap();
    let arn = client
        .get_queue_attributes()
        .queue_url(&url)
        .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&aws_sdk_sqs::types::QueueAttributeName::QueueArn]
        .clone();
    Queues {
        client,
        url,
        dlq_url,
        arn,
    }
}

impl Queues {
    pub async fn send(&self, bodies: &[String]) {
        for b in bodies {
            self.client
                .send_message()
                .queue_url(&self.url)
                .message_body(b)
                .send()
                .await
                .unwrap();
        }
    }

    /// Receives up to ten messages and shapes them as the Lambda event source mapping does.
    pub async fn receive(&self, url: &str) -> SqsEvent {
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_system_attribute_names(aws_sdk_sqs::types::MessageSystemAttributeName::All)
            .send()
            .await
            .unwrap();
        let records = out
            .messages
            .unwrap_or_default()
            .into_iter()
            .map(|m| {
                let mut s = SqsMessage::default();
                s.message_id = m.message_id;
                s.receipt_handle = m.receipt_handle;
                s.body = m.body;
                s.md5_of_body = m.md5_of_body;
                s.attributes = m
                    .attributes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| (k.as_str().to_string(), v))
                    .collect::<HashMap<_, _>>();
                s.event_source = Some("aws:sqs".into());
                s.event_source_arn = Some(self.arn.clone());
                s.aws_region = Some("us-east-1".into());
                s
            })
            .collect();
        batch(records)
    }

    /// What the event source mapping does with a response: deletes the messages that did
    /// not fail; the failed ones become visible again (at once here, instead of after the
    /// visibility timeout).
    pub async fn settle(&self, event: &SqsEvent, failed: &[String]) {
        for m in &event.records {
            let id = m.message_id.clone().unwrap_or_default();
            let handle = m.receipt_handle.clone().unwrap_or_default();
            if failed.contains(&id) {
                self.client
                    .change_message_visibility()
                    .queue_url(&self.url)
                    .receipt_handle(handle)
                    .visibility_timeout(0)
                    .send()
                    .await
                    .unwrap();
            } else {
                self.client
                    .delete_message()
                    .queue_url(&self.url)
                    .receipt_handle(handle)
                    .send()
                    .await
                    .unwrap();
            }
        }
    }
}
