output "function_names" {
  description = "Lambda function names (the dlq workflow invokes dlq_redrive)."
  value       = module.pulse.function_names
}

output "alerts_queue_url" {
  description = "URL of the alerts queue."
  value       = module.pulse.alerts_queue_url
}

output "dead_letter_queue_url" {
  description = "URL of the alerts dead-letter queue."
  value       = module.pulse.dead_letter_queue_url
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.pulse.alarm_topic_arn
}
