# Alarms to one SNS topic: errors, throttles and duration per function, detector lag,
# alerts queue age and depth, dead-letter queues not empty.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  actions = [aws_sns_topic.alarms.arn]
}

# CloudWatch cannot publish to a topic encrypted with the AWS managed aws/sns key, so the
# topic has its own key that allows CloudWatch to use it.
data "aws_iam_policy_document" "sns_key" {
  #checkov:skip=CKV_AWS_111:a key policy: "*" as resource means this key only, and write access is limited to the account and to CloudWatch
  #checkov:skip=CKV_AWS_356:a key policy: "*" as resource means this key only
  #checkov:skip=CKV_AWS_109:a key policy: the account root must keep kms:PutKeyPolicy or the key becomes unmanageable
  statement {
    sid = "AccountAdministersAndUsesKey"
    actions = [
      "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
      "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource", "kms:UntagResource",
      "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion", "kms:Encrypt", "kms:Decrypt",
      "kms:ReEncrypt*", "kms:GenerateDataKey*",
    ]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchPublishesAlarms"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
  }
}

resource "aws_kms_key" "sns" {
  description             = "${var.name_prefix} alarm topic"
  enable_key_rotation     = true
  deletion_window_in_days = 7
  policy                  = data.aws_iam_policy_document.sns_key.json
  tags                    = var.tags
}

resource "aws_kms_alias" "sns" {
  name          = "alias/${var.name_prefix}-alarms"
  target_key_id = aws_kms_key.sns.key_id
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name_prefix}-alarms"
  kms_master_key_id = aws_kms_key.sns.arn
  tags              = var.tags
}

