//! Where a message goes when it is not simply acknowledged or failed, decided here, sent by
//! `pulse_adapters::sqs::SqsForward`:
//!
//! - **deferred**: every receiver that failed asked to wait (a `Retry-After`, or its rate
//!   limit is reached) for longer than the invocation can: the message goes back to the
//!   alerts queue with `DelaySeconds` (the longest wait, 1 to 900 s), its attributes kept and
//!   [`DEFERRALS`] one higher, and is reported done. The copy is a new message, so the
//!   original's receive count does not grow (ChangeMessageVisibility would not reset it).
//!   After `max_deferrals` a receiver still asking to wait fails the message as any
//!   retryable failure: one that answers 429 forever still reaches the DLQ.
//! - **dead-lettered with its reason**: a message failing on its final receive
//!   (`ApproximateReceiveCount` ≥ the queue's `maxReceiveCount`) is sent to the DLQ with a
//!   [`FAILURE_REASON`] attribute and reported done, instead of being moved there by the
//!   redrive policy without one.
//!
//! Either send failing leaves the message failed, as without this module.

use aws_lambda_events::event::sqs::SqsMessage;
use pulse_adapters::sqs::SqsForward;
use pulse_adapters::sqs::forward::MAX_DELAY_SECS;
use pulse_core::ports::queue::AttrValue;
use std::collections::BTreeMap;
use std::time::Duration;

/// The attribute counting a message's deferrals.
pub const DEFERRALS: &str = "pulseDeferrals";
/// The attribute of a dead letter saying why (`pulse dlq inspect` shows it).
pub const FAILURE_REASON: &str = "failureReason";
/// The longest failure reason kept on a dead letter: room for the first 500 bytes of a few
/// receivers' answers.
pub const FAILURE_REASON_BYTES: usize = 2000;

/// The consumer's own queues, from the environment; each use is off without its URL.
#[derive(Debug, Clone, Default)]
pub struct Queues {
    pub sqs: Option<SqsForward>,
    pub alerts_queue_url: Option<String>,
    pub dead_letter_queue_url: Option<String>,
    pub max_receive_count: u32,
}

impl Queues {
    pub fn disabled() -> Self {
        Queues {
            max_receive_count: crate::config::DEFAULT_MAX_RECEIVE_COUNT,
            ..Queues::default()
        }
    }

    /// Where deferred messages go, when configured.
    pub fn deferral(&self) -> Option<(&SqsForward, &str)> {
        Some((self.sqs.as_ref()?, self.alerts_queue_url.as_deref()?))
    }

    /// Where final failures go, when configured.
    pub fn dead_letter(&self) -> Option<(&SqsForward, &str)> {
        Some((self.sqs.as_ref()?, self.dead_letter_queue_url.as_deref()?))
    }
}

/// The message's attributes as received, to send on unchanged.
pub fn attributes(message: &SqsMessage) -> BTreeMap<String, AttrValue> {
    message
        .message_attributes
        .iter()
        .map(|(name, a)| {
            (
                name.clone(),
                AttrValue {
                    data_type: a.data_type.clone().unwrap_or_else(|| "String".into()),
                    string: a.string_value.clone(),
                    binary: a.binary_value.as_ref().map(|b| b.to_vec()),
                },
            )
        })
        .collect()
}

/// How often the message was deferred already.
pub fn deferrals(message: &SqsMessage) -> u32 {
    message
        .message_attributes
        .get(DEFERRALS)
        .and_then(|a| a.string_value.as_deref())
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0)
}

/// `ApproximateReceiveCount` (1 when absent).
pub fn receive_count(message: &SqsMessage) -> u32 {
    message
        .attributes
        .get("ApproximateReceiveCount")
        .and_then(|v| v.parse().ok())
        .unwrap_or(1)
}

/// The `DelaySeconds` of a deferral for `wait`: whole seconds rounded up, 1 to 900.
pub fn delay_secs(wait: Duration) -> u32 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    u32::try_from(secs)
        .unwrap_or(MAX_DELAY_SECS)
        .clamp(1, MAX_DELAY_SECS)
}

/// The attributes of a deferred copy: the original ones, [`DEFERRALS`] one higher.
pub fn deferred_attributes(message: &SqsMessage) -> BTreeMap<String, AttrValue> {
    let mut attrs = attributes(message);
    attrs.insert(
        DEFERRALS.into(),
        AttrValue::number(u64::from(deferrals(message)) + 1),
    );
    attrs
}

/// The attributes of a dead letter: the original ones and [`FAILURE_REASON`].
pub fn dead_letter_attributes(message: &SqsMessage, reason: &str) -> BTreeMap<String, AttrValue> {
    let mut attrs = attributes(message);
    attrs.insert(
        FAILURE_REASON.into(),
        AttrValue {
            data_type: "String".into(),
            string: Some(crate::receivers::cut(reason, FAILURE_REASON_BYTES)),
            binary: None,
        },
    );
    attrs
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lambda_events::event::sqs::SqsMessageAttribute;

    #[test]
    fn deferral_attributes_and_delays() {
        let mut m = SqsMessage::default();
        let mut severity = SqsMessageAttribute::default();
        severity.data_type = Some("String".into());
        severity.string_value = Some("critical".into());
        m.message_attributes.insert("severity".into(), severity);
        assert_eq!(deferrals(&m), 0);
        let attrs = deferred_attributes(&m);
        assert_eq!(attrs["severity"].string.as_deref(), Some("critical"));
        assert_eq!(attrs[DEFERRALS], AttrValue::number(1));
        let mut counted = SqsMessageAttribute::default();
        counted.data_type = Some("Number".into());
        counted.string_value = Some("4".into());
        m.message_attributes.insert(DEFERRALS.into(), counted);
        assert_eq!(deferred_attributes(&m)[DEFERRALS], AttrValue::number(5));

        assert_eq!(delay_secs(Duration::from_millis(1)), 1);
        assert_eq!(delay_secs(Duration::from_millis(1500)), 2);
        assert_eq!(delay_secs(Duration::from_secs(3600)), 900, "SQS's limit");
        assert_eq!(receive_count(&m), 1);
        m.attributes
            .insert("ApproximateReceiveCount".into(), "3".into());
        assert_eq!(receive_count(&m), 3);

        let long = "x".repeat(5000);
        let reason = dead_letter_attributes(&m, &long)[FAILURE_REASON].display();
        assert!(reason.len() <= FAILURE_REASON_BYTES);
    }
}
