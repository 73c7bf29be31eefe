//! Shared set-up for the detector tests: Redis and the AWS emulator, tables and queues,
//! fixtures, a pub/sub listener and readers for SQS, the streams and the stream API.

use aws_config::BehaviorVersion;
use aws_sdk_dynamodb::types::{
    AttributeDefinition, AttributeValue, GlobalSecondaryIndex, KeySchemaElement, KeyType,
    Projection, ProjectionType, PutRequest, ScalarAttributeType, StreamSpecification,
    StreamViewType, WriteRequest,
};
use aws_sdk_sqs::types::QueueAttributeName;
use detector::handler::{Metrics, RealDetector, build, system_now};
use detector::settings::{MetricsMode, Settings};
use futures::StreamExt;
use pulse_adapters::dynamodb::{ReadMode, TIME_BUCKET_ATTRIBUTE, TIME_BUCKET_SECS};
use pulse_core::event::{Event, EventType, SqsAlertBody};
use pulse_core::parse::plain_item;
use pulse_core::record::{Record, UnixSecs};
use pulse_core::state::StateMap;
use pulse_core::{Config, Context, Engine};
use pulse_tests::{MotoServer, RedisServer};
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::task::JoinHandle;

pub const EVENTS_TABLE: &str = "events";
pub const COINS_TABLE: &str = "coins";
pub const BUCKET_INDEX: &str = "byTimeBucket";

/// Redis, the emulator, the tables and the queue, for one test.
pub struct Stack {
    pub redis: RedisServer,
    pub moto: MotoServer,
    pub aws: aws_config::SdkConfig,
    pub queue_url: String,
    pub dlq_url: String,
}

pub fn aws_config_for(endpoint: &str) -> aws_config::SdkConfig {
    aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint)
        .credentials_provider(aws_sdk_dynamodb::config::SharedCredentialsProvider::new(
            aws_sdk_dynamodb::config::Credentials::new("testing", "testing", None, None, "test"),
        ))
        .build()
}

impl Stack {
    pub async fn start() -> Stack {
        Self::start_with(false).await
    }

    /// With `bucket_index`, both tables get the time-bucket GSI.
    pub async fn start_with(bucket_index: bool) -> Stack {
        let redis = RedisServer::start();
        let moto = MotoServer::start();
        let aws = aws_config_for(&moto.endpoint());
        create_table(&aws, EVENTS_TABLE, bucket_index).await;
        create_table(&aws, COINS_TABLE, bucket_index).await;
        let sqs = aws_sdk_sqs::Client::new(&aws);
        let dlq_url = sqs
            .create_queue()
            .queue_name("alerts-dlq")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let dlq_arn = sqs
            .get_queue_attributes()
            .queue_url(&dlq_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .unwrap()
            .attributes
            .unwrap()[&QueueAttributeName::QueueArn]
            .clone();
        let queue_url = sqs
            .create_queue()
            .queue_name("alerts")
            .attributes(QueueAttributeName::VisibilityTimeout, "300")
            .attributes(
                QueueAttributeName::RedrivePolicy,
                json!({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 3}).to_string(),
            )
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        Stack {
            redis,
            moto,
            aws,
            queue_url,
            dlq_url,
        }
    }

    pub fn settings(&self) -> Settings {
        Settings {
            events_table: EVENTS_TABLE.into(),
            coins_table: COINS_TABLE.into(),
            read_mode: ReadMode::Scan { segments: 2 },
            alerts_queue_url: self.queue_url.clone(),
            redis_url: self.redis.url(),
            redis_auth_parameter: None,
            thresholds_file: None,
            metrics_namespace: "PulseTest".into(),
            metrics_mode: MetricsMode::Emf,
            scan_overlap_secs: 300,
            initial_lookback_secs: 3600,
        }
    }

    /// The detector as production builds it, with metrics off.
    pub async fn detector(&self) -> RealDetector {
        let mut d = build(&self.settings(), &self.aws).await.unwrap();
        d.metrics = Metrics::Off;
        d.alerts.base_delay = Duration::from_millis(10);
        d.alerts.max_delay = Duration::from_millis(50);
        d
    }

    pub fn dynamodb(&self) -> aws_sdk_dynamodb::Client {
        aws_sdk_dynamodb::Client::new(&self.aws)
    }

    /// Writes plain-JSON items (numbers as N, strings as S, objects as M) to a table.
    pub async fn put(&self, table: &str, items: &[Value]) {
        put_items(&self.dynamodb(), table, items, false).await;
    }

    pub async fn put_bucketed(&self, table: &str, items: &[Value]) {
        put_items(&self.dynamodb(), table, items, true).await;
    }

    /// Every message on the alerts queue, deleting them.
    pub async fn drain_alerts(&self) -> Vec<aws_sdk_sqs::types::Message> {
        drain(&aws_sdk_sqs::Client::new(&self.aws), &self.queue_url).await
    }

    pub async fn redis_client(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.redis.url())
            .unwrap()
            .get_multiplexed_async_connection()
            .await
            .unwrap()
    }

