//! Alerts to SQS: SPEC bodies with message attributes (eventType, severity, protocolId or
//! tokenId, chain), in SendMessageBatch calls of at most 10 entries. Only the entries that
//! failed are retried, with exponential backoff and full jitter; what is still unsent after
//! the last attempt is a retryable error. An entry SQS refuses as the sender's fault (or one
//! too large to ever send) is refused for good ([`Delivery::refused`]: the caller quarantines
//! it rather than retrying it forever); a whole call refused for good (access denied, no such
//! queue) is a permanent error. Never silent: [`Delivery`] lists what went out, so the caller
//! records it and a rerun sends only the rest.

use crate::aws::{is_retryable, sdk_error};
use aws_sdk_sqs::types::{MessageAttributeValue, SendMessageBatchRequestEntry};
use pulse_core::event::SqsAlertBody;
use pulse_core::ports::{AlertSink, Delivery, PortError};
use std::collections::hash_map::RandomState;
use std::hash::BuildHasher;
use std::time::Duration;
use uuid::Uuid;

/// SQS takes at most 10 entries per batch.
pub const BATCH_ENTRIES: usize = pulse_core::ports::queue::MAX_BATCH;
/// Largest body and largest batch payload sent (the classic SQS limit, 256 KiB).
pub const MAX_PAYLOAD_BYTES: usize = 256 * 1024;

#[derive(Debug, Clone)]
pub struct SqsAlerts {
    pub client: aws_sdk_sqs::Client,
    pub queue_url: String,
    /// Attempts per entry, the first included.
    pub max_attempts: u32,
    pub base_delay: Duration,
    pub max_delay: Duration,
}

impl SqsAlerts {
    pub fn new(aws: &aws_config::SdkConfig, queue_url: impl Into<String>) -> Self {
        SqsAlerts {
            client: aws_sdk_sqs::Client::new(aws),
            queue_url: queue_url.into(),
            max_attempts: 4,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(2),
        }
    }

    /// The smoke test's check of the alerts queue: its ARN (GetQueueAttributes), which
    /// needs the queue to exist and the role to reach it.
    pub async fn probe(&self) -> Result<String, PortError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(&self.queue_url)
            .attribute_names(aws_sdk_sqs::types::QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| sdk_error(&format!("sqs GetQueueAttributes {}", self.queue_url), e))?;
        out.attributes()
            .and_then(|a| a.get(&aws_sdk_sqs::types::QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| PortError::permanent(format!("{} has no QueueArn", self.queue_url)))
    }

    /// Full jitter: a random delay in `0..=min(max, base × 2^attempt)`.
    fn backoff(&self, attempt: u32) -> Duration {
        let cap = self
            .base_delay
            .saturating_mul(1u32 << attempt.min(16))
            .min(self.max_delay);
        let random = RandomState::new().hash_one(attempt);
        let millis = u64::try_from(cap.as_millis()).unwrap_or(u64::MAX);
        Duration::from_millis(random % (millis + 1))
    }
}

/// Message attributes of an alert, for SQS filtering and the consumer's routing.
pub fn attributes(body: &SqsAlertBody) -> Vec<(&'static str, String)> {
    let mut out = vec![("eventType", body.event.event_type().as_str().to_string())];
    if let Some(alert) = body.event.alert() {
        out.push(("severity", alert.severity.as_str().to_string()));
        if let Some(p) = &alert.protocol_id {
            out.push(("protocolId", p.clone()));
        }
        if let Some(t) = &alert.token_id {
            out.push(("tokenId", t.clone()));
        }
        if let Some(c) = &alert.chain {
            out.push(("chain", c.clone()));
        }
    }
    out
}

struct Entry {
    id: Uuid,
    body: String,
    attributes: Vec<(&'static str, String)>,
}

impl Entry {
    fn request(&self, index: usize) -> Result<SendMessageBatchRequestEntry, PortError> {
        let mut builder = SendMessageBatchRequestEntry::builder()
            .id(format!("e{index}"))
            .message_body(&self.body);
        for (name, value) in &self.attributes {
            let value = MessageAttributeValue::builder()
                .data_type("String")
                .string_value(value)
                .build()
                .map_err(|e| PortError::permanent("sqs message attribute").with_source(e))?;
            builder = builder.message_attributes(*name, value);
        }
        builder
            .build()
            .map_err(|e| PortError::permanent("sqs batch entry").with_source(e))
    }
}

/// Splits entries into batches of at most 10 and at most [`MAX_PAYLOAD_BYTES`].
fn batches(entries: &[Entry]) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut size = 0;
    for (i, e) in entries.iter().enumerate() {
        let len = e.body.len()
            + e.attributes
                .iter()
                .map(|(k, v)| k.len() + v.len())
                .sum::<usize>();
        match out.last_mut() {
            Some(batch) if batch.len() < BATCH_ENTRIES && size + len <= MAX_PAYLOAD_BYTES => {
                batch.push(i);
                size += len;
            }
            _ => {
                out.push(vec![i]);
                size = len;
            }
        }
    }
    out
}

