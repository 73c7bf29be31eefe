output "function_names" {
  description = "Lambda function names, keyed detector, alert_consumer, dlq_redrive."
  value       = { for key, f in module.function : key => f.function_name }
}

output "function_alias" {
  description = "Name of the alias every trigger invokes (smoke test and rollback target it)."
  value       = "live"
}

output "function_versions" {
  description = "Version each function's alias points at after this apply, keyed like function_names."
  value       = { for key, f in module.function : key => f.version }
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
  description = "Redis URL the functions use (no credentials)."
  value       = local.redis_url
}

output "vpc_id" {
  description = "ID of the environment's VPC."
  value       = module.network.vpc_id
}

output "nat_public_ips" {
  description = "Addresses the alert consumer's requests to receivers come from (for receivers that allow-list)."
  value       = module.network.nat_public_ips
}
