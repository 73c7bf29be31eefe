//! `native`: moto lacks the move-task calls, so these run against the SDK's own mocks: the
//! requests built, the answers read, and the "a task is already running" error.

use aws_sdk_sqs::Client;
use aws_sdk_sqs::operation::cancel_message_move_task::CancelMessageMoveTaskOutput;
use aws_sdk_sqs::operation::get_queue_attributes::GetQueueAttributesOutput;
use aws_sdk_sqs::operation::list_message_move_tasks::ListMessageMoveTasksOutput;
use aws_sdk_sqs::operation::start_message_move_task::{
    StartMessageMoveTaskError, StartMessageMoveTaskOutput,
};
use aws_sdk_sqs::types::error::{RequestThrottled, UnsupportedOperation};
use aws_sdk_sqs::types::{ListMessageMoveTasksResultEntry, QueueAttributeName};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use dlq_redrive::ops::{self, Error};
use dlq_redrive::request::{NativeOp, NativeRequest};
use pulse_adapters::sqs::SqsQueue;

const DLQ: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/pulse-alerts-dlq";
const ARN: &str = "arn:aws:sqs:us-east-1:123456789012:pulse-alerts-dlq";
const ALREADY: &str = "There is already a task running. Only one active task is allowed for a source queue arn at a given time.";

fn arn_rule() -> Rule {
    mock!(Client::get_queue_attributes)
        .match_requests(|r| r.queue_url() == Some(DLQ))
        .then_output(|| {
            GetQueueAttributesOutput::builder()
                .attributes(QueueAttributeName::QueueArn, ARN)
                .build()
        })
}

fn request(op: NativeOp) -> NativeRequest {
    NativeRequest {
        op,
        queue_url: None,
        destination_arn: None,
        rate_per_second: None,
        task_handle: None,
        reason: None,
    }
}

fn running(handle: &str) -> ListMessageMoveTasksResultEntry {
    ListMessageMoveTasksResultEntry::builder()
        .task_handle(handle)
        .status("RUNNING")
        .source_arn(ARN)
        .max_number_of_messages_per_second(50)
        .approximate_number_of_messages_moved(120)
        .approximate_number_of_messages_to_move(400)
        .started_timestamp(1_700_000_000_000)
        .build()
}

#[tokio::test]
async fn start_sends_the_source_arn_and_rate_and_returns_the_task_handle() {
    let arn = arn_rule();
    let start = mock!(Client::start_message_move_task)
        .match_requests(|r| {
            r.source_arn() == Some(ARN)
                && r.max_number_of_messages_per_second() == Some(50)
                && r.destination_arn().is_none()
        })
        .then_output(|| {
            StartMessageMoveTaskOutput::builder()
                .task_handle("task-1")
                .build()
        });
    let q = SqsQueue::new(mock_client!(
        aws_sdk_sqs,
        RuleMode::MatchAny,
        [&arn, &start]
    ));
    let req = NativeRequest {
        rate_per_second: Some(50),
        ..request(NativeOp::Start)
    };
    let r = ops::native(&q, DLQ, &req).await.unwrap();
    assert_eq!(r.op, "start");
    assert_eq!(r.source_arn, ARN);
    assert_eq!(r.task_handle.as_deref(), Some("task-1"));
    assert_eq!(start.num_calls(), 1);
}

#[tokio::test]
async fn start_when_a_task_is_already_running_is_a_clear_non_retryable_error() {
    let arn = arn_rule();
    let start = mock!(Client::start_message_move_task).then_error(|| {
        StartMessageMoveTaskError::UnsupportedOperation(
            UnsupportedOperation::builder().message(ALREADY).build(),
        )
    });
    let q = SqsQueue::new(mock_client!(
        aws_sdk_sqs,
        RuleMode::MatchAny,
        [&arn, &start]
    ));
    let err = ops::native(&q, DLQ, &request(NativeOp::Start))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::TaskAlreadyRunning { .. }), "{err:?}");
    assert!(!err.retryable());
    let text = err.to_string();
    assert!(
        text.contains("already running") && text.contains(ARN),
        "{text}"
    );
    assert!(text.contains("pulse dlq native cancel"), "{text}");
}

