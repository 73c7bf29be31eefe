//! The dead-letter queue's port ([`Queue`]) over SQS, for the redrive operations. Which SDK
//! failures are worth retrying is decided in [`crate::aws`].

use crate::aws::sdk_error;
use aws_sdk_sqs::Client;
use aws_sdk_sqs::error::ProvideErrorMetadata;
use aws_sdk_sqs::operation::start_message_move_task::StartMessageMoveTaskError;
use aws_sdk_sqs::primitives::Blob;
use aws_sdk_sqs::types::{
    BatchResultErrorEntry, ChangeMessageVisibilityBatchRequestEntry,
    DeleteMessageBatchRequestEntry, MessageAttributeValue, MessageSystemAttributeName,
    QueueAttributeName, SendMessageBatchRequestEntry,
};
use pulse_core::ports::PortError;
use pulse_core::ports::queue::{
    AttrValue, EntryFailure, Handle, Message, MoveTask, OutMessage, Queue, QueueCounts,
    StartOutcome, check_batch,
};
use std::collections::{BTreeMap, HashMap};

fn build_error(op: &str, err: impl std::error::Error + Send + Sync + 'static) -> PortError {
    PortError::permanent(format!("{op}: cannot build the request: {err}")).with_source(err)
}

fn entry_failures(failed: &[BatchResultErrorEntry]) -> Vec<EntryFailure> {
    failed
        .iter()
        .map(|f| EntryFailure {
            id: f.id().to_string(),
            error: format!("{}: {}", f.code(), f.message().unwrap_or_default()),
            retryable: !f.sender_fault(),
        })
        .collect()
}

fn to_sdk_attributes(
    attrs: &BTreeMap<String, AttrValue>,
) -> Result<HashMap<String, MessageAttributeValue>, PortError> {
    attrs
        .iter()
        .map(|(name, v)| {
            MessageAttributeValue::builder()
                .data_type(&v.data_type)
                .set_string_value(v.string.clone())
                .set_binary_value(v.binary.clone().map(Blob::new))
                .build()
                .map(|value| (name.clone(), value))
                .map_err(|e| build_error("SendMessageBatch", e))
        })
        .collect()
}

fn from_sdk_attributes(
    attrs: Option<&HashMap<String, MessageAttributeValue>>,
) -> BTreeMap<String, AttrValue> {
    attrs
        .into_iter()
        .flatten()
        .map(|(name, v)| {
            (
                name.clone(),
                AttrValue {
                    data_type: v.data_type().to_string(),
                    string: v.string_value().map(str::to_string),
                    binary: v.binary_value().map(|b| b.as_ref().to_vec()),
                },
            )
        })
        .collect()
}

/// [`Queue`] over an SQS client.
#[derive(Debug, Clone)]
pub struct SqsQueue {
    client: Client,
}

impl SqsQueue {
    pub fn new(client: Client) -> Self {
        SqsQueue { client }
    }

    pub fn from_config(aws: &aws_config::SdkConfig) -> Self {
        SqsQueue {
            client: Client::new(aws),
        }
    }

    pub fn client(&self) -> &Client {
        &self.client
    }
}

impl Queue for SqsQueue {
    async fn receive(
        &self,
        queue_url: &str,
        max: i32,
        visibility_secs: i32,
        wait_secs: i32,
    ) -> Result<Vec<Message>, PortError> {
        let out = self
            .client
            .receive_message()
            .queue_url(queue_url)
            .max_number_of_messages(max.clamp(1, 10))
            .visibility_timeout(visibility_secs)
            .wait_time_seconds(wait_secs)
            .message_attribute_names("All")
            .message_system_attribute_names(MessageSystemAttributeName::ApproximateReceiveCount)
            .message_system_attribute_names(MessageSystemAttributeName::SentTimestamp)
            .send()
            .await
            .map_err(|e| sdk_error("sqs ReceiveMessage", e))?;
        Ok(out
            .messages()
            .iter()
            .filter_map(|m| {
                let system = m.attributes();
                let get = |name: MessageSystemAttributeName| {
                    system.and_then(|a| a.get(&name)).map(String::as_str)
                };
                Some(Message {
                    id: m.message_id()?.to_string(),
                    receipt_handle: m.receipt_handle()?.to_string(),
                    body: m.body().unwrap_or_default().to_string(),
                    attributes: from_sdk_attributes(m.message_attributes()),
                    receive_count: get(MessageSystemAttributeName::ApproximateReceiveCount)
                        .and_then(|s| s.parse().ok())
                        .unwrap_or(0),
                    sent_at_ms: get(MessageSystemAttributeName::SentTimestamp)
                        .and_then(|s| s.parse().ok()),
                })
            })
            .collect())
    }

