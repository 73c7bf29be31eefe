//! The JSON request the function takes: `{"action": "inspect" | "redrive" | "native" | "status", ...}`.
//! Unknown fields are rejected, so a misspelt filter never widens a redrive to everything.

use crate::filter::Filter;
use serde::{Deserialize, Serialize};

/// One invocation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
pub enum Request {
    Inspect(InspectRequest),
    Redrive(RedriveRequest),
    Native(NativeRequest),
    Status(StatusRequest),
}

impl Request {
    pub fn action(&self) -> &'static str {
        match self {
            Request::Inspect(_) => "inspect",
            Request::Redrive(_) => "redrive",
            Request::Native(_) => "native",
            Request::Status(_) => "status",
        }
    }

    /// The operator's reason, recorded in the logs.
    pub fn reason(&self) -> Option<&str> {
        match self {
            Request::Inspect(r) => r.reason.as_deref(),
            Request::Redrive(r) => r.reason.as_deref(),
            Request::Native(r) => r.reason.as_deref(),
            Request::Status(r) => r.reason.as_deref(),
        }
    }

    /// The dead-letter queue this request names, if it overrides the configured one.
    pub fn queue_url(&self) -> Option<&str> {
        match self {
            Request::Inspect(r) => r.queue_url.as_deref(),
            Request::Redrive(r) => r.queue_url.as_deref(),
            Request::Native(r) => r.queue_url.as_deref(),
            Request::Status(r) => r.queue_url.as_deref(),
        }
    }
}

/// Look at up to `max_messages` messages without consuming them.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectRequest {
    /// The dead-letter queue; default: the configured one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// Default 100, at most 1,000.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_messages: Option<u32>,
    /// How many sample messages to show (default 5).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub samples: Option<u32>,
    /// Sample bodies are cut to this many bytes (default 512).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample_bytes: Option<u32>,
    /// Count only the messages matching this filter (all are still examined).
    #[serde(default, skip_serializing_if = "Filter::is_empty")]
    pub filter: Filter,
    /// Stop after this many seconds (besides the Lambda's own deadline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_budget_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Move matching messages back.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RedriveRequest {
    /// The dead-letter queue; default: the configured one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// Where to send; default: the queue whose redrive policy points at the dead-letter queue
    /// (ListDeadLetterSourceQueues), else the configured alerts queue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_queue_url: Option<String>,
    /// Report what would move; move nothing.
    #[serde(default)]
    pub dry_run: bool,
    /// Move (or, dry, count) at most this many; default: no limit but the time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_messages: Option<u64>,
    /// Messages sent per second; default: as fast as SQS answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_second: Option<f64>,
    #[serde(default, skip_serializing_if = "Filter::is_empty")]
    pub filter: Filter,
    /// Override of the loop guard (configured default 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_redrive_count: Option<u32>,
    /// Stop after this many seconds (besides the Lambda's own deadline).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_budget_secs: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// SQS's own move task ("move everything").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NativeRequest {
    pub op: NativeOp,
    /// The dead-letter queue; default: the configured one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    /// `start`: where to move; default: the queues the messages came from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub destination_arn: Option<String>,
    /// `start`: MaxNumberOfMessagesPerSecond (1..=500); default: SQS's own.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rate_per_second: Option<i32>,
    /// `cancel`: the task; default: the running one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_handle: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NativeOp {
    Start,
    List,
    Cancel,
}

/// Queue depths of the dead-letter queue and the queues feeding it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StatusRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use serde_json::json;

    #[test]
    fn parses_a_filtered_redrive() {
        let r: Request = serde_json::from_value(json!({
            "action": "redrive",
            "dry_run": true,
            "rate_per_second": 50,
            "filter": {"event_type": ["alert"], "severity": ["critical"], "older_than": "1h",
                       "json_pointer": {"pointer": "/event/data/protocolId", "equals": "111"}},
            "reason": "receiver was down"
        }))
        .unwrap();
        let Request::Redrive(r) = r else {
            panic!("not a redrive")
        };
        assert!(r.dry_run);
        assert_eq!(r.rate_per_second, Some(50.0));
        assert_eq!(r.filter.older_than.map(|a| a.0), Some(3600));
        assert_eq!(r.reason.as_deref(), Some("receiver was down"));
    }

    #[test]
    fn rejects_unknown_fields_so_a_typo_never_widens_a_redrive() {
        let typo = json!({"action": "redrive", "filter": {"severty": ["critical"]}});
        assert!(serde_json::from_value::<Request>(typo).is_err());
        let typo = json!({"action": "redrive", "dryrun": true});
        assert!(serde_json::from_value::<Request>(typo).is_err());
        let unknown = json!({"action": "purge"});
        assert!(serde_json::from_value::<Request>(unknown).is_err());
    }

    #[test]
    fn native_ops() {
        let r: Request = serde_json::from_value(
            json!({"action": "native", "op": "start", "rate_per_second": 10}),
        )
        .unwrap();
        assert_eq!(r.action(), "native");
        let back = serde_json::to_value(&r).unwrap();
        assert_eq!(back["op"], "start");
        assert_eq!(back["action"], "native");
    }
}
