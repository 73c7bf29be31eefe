//! The dead-letter queue's port: the handful of SQS calls the redrive operations make, in our
//! own types, so the operations are testable and the SDK stays in the adapter. Batch calls
//! take at most 10 entries, as SQS allows. [`MemoryQueue`] keeps queues in memory.

use super::{PortError, lock};
use serde::Serialize;
use std::collections::{BTreeMap, VecDeque};
use std::future::Future;
use std::sync::Mutex;

/// The most entries SQS takes in one batch call.
pub const MAX_BATCH: usize = 10;

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

/// Queues in memory, by URL. A received message is in flight until it is deleted or released
/// (visibility 0); there is no timer, so a visibility timeout never lapses on its own. Move
/// tasks are not supported (as in the emulator). Queues must be added first.
#[derive(Debug, Default)]
pub struct MemoryQueue {
    state: Mutex<MemoryQueues>,
}

#[derive(Debug, Default)]
struct MemoryQueues {
    next: u64,
    queues: BTreeMap<String, MemoryQueueState>,
}

#[derive(Debug, Default)]
struct MemoryQueueState {
    visible: VecDeque<Message>,
    /// By receipt handle.
    in_flight: BTreeMap<String, Message>,
    dead_letter_sources: Vec<String>,
}

fn unknown_queue(url: &str) -> PortError {
    PortError::permanent(format!(
        "AWS.SimpleQueueService.NonExistentQueue: no queue at {url}"
    ))
}

impl MemoryQueue {
    /// Adds an empty queue at `url` (its name is the URL's last segment).
    pub fn add_queue(&self, url: &str) -> Result<(), PortError> {
        lock(&self.state, "queue")?
            .queues
            .entry(url.to_string())
            .or_default();
        Ok(())
    }

    /// Says that `source`'s redrive policy points at `dead_letter`.
    pub fn add_dead_letter_source(&self, dead_letter: &str, source: &str) -> Result<(), PortError> {
        let mut s = lock(&self.state, "queue")?;
        s.queues
            .get_mut(dead_letter)
            .ok_or_else(|| unknown_queue(dead_letter))?
            .dead_letter_sources
            .push(source.to_string());
        Ok(())
    }

    /// Bodies of the messages waiting in a queue (not those in flight), oldest first.
    pub fn visible_bodies(&self, url: &str) -> Result<Vec<String>, PortError> {
        let s = lock(&self.state, "queue")?;
        let q = s.queues.get(url).ok_or_else(|| unknown_queue(url))?;
        Ok(q.visible.iter().map(|m| m.body.clone()).collect())
    }
}

fn entry_failure(id: &str, code: &str) -> EntryFailure {
    EntryFailure {
        id: id.to_string(),
        error: code.to_string(),
        retryable: false,
    }
}

/// Refuses a batch call of more than [`MAX_BATCH`] entries, as SQS does (the emulator does
/// not always): every [`Queue`] checks before calling.
pub fn check_batch(n: usize) -> Result<(), PortError> {
    if n > MAX_BATCH {
        return Err(PortError::permanent(format!(
            "AWS.SimpleQueueService.TooManyEntriesInBatchRequest: {n} entries, at most {MAX_BATCH}"
        )));
    }
    Ok(())
}

impl Queue for MemoryQueue {
    async fn receive(
        &self,
        queue_url: &str,
        max: i32,
        _visibility_secs: i32,
        _wait_secs: i32,
    ) -> Result<Vec<Message>, PortError> {
        let mut s = lock(&self.state, "queue")?;
        let MemoryQueues { next, queues } = &mut *s;
        let q = queues
            .get_mut(queue_url)
            .ok_or_else(|| unknown_queue(queue_url))?;
        let n = usize::try_from(max.clamp(1, MAX_BATCH as i32)).unwrap_or(1);
        let mut out = Vec::new();
        while out.len() < n {
            let Some(mut m) = q.visible.pop_front() else {
                break;
            };
            *next += 1;
            m.receipt_handle = format!("rh-{next}");
            m.receive_count += 1;
            q.in_flight.insert(m.receipt_handle.clone(), m.clone());
            out.push(m);
        }
        Ok(out)
    }

