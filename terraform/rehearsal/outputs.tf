output "function_names" {
  description = "Lambda function names."
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

output "alarm_names" {
  description = "Names of every alarm."
  value       = module.pulse.alarm_names
}
