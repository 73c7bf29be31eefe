//! The alerts queue and its dead-letter queue on the emulator, as Terraform creates them
//! (redrive policy maxReceiveCount 3, visibility timeout 300 s), and what the Lambda event
//! source mapping does with them: receive a batch, delete what succeeded, release the rest.

use aws_lambda_events::event::sqs::{SqsEvent, SqsMessage};
use aws_sdk_sqs::Client;
use aws_sdk_sqs::types::{Message, MessageSystemAttributeName, QueueAttributeName};
use pulse_core::event::SqsAlertBody;
use std::collections::HashMap;

/// Receives after which SQS moves a message to the dead-letter queue (SPEC).
pub const MAX_RECEIVE_COUNT: u32 = 3;
/// The alerts queue's visibility timeout, seconds (six consumer timeouts, as in Terraform).
pub const VISIBILITY_SECS: u32 = 300;
/// The alerts queue's name; its dead-letter queue is `{ALERTS}-dlq`.
pub const ALERTS: &str = "pulse-alerts";

/// A queue with its dead-letter queue and redrive policy.
pub struct Queues {
    pub client: Client,
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

    /// Receives up to ten messages from `url` (the queue or its dead-letter queue) and shapes
    /// them as the Lambda event source mapping does.
    pub async fn receive_event(&self, url: &str) -> SqsEvent {
        let out = self
            .client
            .receive_message()
            .queue_url(url)
            .max_number_of_messages(10)
            .message_system_attribute_names(MessageSystemAttributeName::All)
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