    async fn set_visibility(
        &self,
        queue_url: &str,
        handles: &[Handle],
        visibility_secs: i32,
    ) -> Result<Vec<EntryFailure>, PortError> {
        check_batch(handles.len())?;
        let mut s = lock(&self.state, "queue")?;
        let q = s
            .queues
            .get_mut(queue_url)
            .ok_or_else(|| unknown_queue(queue_url))?;
        let mut failed = Vec::new();
        for h in handles {
            if !q.in_flight.contains_key(&h.receipt_handle) {
                failed.push(entry_failure(&h.id, "ReceiptHandleIsInvalid"));
            } else if visibility_secs == 0
                && let Some(m) = q.in_flight.remove(&h.receipt_handle)
            {
                q.visible.push_back(m);
            }
        }
        Ok(failed)
    }

    async fn send_batch(
        &self,
        queue_url: &str,
        messages: &[OutMessage],
    ) -> Result<Vec<EntryFailure>, PortError> {
        check_batch(messages.len())?;
        let mut s = lock(&self.state, "queue")?;
        let MemoryQueues { next, queues } = &mut *s;
        let q = queues
            .get_mut(queue_url)
            .ok_or_else(|| unknown_queue(queue_url))?;
        for m in messages {
            *next += 1;
            q.visible.push_back(Message {
                id: format!("m-{next}"),
                receipt_handle: String::new(),
                body: m.body.clone(),
                attributes: m.attributes.clone(),
                receive_count: 0,
                sent_at_ms: None,
            });
        }
        Ok(Vec::new())
    }

    async fn delete_batch(
        &self,
        queue_url: &str,
        handles: &[Handle],
    ) -> Result<Vec<EntryFailure>, PortError> {
        check_batch(handles.len())?;
        let mut s = lock(&self.state, "queue")?;
        let q = s
            .queues
            .get_mut(queue_url)
            .ok_or_else(|| unknown_queue(queue_url))?;
        Ok(handles
            .iter()
            .filter(|h| q.in_flight.remove(&h.receipt_handle).is_none())
            .map(|h| entry_failure(&h.id, "ReceiptHandleIsInvalid"))
            .collect())
    }

    async fn counts(&self, queue_url: &str) -> Result<QueueCounts, PortError> {
        let s = lock(&self.state, "queue")?;
        let q = s
            .queues
            .get(queue_url)
            .ok_or_else(|| unknown_queue(queue_url))?;
        Ok(QueueCounts {
            visible: q.visible.len() as u64,
            in_flight: q.in_flight.len() as u64,
            delayed: 0,
        })
    }

    async fn queue_arn(&self, queue_url: &str) -> Result<String, PortError> {
        let s = lock(&self.state, "queue")?;
        if !s.queues.contains_key(queue_url) {
            return Err(unknown_queue(queue_url));
        }
        let name = queue_url.rsplit('/').next().unwrap_or(queue_url);
        Ok(format!("arn:aws:sqs:memory:000000000000:{name}"))
    }

    async fn dead_letter_sources(&self, queue_url: &str) -> Result<Vec<String>, PortError> {
        let s = lock(&self.state, "queue")?;
        let q = s
            .queues
            .get(queue_url)
            .ok_or_else(|| unknown_queue(queue_url))?;
        Ok(q.dead_letter_sources.clone())
    }

    async fn start_move_task(
        &self,
        _source_arn: &str,
        _destination_arn: Option<&str>,
        _max_per_second: Option<i32>,
    ) -> Result<StartOutcome, PortError> {
        Err(PortError::permanent(
            "message move tasks are not supported by the in-memory queue",
        ))
    }

    async fn list_move_tasks(&self, _source_arn: &str) -> Result<Vec<MoveTask>, PortError> {
        Ok(Vec::new())
    }

    async fn cancel_move_task(&self, task_handle: &str) -> Result<i64, PortError> {
        Err(PortError::permanent(format!(
            "no move task {task_handle} in the in-memory queue"
        )))
    }
}