    async fn set_visibility(
        &self,
        queue_url: &str,
        handles: &[Handle],
        visibility_secs: i32,
    ) -> Result<Vec<EntryFailure>, PortError> {
        check_batch(handles.len())?;
        if handles.is_empty() {
            return Ok(Vec::new());
        }
        let entries = handles
            .iter()
            .enumerate()
            .map(|(i, h)| {
                ChangeMessageVisibilityBatchRequestEntry::builder()
                    .id(format!("v{i}"))
                    .receipt_handle(&h.receipt_handle)
                    .visibility_timeout(visibility_secs)
                    .build()
                    .map_err(|e| build_error("ChangeMessageVisibilityBatch", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .change_message_visibility_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| sdk_error("sqs ChangeMessageVisibilityBatch", e))?;
        Ok(by_message_id(entry_failures(out.failed()), handles, 'v'))
    }

    async fn send_batch(
        &self,
        queue_url: &str,
        messages: &[OutMessage],
    ) -> Result<Vec<EntryFailure>, PortError> {
        check_batch(messages.len())?;
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        let entries = messages
            .iter()
            .map(|m| {
                SendMessageBatchRequestEntry::builder()
                    .id(&m.entry_id)
                    .message_body(&m.body)
                    .set_message_attributes(Some(to_sdk_attributes(&m.attributes)?))
                    .build()
                    .map_err(|e| build_error("SendMessageBatch", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .send_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| sdk_error("sqs SendMessageBatch", e))?;
        Ok(entry_failures(out.failed()))
    }

    async fn delete_batch(
        &self,
        queue_url: &str,
        handles: &[Handle],
    ) -> Result<Vec<EntryFailure>, PortError> {
        check_batch(handles.len())?;
        if handles.is_empty() {
            return Ok(Vec::new());
        }
        let entries = handles
            .iter()
            .enumerate()
            .map(|(i, h)| {
                DeleteMessageBatchRequestEntry::builder()
                    .id(format!("d{i}"))
                    .receipt_handle(&h.receipt_handle)
                    .build()
                    .map_err(|e| build_error("DeleteMessageBatch", e))
            })
            .collect::<Result<Vec<_>, _>>()?;
        let out = self
            .client
            .delete_message_batch()
            .queue_url(queue_url)
            .set_entries(Some(entries))
            .send()
            .await
            .map_err(|e| sdk_error("sqs DeleteMessageBatch", e))?;
        Ok(by_message_id(entry_failures(out.failed()), handles, 'd'))
    }

    async fn counts(&self, queue_url: &str) -> Result<QueueCounts, PortError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessages)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesNotVisible)
            .attribute_names(QueueAttributeName::ApproximateNumberOfMessagesDelayed)
            .send()
            .await
            .map_err(|e| sdk_error("sqs GetQueueAttributes", e))?;
        let get = |name: QueueAttributeName| {
            out.attributes()
                .and_then(|a| a.get(&name))
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Ok(QueueCounts {
            visible: get(QueueAttributeName::ApproximateNumberOfMessages),
            in_flight: get(QueueAttributeName::ApproximateNumberOfMessagesNotVisible),
            delayed: get(QueueAttributeName::ApproximateNumberOfMessagesDelayed),
        })
    }

    async fn queue_arn(&self, queue_url: &str) -> Result<String, PortError> {
        let out = self
            .client
            .get_queue_attributes()
            .queue_url(queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .map_err(|e| sdk_error("sqs GetQueueAttributes", e))?;
        out.attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .cloned()
            .ok_or_else(|| PortError::permanent(format!("{queue_url} has no QueueArn")))
    }

    async fn dead_letter_sources(&self, queue_url: &str) -> Result<Vec<String>, PortError> {
        let mut urls = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let out = self
                .client
                .list_dead_letter_source_queues()
                .queue_url(queue_url)
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk_error("sqs ListDeadLetterSourceQueues", e))?;
            urls.extend(out.queue_urls().iter().cloned());
            match out.next_token() {
                Some(t) if !t.is_empty() => token = Some(t.to_string()),
                _ => return Ok(urls),
            }
        }
    }

    async fn start_move_task(
        &self,
        source_arn: &str,
        destination_arn: Option<&str>,
        max_per_second: Option<i32>,
    ) -> Result<StartOutcome, PortError> {
        let result = self
            .client
            .start_message_move_task()
            .source_arn(source_arn)
            .set_destination_arn(destination_arn.map(str::to_string))
            .set_max_number_of_messages_per_second(max_per_second)
            .send()
            .await;
        match result {
            Ok(out) => Ok(StartOutcome::Started {
                task_handle: out.task_handle().unwrap_or_default().to_string(),
            }),
            Err(err) => {
                // SQS allows one active task per queue; a second start is answered with
                // UnsupportedOperation "There is already a task running...".
                if let Some(service) = err.as_service_error() {
                    let message = match service {
                        StartMessageMoveTaskError::UnsupportedOperation(e) => {
                            e.message().map(str::to_string)
                        }
                        _ => None,
                    }
                    .or_else(|| service.message().map(str::to_string))
                    .unwrap_or_else(|| service.to_string());
                    let unsupported = service.is_unsupported_operation()
                        || service
                            .code()
                            .is_some_and(|c| c.contains("UnsupportedOperation"));
                    if unsupported && message.to_ascii_lowercase().contains("already") {
                        return Ok(StartOutcome::AlreadyRunning { message });
                    }
                }
                Err(sdk_error("sqs StartMessageMoveTask", err))
            }
        }
    }

    async fn list_move_tasks(&self, source_arn: &str) -> Result<Vec<MoveTask>, PortError> {
        let out = self
            .client
            .list_message_move_tasks()
            .source_arn(source_arn)
            .max_results(10)
            .send()
            .await
            .map_err(|e| sdk_error("sqs ListMessageMoveTasks", e))?;
        Ok(out
            .results()
            .iter()
            .map(|t| MoveTask {
                task_handle: t.task_handle().map(str::to_string),
                status: t.status().map(str::to_string),
                source_arn: t.source_arn().map(str::to_string),
                destination_arn: t.destination_arn().map(str::to_string),
                max_messages_per_second: t.max_number_of_messages_per_second(),
                approximate_moved: t.approximate_number_of_messages_moved(),
                approximate_to_move: t.approximate_number_of_messages_to_move(),
                failure_reason: t.failure_reason().map(str::to_string),
                started_at_ms: t.started_timestamp(),
            })
            .collect())
    }

    async fn cancel_move_task(&self, task_handle: &str) -> Result<i64, PortError> {
        let out = self
            .client
            .cancel_message_move_task()
            .task_handle(task_handle)
            .send()
            .await
            .map_err(|e| sdk_error("sqs CancelMessageMoveTask", e))?;
        Ok(out.approximate_number_of_messages_moved())
    }
}

/// Batch entry ids `v0`, `d3`... back to message ids.
fn by_message_id(
    failures: Vec<EntryFailure>,
    handles: &[Handle],
    prefix: char,
) -> Vec<EntryFailure> {
    failures
        .into_iter()
        .map(|mut f| {
            if let Some(h) =
                f.id.strip_prefix(prefix)
                    .and_then(|i| i.parse::<usize>().ok())
                    .and_then(|i| handles.get(i))
            {
                f.id = h.id.clone();
            }
            f
        })
        .collect()
}
