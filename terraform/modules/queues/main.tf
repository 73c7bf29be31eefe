# The alerts queue (detector -> alert consumer) and its dead-letter queue.

locals {
  # AWS's guidance for a Lambda SQS trigger: at least six times the function timeout plus the
  # batching window, so a message is not handed out again while a retried batch still runs.
  visibility_timeout_seconds = max(
    var.min_visibility_timeout_seconds,
    6 * var.consumer_timeout_seconds + var.consumer_batching_window_seconds,
  )
}

resource "aws_sqs_queue" "dlq" {
  name                       = "${var.name}-dlq"
  message_retention_seconds  = var.dlq_message_retention_seconds
  visibility_timeout_seconds = local.visibility_timeout_seconds
  sqs_managed_sse_enabled    = var.kms_master_key_id == null ? true : null
  kms_master_key_id          = var.kms_master_key_id
  tags                       = var.tags
}

resource "aws_sqs_queue" "this" {
  name                       = var.name
  message_retention_seconds  = var.message_retention_seconds
  visibility_timeout_seconds = local.visibility_timeout_seconds
  receive_wait_time_seconds  = var.receive_wait_time_seconds
  sqs_managed_sse_enabled    = var.kms_master_key_id == null ? true : null
  kms_master_key_id          = var.kms_master_key_id

  redrive_policy = jsonencode({
    deadLetterTargetArn = aws_sqs_queue.dlq.arn
    maxReceiveCount     = var.max_receive_count
  })

  tags = var.tags
}

# Only the alerts queue may use the DLQ as its dead-letter queue (and so be the destination of
# a redrive). A separate resource: inline, the two queues would reference each other.
resource "aws_sqs_queue_redrive_allow_policy" "dlq" {
  count = var.create_dlq_redrive_allow_policy ? 1 : 0

  queue_url = aws_sqs_queue.dlq.id

  redrive_allow_policy = jsonencode({
    redrivePermission = "byQueue"
    sourceQueueArns   = [aws_sqs_queue.this.arn]
  })
}