#[tokio::test]
async fn throttling_is_retryable_and_a_bad_rate_is_refused_before_calling() {
    let arn = arn_rule();
    let start = mock!(Client::start_message_move_task).then_error(|| {
        StartMessageMoveTaskError::RequestThrottled(
            RequestThrottled::builder().message("slow down").build(),
        )
    });
    let q = SqsQueue::new(mock_client!(
        aws_sdk_sqs,
        RuleMode::MatchAny,
        [&arn, &start]
    ));
    let err = ops::native(&q, DLQ, &request(NativeOp::Start))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Port(_)), "{err:?}");
    assert!(err.retryable(), "{err:?}");

    let before = start.num_calls();
    let bad = NativeRequest {
        rate_per_second: Some(501),
        ..request(NativeOp::Start)
    };
    let err = ops::native(&q, DLQ, &bad).await.unwrap_err();
    assert!(matches!(err, Error::BadRequest(_)));
    assert_eq!(start.num_calls(), before);
}

#[tokio::test]
async fn list_reads_the_tasks() {
    let arn = arn_rule();
    let list = mock!(Client::list_message_move_tasks)
        .match_requests(|r| r.source_arn() == Some(ARN))
        .then_output(|| {
            ListMessageMoveTasksOutput::builder()
                .results(running("task-2"))
                .results(
                    ListMessageMoveTasksResultEntry::builder()
                        .task_handle("task-1")
                        .status("FAILED")
                        .failure_reason("AWS.SimpleQueueService.NonExistentQueue")
                        .approximate_number_of_messages_moved(3)
                        .started_timestamp(1_600_000_000_000)
                        .build(),
                )
                .build()
        });
    let q = SqsQueue::new(mock_client!(aws_sdk_sqs, RuleMode::MatchAny, [&arn, &list]));
    let r = ops::native(&q, DLQ, &request(NativeOp::List))
        .await
        .unwrap();
    assert_eq!(r.tasks.len(), 2);
    let t = &r.tasks[0];
    assert_eq!(t.status.as_deref(), Some("RUNNING"));
    assert_eq!(t.max_messages_per_second, Some(50));
    assert_eq!(
        (t.approximate_moved, t.approximate_to_move),
        (120, Some(400))
    );
    assert_eq!(
        r.tasks[1].failure_reason.as_deref(),
        Some("AWS.SimpleQueueService.NonExistentQueue")
    );
    let report = dlq_redrive::Report::Native(r);
    let line = dlq_redrive::report::emf(&report, "Pulse", None, false, 0);
    assert_eq!(line["MoveTasksRunning"], 1.0);
}

#[tokio::test]
async fn cancel_without_a_handle_cancels_the_running_task() {
    let arn = arn_rule();
    let list = mock!(Client::list_message_move_tasks).then_output(|| {
        ListMessageMoveTasksOutput::builder()
            .results(running("task-9"))
            .build()
    });
    let cancel = mock!(Client::cancel_message_move_task)
        .match_requests(|r| r.task_handle() == Some("task-9"))
        .then_output(|| {
            CancelMessageMoveTaskOutput::builder()
                .approximate_number_of_messages_moved(77)
                .build()
        });
    let q = SqsQueue::new(mock_client!(
        aws_sdk_sqs,
        RuleMode::MatchAny,
        [&arn, &list, &cancel]
    ));
    let r = ops::native(&q, DLQ, &request(NativeOp::Cancel))
        .await
        .unwrap();
    assert_eq!(r.task_handle.as_deref(), Some("task-9"));
    assert_eq!(r.approximate_moved, Some(77));
    assert_eq!(cancel.num_calls(), 1);

    // Nothing running: a clear error, nothing cancelled.
    let idle = mock!(Client::list_message_move_tasks)
        .then_output(|| ListMessageMoveTasksOutput::builder().build());
    let q = SqsQueue::new(mock_client!(
        aws_sdk_sqs,
        RuleMode::MatchAny,
        [&arn, &idle, &cancel]
    ));
    let err = ops::native(&q, DLQ, &request(NativeOp::Cancel))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("no move task is running"), "{err}");
    assert_eq!(cancel.num_calls(), 1);
}
