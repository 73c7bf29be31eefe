output "topic_arn" {
  description = "ARN of the SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "alarm_names" {
  description = "Names of every alarm of the module."
  value = concat(
    [for a in aws_cloudwatch_metric_alarm.errors : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.throttles : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.duration : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.dead_letters : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.deliveries : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.redis : a.alarm_name],
    [
      aws_cloudwatch_metric_alarm.detector_lag.alarm_name,
      aws_cloudwatch_metric_alarm.queue_age.alarm_name,
      aws_cloudwatch_metric_alarm.queue_depth.alarm_name,
    ],
  )
}
