//! A moto SQS stack with the alerts queue and its dead-letter queue (maxReceiveCount 3), and
//! 50 messages of mixed kinds.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_sqs::types::{MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName};
use dlq_redrive::Budget;
use pulse_adapters::sqs::SqsQueue;
use pulse_core::event::{
    Alert, AlertRule, ENVELOPE_VERSION, Event, Metadata, Payload, PriceUpdate, Severity, Source,
    TvlChange, event_id,
};
use pulse_core::ports::queue::{Queue, QueueCounts};
use pulse_tests::MotoServer;
use std::collections::BTreeMap;

pub const MAX_RECEIVE_COUNT: u32 = 3;

pub fn sqs_client(endpoint: &str) -> Client {
    let conf = aws_sdk_sqs::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new("us-east-1"))
        .credentials_provider(Credentials::new("testing", "testing", None, None, "test"))
        .endpoint_url(endpoint)
        .build();
    Client::from_conf(conf)
}

pub struct Stack {
    pub moto: MotoServer,
    pub client: Client,
    pub queue: SqsQueue,
    pub alerts: String,
    pub dlq: String,
}

impl Stack {
    pub async fn start() -> Self {
        let moto = MotoServer::start();
        moto.reset();
        let client = sqs_client(&moto.endpoint());
        let dlq = client
            .create_queue()
            .queue_name("pulse-alerts-dlq")
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let dlq_arn = SqsQueue::new(client.clone()).queue_arn(&dlq).await.unwrap();
        let alerts = client
            .create_queue()
            .queue_name("pulse-alerts")
            .attributes(
                QueueAttributeName::RedrivePolicy,
                format!(
                    r#"{{"deadLetterTargetArn":"{dlq_arn}","maxReceiveCount":"{MAX_RECEIVE_COUNT}"}}"#
                ),
            )
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        Stack {
            queue: SqsQueue::new(client.clone()),
            moto,
            client,
            alerts,
            dlq,
        }
    }

    pub async fn counts(&self, url: &str) -> QueueCounts {
        self.queue.counts(url).await.unwrap()
    }

    pub async fn send(&self, url: &str, index: usize, body: &str, extra: &[(&str, &str)]) {
        let mut req = self
            .client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .message_attributes(
                "index",
                MessageAttributeValue::builder()
                    .data_type("Number")
                    .string_value(index.to_string())
                    .build()
                    .unwrap(),
            )
            .message_attributes(
                "origin",
                MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("detector")
                    .build()
                    .unwrap(),
            );
        for (k, v) in extra {
            req = req.message_attributes(
                *k,
                MessageAttributeValue::builder()
                    .data_type("Number")
                    .string_value(*v)
                    .build()
                    .unwrap(),
            );
        }
        req.send().await.unwrap();
    }

    /// Puts the 50 mixed messages on the alerts queue.
    pub async fn put_mixed(&self) {
        for i in 0..50 {
            self.send(&self.alerts, i, &mixed_body(i), &[]).await;
        }
    }

    /// A consumer that fails every message: receives with visibility timeout 0 until the
    /// redrive policy has moved everything to the dead-letter queue.
    pub async fn fail_into_dlq(&self) {
        for _ in 0..500 {
            let out = self
                .client
                .receive_message()
                .queue_url(&self.alerts)
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .send()
                .await
                .unwrap();
            if out.messages().is_empty()
                && self.counts(&self.alerts).await == QueueCounts::default()
            {
                return;
            }
        }
        panic!("messages never reached the dead-letter queue");
    }

