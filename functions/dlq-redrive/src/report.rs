//! The JSON report each operation returns, the tallies it carries, and the EMF metrics line.

use crate::REDRIVE_COUNT_ATTRIBUTE;
use crate::filter::{Classified, age_bucket, age_secs};
use pulse_core::metrics::{Unit, emf_document};
use pulse_core::ports::queue::{EntryFailure, Message, MoveTask, QueueCounts};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// Counts by key.
pub type Tally = BTreeMap<String, u64>;

fn bump(t: &mut Tally, key: impl Into<String>) {
    *t.entry(key.into()).or_default() += 1;
}

/// What a report of each action holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Report {
    Inspect(InspectReport),
    Redrive(RedriveReport),
    Native(NativeReport),
    Status(StatusReport),
}

/// Why a run stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// Nothing more to receive: the run saw every visible message.
    QueueEmpty,
    /// `max_messages` reached.
    MaxMessages,
    /// The time budget (the Lambda's remaining time less a safety margin) ran out.
    Deadline,
    /// The destination refused a whole batch; the run stopped rather than fail every message.
    DestinationError,
    /// The caller asked it to stop (Ctrl-C in `pulse dlq --direct`); held messages were released.
    Cancelled,
}

/// Counts of messages by what they are.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Tallies {
    pub by_event_type: Tally,
    pub by_severity: Tally,
    pub by_protocol: Tally,
    pub by_token: Tally,
    pub by_chain: Tally,
    pub by_receive_count: Tally,
    pub by_redrive_count: Tally,
    pub by_age: Tally,
}

/// The loop guard's counter on a message (0 when absent or unreadable).
pub fn redrive_count(message: &Message) -> u32 {
    message
        .attributes
        .get(REDRIVE_COUNT_ATTRIBUTE)
        .and_then(|a| a.string.as_deref())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(0)
}

impl Tallies {
    pub fn add(&mut self, message: &Message, class: &Classified, now_ms: i64) {
        bump(&mut self.by_event_type, class.event_type.as_str());
        bump(
            &mut self.by_severity,
            class.severity.as_deref().unwrap_or("none"),
        );
        if let Some(p) = &class.protocol_id {
            bump(&mut self.by_protocol, p.as_str());
        }
        if let Some(t) = &class.token_id {
            bump(&mut self.by_token, t.as_str());
        }
        if let Some(c) = &class.chain {
            bump(&mut self.by_chain, c.as_str());
        }
        bump(
            &mut self.by_receive_count,
            message.receive_count.to_string(),
        );
        bump(
            &mut self.by_redrive_count,
            redrive_count(message).to_string(),
        );
        bump(&mut self.by_age, age_bucket(age_secs(message, now_ms)));
    }
}

/// One message shown in a report, its body cut to a size limit.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub message_id: String,
    pub event_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<String>,
    pub receive_count: u32,
    pub redrive_count: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub age_secs: Option<u64>,
    pub attributes: BTreeMap<String, String>,
    /// The first `sample_bytes` bytes of the body (cut at a character boundary).
    pub body: String,
    pub body_bytes: usize,
    pub body_truncated: bool,
}

/// The longest prefix of `s` of at most `max` bytes that ends on a character boundary.
pub fn cut(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

impl Sample {
    pub fn new(message: &Message, class: &Classified, now_ms: i64, max_bytes: usize) -> Self {
        let body = cut(&message.body, max_bytes);
        Sample {
            message_id: message.id.clone(),
            event_type: class.event_type.clone(),
            severity: class.severity.clone(),
            receive_count: message.receive_count,
            redrive_count: redrive_count(message),
            age_secs: age_secs(message, now_ms),
            attributes: message
                .attributes
                .iter()
                .map(|(k, v)| (k.clone(), v.display()))
                .collect(),
            body: body.to_string(),
            body_bytes: message.body.len(),
            body_truncated: body.len() < message.body.len(),
        }
    }
}

/// What `inspect` saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InspectReport {
    pub queue_url: String,
    /// Messages received and looked at.
    pub examined: u64,
    /// Of those, matching the filter (all, without one); the tallies count these.
    pub matched: u64,
    #[serde(flatten)]
    pub tallies: Tallies,
    pub samples: Vec<Sample>,
    /// Depth of the queue after every message was made visible again.
    pub queue: QueueCounts,
    pub elapsed_ms: u64,
    pub stopped: StopReason,
    /// Messages that could not be made visible again at once: they come back by themselves
    /// when their visibility timeout ends.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub release_failures: Vec<EntryFailure>,
}

