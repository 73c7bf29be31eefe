//! The alerts queue and its dead-letter queue on the emulator, as Terraform creates them
//! (redrive policy maxReceiveCount 3, visibility timeout 300 s), and what the Lambda event
//! source mapping does with them: receive a batch, delete what succeeded, release the rest;
//! and what the dead-letter tests do: fill it through the redrive policy, count, take all.

use crate::fixtures::mixed_body;
use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{
    Message, MessageAttributeValue, MessageSystemAttributeName, QueueAttributeName,
};
use pulse_adapters::sqs::SqsQueue;
use pulse_core::event::SqsAlertBody;
use pulse_core::ports::queue::{Queue, QueueCounts};
use std::collections::{BTreeMap, HashMap};

/// Receives after which SQS moves a message to the dead-letter queue (SPEC).
pub const MAX_RECEIVE_COUNT: u32 = 3;
/// The alerts queue's visibility timeout, seconds (six consumer timeouts, as in Terraform).
pub const VISIBILITY_SECS: u32 = 300;
/// The alerts queue's name; its dead-letter queue is `{ALERTS}-dlq`.
pub const ALERTS: &str = "pulse-alerts";

/// A queue with its dead-letter queue and redrive policy.
pub struct Queues {
    pub client: Client,
    /// The queue port's adapter on the same client.
    pub queue: SqsQueue,
    pub url: String,
    pub arn: String,
    pub dlq_url: String,
    pub dlq_arn: String,
}

async fn arn_of(client: &Client, url: &str) -> String {
    client
        .get_queue_attributes()
        .queue_url(url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes
        .unwrap()[&QueueAttributeName::QueueArn]
        .clone()
}

impl Queues {
    /// Creates `{name}-dlq`, then `name` with the redrive policy pointing at it.
    pub async fn create(client: &Client, name: &str) -> Queues {
        let dlq_url = client
            .create_queue()
            .queue_name(format!("{name}-dlq"))
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let dlq_arn = arn_of(client, &dlq_url).await;
        let policy = serde_json::json!({
            "deadLetterTargetArn": dlq_arn,
            "maxReceiveCount": MAX_RECEIVE_COUNT,
        });
        let url = client
            .create_queue()
            .queue_name(name)
            .attributes(QueueAttributeName::RedrivePolicy, policy.to_string())
            .attributes(
                QueueAttributeName::VisibilityTimeout,
                VISIBILITY_SECS.to_string(),
            )
            .send()
            .await
            .unwrap()
            .queue_url
            .unwrap();
        let arn = arn_of(client, &url).await;
        Queues {
            client: client.clone(),
            queue: SqsQueue::new(client.clone()),
            url,
            arn,
            dlq_url,
            dlq_arn,
        }
    }

    /// Sends these bodies to the queue, one SendMessage each.
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

    /// Receives up to ten messages from `url` (the queue or its dead-letter queue), with their
    /// message attributes, and shapes them as the Lambda event source mapping does.
    pub async fn receive_event(&self, url: &str) -> SqsEvent {
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
            .message_attribute_names("All")
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
                s.message_attributes = m
                    .message_attributes
                    .unwrap_or_default()
                    .into_iter()
                    .map(|(k, v)| {
                        let mut a = aws_lambda_events::event::sqs::SqsMessageAttribute::default();
                        a.data_type = Some(v.data_type().to_string());
                        a.string_value = v.string_value().map(str::to_string);
                        (k, a)
                    })
                    .collect();
                s.event_source = Some("aws:sqs".into());
                s.event_source_arn = Some(self.arn.clone());
                s.aws_region = Some(crate::aws::REGION.into());
                s
            })
            .collect();
        let mut event = SqsEvent::default();
        event.records = records;
        event
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

    /// Every message in `url` (with its message attributes), deleting them.
    pub async fn drain(&self, url: &str) -> Vec<Message> {
        let mut out = Vec::new();
        loop {
            let got = self
                .client
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
                self.client
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
}

/// A message taken by [`Queues::take_all`]: its `index` attribute, body and attributes.
#[derive(Debug, Clone)]
pub struct Taken {
    pub index: usize,
    pub body: String,
    pub attrs: BTreeMap<String, String>,
}

impl Queues {
    /// Visible, in-flight and delayed messages of `url`, through the adapter.
    pub async fn counts(&self, url: &str) -> QueueCounts {
        self.queue.counts(url).await.unwrap()
    }

    /// Sends `body` to `url` with the message attributes `index` (Number), `origin`
    /// (`detector`) and `extra` (Numbers).
    pub async fn send_indexed(&self, url: &str, index: usize, body: &str, extra: &[(&str, &str)]) {
        let attr = |data_type: &str, value: &str| {
            MessageAttributeValue::builder()
                .data_type(data_type)
                .string_value(value)
                .build()
                .unwrap()
        };
        let mut req = self
            .client
            .send_message()
            .queue_url(url)
            .message_body(body)
            .message_attributes("index", attr("Number", &index.to_string()))
            .message_attributes("origin", attr("String", "detector"));
        for (k, v) in extra {
            req = req.message_attributes(*k, attr("Number", v));
        }
        req.send().await.unwrap();
    }

    /// Puts the 50 mixed messages ([`mixed_body`]) on the queue, indexed 0..50.
    pub async fn put_mixed(&self) {
        for i in 0..50 {
            self.send_indexed(&self.url, i, &mixed_body(i), &[]).await;
        }
    }

    /// A consumer that fails every message: receives with visibility timeout 0 until the
    /// redrive policy has moved everything to the dead-letter queue.
    pub async fn fail_into_dlq(&self) {
        for _ in 0..500 {
            let out = self
                .client
                .receive_message()
                .queue_url(&self.url)
                .max_number_of_messages(10)
                .visibility_timeout(0)
                .send()
                .await
                .unwrap();
            if out.messages().is_empty() && self.counts(&self.url).await == QueueCounts::default() {
                return;
            }
        }
        panic!("messages never reached the dead-letter queue");
    }

    /// Everything in `url`, by the `index` attribute, with attributes (takes the messages:
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

/// The event ids of SQS alert bodies.
pub fn alert_ids(messages: &[Message]) -> Vec<String> {
    messages
        .iter()
        .map(|m| {
            let body: SqsAlertBody = serde_json::from_str(m.body().unwrap()).unwrap();
            body.event.event_id.to_string()
        })
        .collect()
}