    /// Everything in a queue, by the `index` attribute, with attributes (takes the messages:
    /// call at the end of a test).
    pub async fn take_all(&self, url: &str) -> Vec<Taken> {
        let mut all = Vec::new();
        loop {
            let out = self
                .client
                .receive_message()
                .queue_url(url)
                .max_number_of_messages(10)
                .visibility_timeout(600)
                .message_attribute_names("All")
                .message_system_attribute_names(MessageSystemAttributeName::All)
                .send()
                .await
                .unwrap();
            if out.messages().is_empty() {
                break;
            }
            for m in out.messages() {
                let attrs: BTreeMap<String, String> = m
                    .message_attributes()
                    .into_iter()
                    .flatten()
                    .map(|(k, v)| (k.clone(), v.string_value().unwrap_or_default().to_string()))
                    .collect();
                all.push(Taken {
                    index: attrs["index"].parse().unwrap(),
                    body: m.body().unwrap_or_default().to_string(),
                    attrs,
                });
            }
        }
        all.sort_by_key(|t| t.index);
        all
    }
}

#[derive(Debug, Clone)]
pub struct Taken {
    pub index: usize,
    pub body: String,
    pub attrs: BTreeMap<String, String>,
}

pub fn unlimited() -> Budget {
    Budget::unlimited()
}

fn envelope(i: usize, payload: Payload) -> Event {
    let id = event_id(&format!("key-{i}"), 1_700_000_000 + i as i64, "test");
    Event {
        event_id: id,
        payload,
        timestamp: 1_700_000_000_000 + i as i64,
        source: Source::Scheduled,
        version: ENVELOPE_VERSION.into(),
        metadata: Metadata {
            correlation_id: id,
            confidence: 0.9,
            processing_time: 10,
            retry_count: 0,
            tags: vec!["test".into()],
        },
    }
}

/// Severity of the alerts among the mixed messages: index 0..30 cycle critical, warning, info.
pub fn severity_of(i: usize) -> Option<Severity> {
    (i < 30).then(|| [Severity::Critical, Severity::Warning, Severity::Info][i % 3])
}

/// Index 0..30: alerts (protocol 100..=104 on even indexes, tokens on odd ones);
/// 30..40: price updates; 40..45: TVL changes of protocol 111; 45..48: raw text;
/// 48..50: JSON of another shape.
pub fn mixed_body(i: usize) -> String {
    let body = |event: Event| {
        let priority = event
            .alert()
            .map_or(pulse_core::event::Priority::Low, |a| a.severity.priority());
        serde_json::to_string(&pulse_core::event::SqsAlertBody {
            event,
            priority,
            retry_count: 0,
            timestamp: 1_700_000_000_000,
        })
        .unwrap()
    };
    match i {
        0..30 => body(envelope(
            i,
            Payload::Alert(Box::new(Alert {
                rule: AlertRule::TvlDrop,
                severity: severity_of(i).unwrap(),
                key: format!("tvl:{}", 100 + i % 5),
                token_id: (i % 2 == 1).then(|| format!("coingecko:token-{}", i % 4)),
                protocol_id: i.is_multiple_of(2).then(|| format!("{}", 100 + i % 5)),
                chain: Some(if i % 4 < 2 { "ethereum" } else { "bsc" }.into()),
                symbol: None,
                value: 50.0,
                reference: 100.0,
                change_percent: -50.0,
                threshold_percent: 20.0,
                window: Some("1h".into()),
                reference_time: None,
                level: 1,
                message: format!("alert {i}"),
            })),
        )),
        30..40 => body(envelope(
            i,
            Payload::PriceUpdate(PriceUpdate {
                token_id: "coingecko:bitcoin".into(),
                symbol: Some("BTC".into()),
                chain: None,
                previous_price: 60_000.0,
                current_price: 70_000.0,
                change_percent: 16.7,
                change_absolute: 10_000.0,
                decimals: None,
            }),
        )),
        40..45 => body(envelope(
            i,
            Payload::TvlChange(TvlChange {
                protocol_id: "111".into(),
                protocol_name: "Uniswap".into(),
                chain: Some("ethereum".into()),
                previous_tvl: 1e9,
                current_tvl: 8e8,
                change_percent: -20.0,
                change_absolute: -2e8,
                breakdown: None,
            }),
        )),
        45..48 => format!("not json: receiver said 502 for message {i}"),
        _ => format!(r#"{{"hello":"world","n":{i}}}"#),
    }
}
