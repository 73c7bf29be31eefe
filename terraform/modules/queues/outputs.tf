output "queue_arn" {
  description = "ARN of the alerts queue."
  value       = aws_sqs_queue.this.arn
}

output "queue_url" {
  description = "URL of the alerts queue."
  value       = aws_sqs_queue.this.url
}

output "queue_name" {
  description = "Name of the alerts queue."
  value       = aws_sqs_queue.this.name
}

output "dlq_arn" {
  description = "ARN of the dead-letter queue."
  value       = aws_sqs_queue.dlq.arn
}

output "dlq_url" {
  description = "URL of the dead-letter queue."
  value       = aws_sqs_queue.dlq.url
}

output "dlq_name" {
  description = "Name of the dead-letter queue."
  value       = aws_sqs_queue.dlq.name
}

output "visibility_timeout_seconds" {
  description = "Visibility timeout applied to both queues."
  value       = local.visibility_timeout_seconds
}

output "dlq_message_retention_seconds" {
  description = "Retention of the dead-letter queue in seconds: the alert consumer keeps its delivered-records at least this long plus a day, so a redrive does not notify twice."
  value       = aws_sqs_queue.dlq.message_retention_seconds
}

output "max_receive_count" {
  description = "Receives after which the redrive policy moves a message to the DLQ (the consumer dead-letters it itself on that receive, with its failureReason)."
  value       = var.max_receive_count
}