/// A message that did not move.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Failure {
    pub message_id: String,
    /// `send`: the destination refused it (it stays in the dead-letter queue);
    /// `delete`: it was sent but could not be deleted (it is now in both queues).
    pub stage: String,
    pub error: String,
    pub retryable: bool,
}

/// Why a message was left in place.
pub mod skip {
    /// It did not match the filter.
    pub const FILTER: &str = "filter";
    /// It was redriven `max_redrive_count` times already (the loop guard).
    pub const REDRIVE_LIMIT: &str = "redrive_limit";
    /// It matched, but `max_messages` was reached first.
    pub const MAX_MESSAGES: &str = "max_messages";
    /// It matched, but the time budget ran out before it was sent.
    pub const DEADLINE: &str = "deadline";
}

/// What `redrive` did, or for a dry run would have done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RedriveReport {
    pub source_queue_url: String,
    pub destination_queue_url: String,
    /// How the destination was chosen: `request`, `redrive_relationship` or `configured`.
    pub destination_from: String,
    pub dry_run: bool,
    /// Messages received and looked at.
    pub examined: u64,
    /// Sent to the destination and deleted from the dead-letter queue.
    pub moved: u64,
    /// Dry run: would have moved.
    pub would_move: u64,
    /// What moved (or would have), by kind.
    pub moving: Tallies,
    /// Dry run: the ids of the first messages that would move.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub would_move_ids: Vec<String>,
    /// Left in place, by reason (see [`skip`]).
    pub skipped: Tally,
    pub failed: Vec<Failure>,
    /// Depth of the dead-letter queue at the end (`visible` is ApproximateNumberOfMessages).
    pub remaining: QueueCounts,
    pub elapsed_ms: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_limit: Option<f64>,
    /// Messages sent per second, from the first send to the last acknowledgement.
    pub achieved_rate: f64,
    pub max_redrive_count: u32,
    pub stopped: StopReason,
    /// True when the run saw the whole queue; false means a second call continues.
    pub complete: bool,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub release_failures: Vec<EntryFailure>,
}

impl RedriveReport {
    pub fn skipped_total(&self) -> u64 {
        self.skipped.values().sum()
    }
}

/// What a `native` call did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NativeReport {
    /// `start`, `list` or `cancel`.
    pub op: String,
    pub source_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_handle: Option<String>,
    /// `cancel`: messages moved before the task stopped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approximate_moved: Option<i64>,
    /// `list`: the most recent tasks (SQS keeps up to 10).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tasks: Vec<MoveTask>,
}

/// Depth of one queue.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QueueStatus {
    pub queue_url: String,
    pub counts: QueueCounts,
}

/// Depths of the dead-letter queue and of the queues feeding it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StatusReport {
    pub dead_letter: QueueStatus,
    pub sources: Vec<QueueStatus>,
}

impl Report {
    pub fn action(&self) -> &'static str {
        match self {
            Report::Inspect(_) => "inspect",
            Report::Redrive(_) => "redrive",
            Report::Native(_) => "native",
            Report::Status(_) => "status",
        }
    }

    /// The metrics of a run: name, value, unit.
    pub fn metrics(&self) -> Vec<(&'static str, f64, Unit)> {
        match self {
            Report::Inspect(r) => vec![
                ("Examined", r.examined as f64, Unit::Count),
                ("Matched", r.matched as f64, Unit::Count),
                ("Remaining", r.queue.visible as f64, Unit::Count),
                ("ElapsedMs", r.elapsed_ms as f64, Unit::Milliseconds),
            ],
            Report::Redrive(r) => vec![
                ("Examined", r.examined as f64, Unit::Count),
                ("Moved", r.moved as f64, Unit::Count),
                ("WouldMove", r.would_move as f64, Unit::Count),
                ("Skipped", r.skipped_total() as f64, Unit::Count),
                (
                    "SkippedRedriveLimit",
                    r.skipped.get(skip::REDRIVE_LIMIT).copied().unwrap_or(0) as f64,
                    Unit::Count,
                ),
                ("Failed", r.failed.len() as f64, Unit::Count),
                ("Remaining", r.remaining.visible as f64, Unit::Count),
                ("ElapsedMs", r.elapsed_ms as f64, Unit::Milliseconds),
            ],
            Report::Native(r) => vec![(
                "MoveTasksRunning",
                r.tasks
                    .iter()
                    .filter(|t| t.status.as_deref() == Some("RUNNING"))
                    .count() as f64,
                Unit::Count,
            )],
            Report::Status(r) => vec![(
                "Remaining",
                r.dead_letter.counts.visible as f64,
                Unit::Count,
            )],
        }
    }
}