impl AlertSink for SqsAlerts {
    async fn deliver(&self, alerts: &[SqsAlertBody]) -> Delivery {
        let mut delivery = Delivery::default();
        // Whole calls refused for good: a configuration fault, not a poison alert.
        let mut permanent: Vec<String> = Vec::new();
        let mut entries = Vec::with_capacity(alerts.len());
        for alert in alerts {
            match serde_json::to_string(alert) {
                Ok(body) if body.len() <= MAX_PAYLOAD_BYTES => entries.push(Entry {
                    id: alert.event.event_id,
                    body,
                    attributes: attributes(alert),
                }),
                Ok(body) => delivery.refused.push((
                    alert.event.event_id,
                    format!(
                        "body of {} bytes exceeds the SQS limit of {MAX_PAYLOAD_BYTES}",
                        body.len()
                    ),
                )),
                Err(e) => delivery
                    .refused
                    .push((alert.event.event_id, format!("not serialisable: {e}"))),
            }
        }
        let mut last_error: Option<PortError> = None;
        let mut attempt = 0;
        while !entries.is_empty() {
            let mut retry: Vec<Entry> = Vec::new();
            let plan = batches(&entries);
            let mut slots: Vec<Option<Entry>> = entries.into_iter().map(Some).collect();
            for batch in plan {
                let mut request = Vec::with_capacity(batch.len());
                let mut build_error = None;
                for &i in &batch {
                    if let Some(e) = &slots[i] {
                        match e.request(i) {
                            Ok(r) => request.push(r),
                            Err(err) => build_error = Some(err),
                        }
                    }
                }
                if let Some(err) = build_error {
                    for &i in &batch {
                        if let Some(e) = slots.get_mut(i).and_then(Option::take) {
                            delivery.refused.push((e.id, err.to_string()));
                        }
                    }
                    continue;
                }
                let result = self
                    .client
                    .send_message_batch()
                    .queue_url(&self.queue_url)
                    .set_entries(Some(request))
                    .send()
                    .await;
                match result {
                    Ok(out) => {
                        for ok in out.successful {
                            if let Some(e) = index_of(&ok.id).and_then(|i| slots.get_mut(i)?.take())
                            {
                                delivery.sent.push(e.id);
                            }
                        }
                        for failed in out.failed {
                            let Some(e) =
                                index_of(&failed.id).and_then(|i| slots.get_mut(i)?.take())
                            else {
                                continue;
                            };
                            let reason =
                                format!("{} {}", failed.code, failed.message.unwrap_or_default());
                            let why = format!("{}: {reason}", e.id);
                            if failed.sender_fault {
                                // SQS refuses this message as it is: sending it again
                                // cannot help.
                                delivery.refused.push((e.id, reason));
                            } else {
                                tracing::warn!(entry = %why, attempt, "sqs entry failed; retrying");
                                last_error = Some(PortError::retryable(why));
                                retry.push(e);
                            }
                        }
                        // Entries SQS answered neither way are retried too.
                        for &i in &batch {
                            if let Some(e) = slots.get_mut(i).and_then(Option::take) {
                                retry.push(e);
                            }
                        }
                    }
                    Err(err) => {
                        let retryable = is_retryable(&err);
                        let error = sdk_error("sqs SendMessageBatch", err);
                        for &i in &batch {
                            if let Some(e) = slots.get_mut(i).and_then(Option::take) {
                                if retryable {
                                    retry.push(e);
                                } else {
                                    permanent.push(format!("{}: {error}", e.id));
                                }
                            }
                        }
                        if retryable {
                            tracing::warn!(error = %error, attempt, "sqs batch failed; retrying");
                            last_error = Some(error);
                        }
                    }
                }
            }
            entries = retry;
            attempt += 1;
            if entries.is_empty() {
                break;
            }
            if attempt >= self.max_attempts {
                let what = format!(
                    "{} alert(s) not accepted by SQS after {attempt} attempts",
                    entries.len()
                );
                let mut error = PortError::retryable(what);
                if let Some(source) = last_error.take() {
                    error = error.with_source(source);
                }
                delivery.error = Some(error);
                break;
            }
            tokio::time::sleep(self.backoff(attempt)).await;
        }
        if !permanent.is_empty() {
            // A permanent failure wins: retrying the batch cannot send these.
            delivery.error = Some(PortError::permanent(format!(
                "{} alert(s) refused by SQS: {}",
                permanent.len(),
                permanent.join("; ")
            )));
        }
        delivery
    }
}

fn index_of(id: &str) -> Option<usize> {
    id.strip_prefix('e')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(len: usize) -> Entry {
        Entry {
            id: Uuid::nil(),
            body: "x".repeat(len),
            attributes: Vec::new(),
        }
    }

    #[test]
    fn batches_hold_ten_entries_and_256_kib() {
        let small: Vec<Entry> = (0..23).map(|_| entry(10)).collect();
        let sizes: Vec<usize> = batches(&small).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![10, 10, 3]);
        let big: Vec<Entry> = (0..3).map(|_| entry(100 * 1024)).collect();
        let sizes: Vec<usize> = batches(&big).iter().map(Vec::len).collect();
        assert_eq!(sizes, vec![2, 1]);
    }
}
