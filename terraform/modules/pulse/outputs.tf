output "function_names" {
  description = "Lambda function names, keyed detector, alert_consumer, dlq_redrive."
  value = {
    detector       = module.detector.function_name
    alert_consumer = module.alert_consumer.function_name
    dlq_redrive    = module.dlq_redrive.function_name
  }
}

output "alerts_queue_url" {
  description = "URL of the alerts queue."
  value       = module.queues.queue_url
}

output "dead_letter_queue_url" {
  description = "URL of the alerts dead-letter queue."
  value       = module.queues.dlq_url
}

output "stream_failures_queue_url" {
  description = "URL of the detector's stream failure queue (null without the stream trigger)."
  value       = one(aws_sqs_queue.stream_failures[*].url)
}

output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = module.alarms.topic_arn
}

output "alarm_names" {
  description = "Names of every alarm."
  value       = module.alarms.alarm_names
}

output "redis_url" {
  description = "Redis URL the functions use."
  value       = local.redis_url
}