    pub async fn watermark(&self) -> Option<i64> {
        let mut c = self.redis_client().await;
        redis::cmd("GET")
            .arg("events:last_processed_timestamp")
            .query_async::<Option<i64>>(&mut c)
            .await
            .unwrap()
    }

    /// Event ids appended to a replay stream.
    pub async fn stream_ids(&self, stream: &str) -> Vec<String> {
        let mut c = self.redis_client().await;
        let entries: Vec<(String, Vec<(String, String)>)> = redis::cmd("XRANGE")
            .arg(stream)
            .arg("-")
            .arg("+")
            .query_async(&mut c)
            .await
            .unwrap();
        entries
            .into_iter()
            .filter_map(|(_, fields)| {
                fields
                    .into_iter()
                    .find(|(k, _)| k == "eventId")
                    .map(|(_, v)| v)
            })
            .collect()
    }
}

async fn create_table(aws: &aws_config::SdkConfig, name: &str, bucket_index: bool) {
    let client = aws_sdk_dynamodb::Client::new(aws);
    let attr = |n: &str, t: ScalarAttributeType| {
        AttributeDefinition::builder()
            .attribute_name(n)
            .attribute_type(t)
            .build()
            .unwrap()
    };
    let key = |n: &str, t: KeyType| {
        KeySchemaElement::builder()
            .attribute_name(n)
            .key_type(t)
            .build()
            .unwrap()
    };
    let mut req = client
        .create_table()
        .table_name(name)
        .attribute_definitions(attr("PK", ScalarAttributeType::S))
        .attribute_definitions(attr("SK", ScalarAttributeType::N))
        .key_schema(key("PK", KeyType::Hash))
        .key_schema(key("SK", KeyType::Range))
        .billing_mode(aws_sdk_dynamodb::types::BillingMode::PayPerRequest)
        .stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::NewAndOldImages)
                .build()
                .unwrap(),
        );
    if bucket_index {
        req = req
            .attribute_definitions(attr(TIME_BUCKET_ATTRIBUTE, ScalarAttributeType::N))
            .global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(BUCKET_INDEX)
                    .key_schema(key(TIME_BUCKET_ATTRIBUTE, KeyType::Hash))
                    .key_schema(key("SK", KeyType::Range))
                    .projection(
                        Projection::builder()
                            .projection_type(ProjectionType::All)
                            .build(),
                    )
                    .build()
                    .unwrap(),
            );
    }
    req.send().await.unwrap();
}

pub fn to_attr(v: &Value) -> AttributeValue {
    match v {
        Value::String(s) => AttributeValue::S(s.clone()),
        Value::Number(n) => AttributeValue::N(n.to_string()),
        Value::Bool(b) => AttributeValue::Bool(*b),
        Value::Null => AttributeValue::Null(true),
        Value::Array(a) => AttributeValue::L(a.iter().map(to_attr).collect()),
        Value::Object(o) => {
            AttributeValue::M(o.iter().map(|(k, v)| (k.clone(), to_attr(v))).collect())
        }
    }
}

pub async fn put_items(
    client: &aws_sdk_dynamodb::Client,
    table: &str,
    items: &[Value],
    bucketed: bool,
) {
    for chunk in items.chunks(25) {
        let mut requests = Vec::new();
        for item in chunk {
            let mut map: HashMap<String, AttributeValue> = item
                .as_object()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.clone(), to_attr(v)))
                .collect();
            if bucketed {
                let sk = item["SK"].as_i64().unwrap();
                map.insert(
                    TIME_BUCKET_ATTRIBUTE.into(),
                    AttributeValue::N((sk / TIME_BUCKET_SECS).to_string()),
                );
            }
            requests.push(
                WriteRequest::builder()
                    .put_request(PutRequest::builder().set_item(Some(map)).build().unwrap())
                    .build(),
            );
        }
        let mut pending = Some(HashMap::from([(table.to_string(), requests)]));
        while let Some(batch) = pending.take().filter(|b| !b.is_empty()) {
            let out = client
                .batch_write_item()
                .set_request_items(Some(batch))
                .send()
                .await
                .unwrap();
            pending = out.unprocessed_items.filter(|u| !u.is_empty());
        }
    }
}

pub async fn drain(client: &aws_sdk_sqs::Client, url: &str) -> Vec<aws_sdk_sqs::types::Message> {
    let mut out = Vec::new();
    loop {
        let got = client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_attribute_names("All")
            .wait_time_seconds(0)
            .send()
            .await
            .unwrap()
            .messages
            .unwrap_or_default();
        if got.is_empty() {
            return out;
        }
        for m in &got {
            client
                .delete_message()
                .queue_url(url)
                .receipt_handle(m.receipt_handle().unwrap())
                .send()
                .await
                .unwrap();
        }
        out.extend(got);
    }
}

/// The event ids of messages' bodies.
pub fn alert_ids(messages: &[aws_sdk_sqs::types::Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            let body: SqsAlertBody = serde_json::from_str(m.body().unwrap()).unwrap();
            body.event.event_id.to_string()
        })
        .collect()
}