resource "aws_sns_topic_subscription" "email" {
  for_each  = toset(var.alarm_email_endpoints)
  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_cloudwatch_metric_alarm" "errors" {
  for_each            = var.functions
  alarm_name          = "${each.value.function_name}-errors"
  alarm_description   = "${each.value.function_name} returned errors."
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value.function_name }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = var.errors_evaluation_periods
  datapoints_to_alarm = var.errors_evaluation_periods
  threshold           = var.errors_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "throttles" {
  for_each            = var.functions
  alarm_name          = "${each.value.function_name}-throttles"
  alarm_description   = "${each.value.function_name} was throttled."
  namespace           = "AWS/Lambda"
  metric_name         = "Throttles"
  dimensions          = { FunctionName = each.value.function_name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = var.throttles_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "duration" {
  for_each            = var.functions
  alarm_name          = "${each.value.function_name}-duration"
  alarm_description   = "${each.value.function_name} ran close to its ${each.value.timeout_seconds} s timeout."
  namespace           = "AWS/Lambda"
  metric_name         = "Duration"
  dimensions          = { FunctionName = each.value.function_name }
  extended_statistic  = "p99"
  period              = 300
  evaluation_periods  = 1
  threshold           = floor(each.value.timeout_seconds * 1000 * var.duration_threshold_ratio)
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# The detector runs every minute: no successful run (invocations minus errors) for
# detector_lag_minutes, or no data at all, pages.
resource "aws_cloudwatch_metric_alarm" "detector_lag" {
  alarm_name          = "${var.detector_function_name}-lag"
  alarm_description   = "${var.detector_function_name} had no successful run for ${var.detector_lag_minutes} minutes."
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "successes"
    expression  = "invocations - errors"
    label       = "Successful runs"
    return_data = true
  }

  metric_query {
    id = "invocations"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Invocations"
      dimensions  = { FunctionName = var.detector_function_name }
      stat        = "Sum"
      period      = var.detector_lag_minutes * 60
    }
  }

  metric_query {
    id = "errors"
    metric {
      namespace   = "AWS/Lambda"
      metric_name = "Errors"
      dimensions  = { FunctionName = var.detector_function_name }
      stat        = "Sum"
      period      = var.detector_lag_minutes * 60
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "queue_age" {
  alarm_name          = "${var.queue_name}-age"
  alarm_description   = "Alerts wait longer than ${var.queue_age_threshold_seconds} s in ${var.queue_name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateAgeOfOldestMessage"
  dimensions          = { QueueName = var.queue_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.queue_age_threshold_seconds
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "queue_depth" {
  alarm_name          = "${var.queue_name}-depth"
  alarm_description   = "More than ${var.queue_depth_threshold} alerts are waiting in ${var.queue_name}."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = var.queue_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.queue_depth_threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

resource "aws_cloudwatch_metric_alarm" "dead_letters" {
  for_each            = var.dead_letter_queue_names
  alarm_name          = "${each.value}-not-empty"
  alarm_description   = "${each.value} holds messages: inspect, fix, then redrive (dlq.yml)."
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = each.value }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# --- the alert consumer's deliveries ------------------------------------------------------
# The consumer emits Failed and FailedPermanent per receiver (EMF, dimensions Function and
# Receiver; functions/alert-consumer/src/metrics.rs). A Metrics Insights query sums them over
# every receiver, so a receiver added to the routes file is watched without a change here.

resource "aws_cloudwatch_metric_alarm" "deliveries" {
  for_each = {
    failed = {
      metric      = "Failed"
      threshold   = var.delivery_failed_threshold
      description = "failed (retried or not)"
    }
    failed_permanent = {
      metric      = "FailedPermanent"
      threshold   = var.delivery_failed_permanent_threshold
      description = "failed permanently (never retried: fix the receiver or the routes, then redrive)"
    }
  }
  alarm_name          = "${var.name_prefix}-alert-consumer-deliveries-${replace(each.key, "_", "-")}"
  alarm_description   = "Alert deliveries ${each.value.description}: at least ${each.value.threshold} in 5 minutes."
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "deliveries"
    expression  = "SELECT SUM(${each.value.metric}) FROM SCHEMA(\"${var.metrics_namespace}\", Function, Receiver) WHERE Function = '${var.alert_consumer_metric_function}'"
    label       = "${each.value.metric} deliveries"
    period      = 300
    return_data = true
  }
}

# --- Redis (ElastiCache), per node ---------------------------------------------------------

locals {
  redis_alarms = merge([
    for index, node in var.redis_cluster_ids : merge(
      {
        "${node}-cpu" = {
          node        = node
          metric      = "EngineCPUUtilization"
          statistic   = "Average"
          threshold   = var.redis_cpu_threshold_percent
          description = "Redis engine CPU of ${node} at or above ${var.redis_cpu_threshold_percent} %."
        }
        "${node}-memory" = {
          node        = node
          metric      = "DatabaseMemoryUsagePercentage"
          statistic   = "Average"
          threshold   = var.redis_memory_threshold_percent
          description = "Redis memory of ${node} at or above ${var.redis_memory_threshold_percent} % of maxmemory."
        }
        "${node}-evictions" = {
          node        = node
          metric      = "Evictions"
          statistic   = "Sum"
          threshold   = 1
          description = "Redis on ${node} evicted keys: detector state, baselines or dedup markers are being lost."
        }
      },
      # Replicas only: the primary has no replication lag.
      index == 0 ? {} : {
        "${node}-replication-lag" = {
          node        = node
          metric      = "ReplicationLag"
          statistic   = "Maximum"
          threshold   = var.redis_replication_lag_threshold_seconds
          description = "Replica ${node} lags the primary by ${var.redis_replication_lag_threshold_seconds} s or more."
        }
      },
    )
  ]...)
}

resource "aws_cloudwatch_metric_alarm" "redis" {
  for_each            = local.redis_alarms
  alarm_name          = each.key
  alarm_description   = each.value.description
  namespace           = "AWS/ElastiCache"
  metric_name         = each.value.metric
  dimensions          = { CacheClusterId = each.value.node }
  statistic           = each.value.statistic
  period              = 300
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}
