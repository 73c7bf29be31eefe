//! The alert consumer's sends to its own queues, one SendMessage each: a deferred message back
//! to the alerts queue with `DelaySeconds` (a receiver asked to wait, or its rate limit is
//! reached), and a message on its final receive to the dead-letter queue with its
//! `failureReason`. Bodies and attributes go on unchanged, so the copy is the same event
//! (idempotent by `eventId`). Only SendMessage: the consumer's role has `sqs:SendMessage` on
//! the two queues and nothing else here.

use crate::aws::sdk_error;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::MessageAttributeValue;
use pulse_core::ports::PortError;
use pulse_core::ports::queue::AttrValue;
use std::collections::BTreeMap;

/// The longest `DelaySeconds` SQS accepts (15 minutes).
pub const MAX_DELAY_SECS: u32 = 900;
/// SQS allows at most 10 message attributes per message.
pub const MAX_ATTRIBUTES: usize = 10;

#[derive(Debug, Clone)]
pub struct SqsForward {
    client: aws_sdk_sqs::Client,
}

impl SqsForward {
    pub fn new(aws: &aws_config::SdkConfig) -> Self {
        SqsForward {
            client: aws_sdk_sqs::Client::new(aws),
        }
    }

    /// Sends `body` with `attributes` to `queue_url`, delivered after `delay_secs` (capped at
    /// [`MAX_DELAY_SECS`]). Refuses more than [`MAX_ATTRIBUTES`] attributes (AWS would).
    pub async fn send(
        &self,
        queue_url: &str,
        body: &str,
        attributes: &BTreeMap<String, AttrValue>,
        delay_secs: u32,
    ) -> Result<(), PortError> {
        if attributes.len() > MAX_ATTRIBUTES {
            return Err(PortError::permanent(format!(
                "sqs SendMessage: {} message attributes, SQS allows {MAX_ATTRIBUTES}",
                attributes.len()
            )));
        }
        let mut request = self
            .client
            .send_message()
            .queue_url(queue_url)
            .message_body(body)
            .delay_seconds(i32::try_from(delay_secs.min(MAX_DELAY_SECS)).unwrap_or(0));
        for (name, v) in attributes {
            let value = MessageAttributeValue::builder()
                .data_type(&v.data_type)
                .set_string_value(v.string.clone())
                .set_binary_value(v.binary.clone().map(Blob::new))
                .build()
                .map_err(|e| PortError::permanent("sqs message attribute").with_source(e))?;
            request = request.message_attributes(name, value);
        }
        request
            .send()
            .await
            .map(|_| ())
            .map_err(|e| sdk_error("sqs SendMessage", e))
    }
}