/// Price records: for each token, a first price and, a minute later, one `jump` times it
/// (a +30 % jump makes a critical price alert).
pub fn price_items(tokens: usize, t0: UnixSecs, jump: f64) -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..tokens {
        for (k, price) in [(0, 100.0), (60, 100.0 * jump)] {
            out.push(json!({
                "PK": format!("coingecko#tok-{i}"),
                "SK": t0 + k,
                "price": price,
                "symbol": format!("T{i}"),
                "decimals": 18,
                "timestamp": t0 + k,
                "confidence": 0.99,
                "adapter": "test",
            }));
        }
    }
    out
}

/// TVL records: per protocol, a first TVL and one that halves an hour later.
pub fn tvl_items(protocols: usize, t0: UnixSecs) -> Vec<Value> {
    let mut out = Vec::new();
    for i in 0..protocols {
        for (k, tvl) in [(0, 200_000_000.0), (60, 100_000_000.0)] {
            out.push(json!({
                "PK": format!("hourlyTvl#{}", 1000 + i),
                "SK": t0 + k,
                "tvl": tvl,
                "ethereum": tvl * 0.75,
                "arbitrum": tvl * 0.25,
                "source": "tvl-adapter",
            }));
        }
    }
    out
}

/// What the engine makes of these items from an empty state, detected at `now`.
pub fn expected_events(items: &[Value], now: UnixSecs) -> Vec<Event> {
    let engine = Engine::new(Config::default());
    let limits = &engine.config().validation;
    let records: Vec<Record> = items
        .iter()
        .filter_map(|v| {
            let text = v.to_string();
            plain_item(&text)
                .and_then(|item| Record::from_item(&item, limits))
                .ok()
        })
        .collect();
    let mut states = StateMap::default();
    let ctx = Context {
        source: pulse_core::event::Source::Scheduled,
        now: Some(now),
    };
    engine.detect_batch(&records, &mut states, &ctx).events
}

pub fn ids_of(events: &[Event], kind: Option<EventType>) -> HashSet<String> {
    events
        .iter()
        .filter(|e| kind.is_none_or(|k| e.event_type() == k))
        .map(|e| e.event_id.to_string())
        .collect()
}

pub fn now() -> UnixSecs {
    system_now()
}

/// Messages received on `events:*`, by channel.
pub struct Listener {
    pub messages: Arc<Mutex<Vec<(String, String)>>>,
    task: JoinHandle<()>,
}

impl Listener {
    pub async fn start(url: &str) -> Listener {
        let client = redis::Client::open(url).unwrap();
        let mut pubsub = client.get_async_pubsub().await.unwrap();
        pubsub.psubscribe("events:*").await.unwrap();
        let messages = Arc::new(Mutex::new(Vec::new()));
        let sink = messages.clone();
        let task = tokio::spawn(async move {
            let mut stream = pubsub.into_on_message();
            while let Some(msg) = stream.next().await {
                let channel = msg.get_channel_name().to_string();
                let payload: String = msg.get_payload().unwrap_or_default();
                sink.lock().unwrap().push((channel, payload));
            }
        });
        Listener { messages, task }
    }

    /// Waits until `n` messages arrived (or 5 s), then returns them.
    pub async fn wait_for(&self, n: usize) -> Vec<(String, String)> {
        for _ in 0..100 {
            if self.messages.lock().unwrap().len() >= n {
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        self.messages.lock().unwrap().clone()
    }

    /// Event ids and the channels each arrived on.
    pub fn by_event(messages: &[(String, String)]) -> BTreeMap<String, Vec<String>> {
        let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for (channel, payload) in messages {
            let v: Value = serde_json::from_str(payload).unwrap();
            out.entry(v["eventId"].as_str().unwrap().to_string())
                .or_default()
                .push(channel.clone());
        }
        out
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// One DynamoDB Streams API call to the emulator (JSON protocol), with no SDK.
pub fn streams_call(port: u16, action: &str, body: &Value) -> Value {
    let body = body.to_string();
    let mut stream = TcpStream::connect(("127.0.0.1", port)).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(30))).ok();
    let request = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: application/x-amz-json-1.0\r\n\
         X-Amz-Target: DynamoDBStreams_20120810.{action}\r\n\
         Authorization: AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=0\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{action}: {head}\n{body}");
    serde_json::from_str(body).unwrap()
}

/// The table's stream read from the emulator, as the Lambda event DynamoDB Streams sends.
pub fn stream_event_of(port: u16, stream_arn: &str) -> Value {
    let described = streams_call(port, "DescribeStream", &json!({"StreamArn": stream_arn}));
    let mut records = Vec::new();
    for shard in described["StreamDescription"]["Shards"].as_array().unwrap() {
        let iterator = streams_call(
            port,
            "GetShardIterator",
            &json!({
                "StreamArn": stream_arn,
                "ShardId": shard["ShardId"],
                "ShardIteratorType": "TRIM_HORIZON",
            }),
        )["ShardIterator"]
            .clone();
        let got = streams_call(
            port,
            "GetRecords",
            &json!({"ShardIterator": iterator, "Limit": 1000}),
        );
        for mut r in got["Records"].as_array().unwrap().clone() {
            r["eventSourceARN"] = json!(stream_arn);
            records.push(r);
        }
    }
    json!({ "Records": records })
}