/// One CloudWatch embedded-metric-format line for a run, dimensioned by function and action.
pub fn emf(
    report: &Report,
    namespace: &str,
    reason: Option<&str>,
    dry_run: bool,
    timestamp_ms: i64,
) -> Value {
    let metrics: Vec<(&str, Unit, Value)> = report
        .metrics()
        .into_iter()
        .map(|(name, value, unit)| (name, unit, json!(value)))
        .collect();
    emf_document(
        namespace,
        timestamp_ms,
        &[("Function", "dlq-redrive"), ("Action", report.action())],
        &metrics,
        &[
            ("DryRun", json!(dry_run)),
            ("Reason", json!(reason.unwrap_or(""))),
        ],
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::filter::classify;
    use pulse_core::ports::queue::AttrValue;

    fn msg(body: &str, redrives: Option<u64>) -> Message {
        let mut attributes = BTreeMap::new();
        if let Some(n) = redrives {
            attributes.insert(REDRIVE_COUNT_ATTRIBUTE.to_string(), AttrValue::number(n));
        }
        Message {
            id: "id-1".into(),
            receipt_handle: "rh".into(),
            body: body.into(),
            attributes,
            receive_count: 4,
            sent_at_ms: Some(0),
        }
    }

    #[test]
    fn cut_respects_char_boundaries() {
        assert_eq!(cut("hello", 10), "hello");
        assert_eq!(cut("hello", 3), "hel");
        assert_eq!(cut("héllo", 2), "h");
        assert_eq!(cut("", 0), "");
    }

    #[test]
    fn tallies_count_by_kind() {
        let mut t = Tallies::default();
        let m = msg(
            r#"{"eventType":"tvl_change","data":{"protocolId":"111","chain":"bsc"}}"#,
            Some(2),
        );
        t.add(&m, &classify(&m.body), 600_000);
        let raw = msg("garbage", None);
        t.add(&raw, &classify(&raw.body), 600_000);
        assert_eq!(t.by_event_type.get("tvl_change"), Some(&1));
        assert_eq!(t.by_event_type.get("unparsed"), Some(&1));
        assert_eq!(t.by_protocol.get("111"), Some(&1));
        assert_eq!(t.by_chain.get("bsc"), Some(&1));
        assert_eq!(t.by_receive_count.get("4"), Some(&2));
        assert_eq!(t.by_redrive_count.get("2"), Some(&1));
        assert_eq!(t.by_redrive_count.get("0"), Some(&1));
        assert_eq!(t.by_age.get("5m-1h"), Some(&2));
    }

    #[test]
    fn samples_cut_bodies() {
        let m = msg(&"x".repeat(100), Some(1));
        let s = Sample::new(&m, &classify(&m.body), 1000, 10);
        assert_eq!(s.body.len(), 10);
        assert!(s.body_truncated);
        assert_eq!(s.body_bytes, 100);
        assert_eq!(
            s.attributes.get("redriveCount").map(String::as_str),
            Some("1")
        );
    }

    #[test]
    fn emf_line_names_every_metric_and_the_reason() {
        let report = Report::Status(StatusReport {
            dead_letter: QueueStatus {
                queue_url: "q".into(),
                counts: QueueCounts {
                    visible: 7,
                    in_flight: 0,
                    delayed: 0,
                },
            },
            sources: vec![],
        });
        let line = emf(&report, "Pulse", Some("receiver back"), false, 123);
        assert_eq!(line["_aws"]["CloudWatchMetrics"][0]["Namespace"], "Pulse");
        assert_eq!(
            line["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"],
            "Remaining"
        );
        assert_eq!(line["Remaining"], 7.0);
        assert_eq!(line["Action"], "status");
        assert_eq!(line["Reason"], "receiver back");
    }
}
