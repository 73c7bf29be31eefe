//! The port the operations use: a handful of SQS calls, expressed in our own types so the
//! operations are testable and the SDK stays inside [`crate::sqs`].

use pulse_core::ports::PortError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::future::Future;

/// A message attribute, kept as received so a redrive sends it on unchanged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttrValue {
    /// `String`, `Number`, `Binary`, or a custom type such as `Number.int`.
    pub data_type: String,
    pub string: Option<String>,
    pub binary: Option<Vec<u8>>,
}

impl AttrValue {
    pub fn number(n: u64) -> Self {
        AttrValue {
            data_type: "Number".into(),
            string: Some(n.to_string()),
            binary: None,
        }
    }

    /// For display: the string value, or the size of a binary one.
    pub fn display(&self) -> String {
        match (&self.string, &self.binary) {
            (Some(s), _) => s.clone(),
            (None, Some(b)) => format!("<{} bytes>", b.len()),
            (None, None) => String::new(),
        }
    }
}

/// A received message.
#[derive(Debug, Clone)]
pub struct Message {
    pub id: String,
    pub receipt_handle: String,
    pub body: String,
    pub attributes: BTreeMap<String, AttrValue>,
    /// `ApproximateReceiveCount`.
    pub receive_count: u32,
    /// `SentTimestamp` (ms since the epoch): when the message first entered a queue; SQS keeps
    /// it when the redrive policy moves a message to the dead-letter queue.
    pub sent_at_ms: Option<i64>,
}

impl Message {
    pub fn handle(&self) -> Handle {
        Handle {
            id: self.id.clone(),
            receipt_handle: self.receipt_handle.clone(),
        }
    }
}

/// What identifies a received message for ChangeMessageVisibility and DeleteMessage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handle {
    pub id: String,
    pub receipt_handle: String,
}

/// A message to send.
#[derive(Debug, Clone)]
pub struct OutMessage {
    /// Batch entry id (unique within the batch).
    pub entry_id: String,
    pub body: String,
    pub attributes: BTreeMap<String, AttrValue>,
}

/// One entry of a batch call that failed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EntryFailure {
    /// The batch entry id (for sends) or the message id (for visibility and delete calls).
    pub id: String,
    pub error: String,
    /// False when SQS says the fault is the sender's (SenderFault), true otherwise.
    pub retryable: bool,
}

/// Approximate queue depths (GetQueueAttributes).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct QueueCounts {
    /// ApproximateNumberOfMessages: waiting to be received.
    pub visible: u64,
    /// ApproximateNumberOfMessagesNotVisible: received, not yet deleted or released.
    pub in_flight: u64,
    /// ApproximateNumberOfMessagesDelayed.
    pub delayed: u64,
}

/// A message move task as ListMessageMoveTasks reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct MoveTask {
    pub task_handle: Option<String>,
    /// RUNNING, COMPLETED, CANCELLING, CANCELLED or FAILED.
    pub status: Option<String>,
    pub source_arn: Option<String>,
    pub destination_arn: Option<String>,
    pub max_messages_per_second: Option<i32>,
    pub approximate_moved: i64,
    pub approximate_to_move: Option<i64>,
    pub failure_reason: Option<String>,
    pub started_at_ms: i64,
}

/// What StartMessageMoveTask did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StartOutcome {
    Started {
        task_handle: String,
    },
    /// SQS allows one active task per source queue.
    AlreadyRunning {
        message: String,
    },
}

/// The SQS calls the operations make. Batch calls take at most 10 entries.
pub trait Queue: Send + Sync {
    /// ReceiveMessage with all message attributes, `ApproximateReceiveCount` and `SentTimestamp`.
    fn receive(
        &self,
        queue_url: &str,
        max: i32,
        visibility_secs: i32,
        wait_secs: i32,
    ) -> impl Future<Output = Result<Vec<Message>, PortError>> + Send;

    /// ChangeMessageVisibilityBatch to `visibility_secs` (0 releases the messages).
    fn set_visibility(
        &self,
        queue_url: &str,
        handles: &[Handle],
        visibility_secs: i32,
    ) -> impl Future<Output = Result<Vec<EntryFailure>, PortError>> + Send;

    /// SendMessageBatch; entries not listed as failed were acknowledged.
    fn send_batch(
        &self,
        queue_url: &str,
        messages: &[OutMessage],
    ) -> impl Future<Output = Result<Vec<EntryFailure>, PortError>> + Send;

    /// DeleteMessageBatch; entries not listed as failed were deleted.
    fn delete_batch(
        &self,
        queue_url: &str,
        handles: &[Handle],
    ) -> impl Future<Output = Result<Vec<EntryFailure>, PortError>> + Send;

    fn counts(
        &self,
        queue_url: &str,
    ) -> impl Future<Output = Result<QueueCounts, PortError>> + Send;

    fn queue_arn(&self, queue_url: &str) -> impl Future<Output = Result<String, PortError>> + Send;

    /// ListDeadLetterSourceQueues: the queues whose redrive policy points at this one.
    fn dead_letter_sources(
        &self,
        queue_url: &str,
    ) -> impl Future<Output = Result<Vec<String>, PortError>> + Send;

    fn start_move_task(
        &self,
        source_arn: &str,
        destination_arn: Option<&str>,
        max_per_second: Option<i32>,
    ) -> impl Future<Output = Result<StartOutcome, PortError>> + Send;

    fn list_move_tasks(
        &self,
        source_arn: &str,
    ) -> impl Future<Output = Result<Vec<MoveTask>, PortError>> + Send;

    /// CancelMessageMoveTask; returns the approximate number of messages already moved.
    fn cancel_move_task(
        &self,
        task_handle: &str,
    ) -> impl Future<Output = Result<i64, PortError>> + Send;
}
