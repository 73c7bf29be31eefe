# Alarms to one SNS topic: errors, throttles and duration per function, detector lag,
# alerts queue age and depth, dead-letter queues not empty, and the detector's data health
# (no records while the tables are written, rejections, stream iterator age, record lag,
# state resets, quarantined alerts).

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

# --- the detector's data health ------------------------------------------------------------
# From the detector's EMF metrics (namespace var.metrics_namespace, dimension Trigger =
# scheduled | stream; shared/core/src/metrics.rs). A test checks every metric named here is
# one the code emits.

locals {
  triggers = ["scheduled", "stream"]
  # One metric per trigger, summed by expressions (FILL: a trigger that did not run is 0).
  detector_sum = { for name in ["RecordsApplied", "RecordsProcessed", "RecordsRejected"] : name => join(" + ", [for t in local.triggers : "FILL(${lower(substr(name, 7, -1))}_${t}, 0)"]) }
  writes_sum   = length(var.source_table_names) == 0 ? "0" : join(" + ", [for i, _ in var.source_table_names : "FILL(writes_${i}, 0)"])
}

# Records are being written to the tables but the detector applied none for N minutes: the
# pipeline is stalled (stream mapping disabled, schedule off, reads failing, a stuck key).
resource "aws_cloudwatch_metric_alarm" "detector_no_records" {
  alarm_name          = "${var.detector_function_name}-no-records"
  alarm_description   = "The source tables were written but ${var.detector_function_name} applied no record for ${var.no_records_minutes} minutes (docs/detector.md)."
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "stalled"
    expression  = "IF((${local.writes_sum}) > 0 AND (${local.detector_sum["RecordsApplied"]}) < 1, 1, 0)"
    label       = "Writes but no records applied"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.triggers
    content {
      id = "applied_${metric_query.value}"
      metric {
        namespace   = var.metrics_namespace
        metric_name = "RecordsApplied"
        dimensions  = { Trigger = metric_query.value }
        stat        = "Sum"
        period      = var.no_records_minutes * 60
      }
    }
  }

  dynamic "metric_query" {
    for_each = var.source_table_names
    content {
      id = "writes_${metric_query.key}"
      metric {
        namespace   = "AWS/DynamoDB"
        metric_name = "ConsumedWriteCapacityUnits"
        dimensions  = { TableName = metric_query.value }
        stat        = "Sum"
        period      = var.no_records_minutes * 60
      }
    }
  }
}

# Too many records rejected (bad writes upstream, a schema change): rejected / processed.
resource "aws_cloudwatch_metric_alarm" "detector_rejections" {
  alarm_name          = "${var.detector_function_name}-rejections"
  alarm_description   = "More than ${var.rejection_ratio_threshold * 100} % of the records ${var.detector_function_name} read were rejected in 5 minutes (RecordsRejected by Reason says why)."
  evaluation_periods  = 1
  threshold           = var.rejection_ratio_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags

  metric_query {
    id          = "ratio"
    expression  = "IF((${local.detector_sum["RecordsProcessed"]}) > 0, (${local.detector_sum["RecordsRejected"]}) / (${local.detector_sum["RecordsProcessed"]}), 0)"
    label       = "Rejected / processed"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = setproduct(["RecordsProcessed", "RecordsRejected"], local.triggers)
    content {
      id = "${lower(substr(metric_query.value[0], 7, -1))}_${metric_query.value[1]}"
      metric {
        namespace   = var.metrics_namespace
        metric_name = metric_query.value[0]
        dimensions  = { Trigger = metric_query.value[1] }
        stat        = "Sum"
        period      = 300
      }
    }
  }
}

# The stream mapping falls behind: the age of the newest record it read when it invoked.
resource "aws_cloudwatch_metric_alarm" "stream_iterator_age" {
  count               = var.stream_trigger_enabled ? 1 : 0
  alarm_name          = "${var.detector_function_name}-iterator-age"
  alarm_description   = "${var.detector_function_name}'s stream batches are older than ${var.iterator_age_threshold_ms / 1000} s when read: records age out of the stream after 24 h."
  namespace           = "AWS/Lambda"
  metric_name         = "IteratorAge"
  dimensions          = { FunctionName = var.detector_function_name }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.iterator_age_threshold_ms
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# The detector's own lag (now minus the newest record it ran), per trigger: a backlog the
# budget drains too slowly, or a writer stamping old times.
resource "aws_cloudwatch_metric_alarm" "detector_record_lag" {
  for_each            = toset(local.triggers)
  alarm_name          = "${var.detector_function_name}-record-lag-${each.key}"
  alarm_description   = "${var.detector_function_name} (${each.key}) runs records more than ${var.record_lag_threshold_seconds} s old."
  namespace           = var.metrics_namespace
  metric_name         = "Lag"
  dimensions          = { Trigger = each.key }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 5
  datapoints_to_alarm = 3
  threshold           = var.record_lag_threshold_seconds
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# Redis lost the detector's state (docs/detector.md, "State resets"): windows refill.
resource "aws_cloudwatch_metric_alarm" "detector_state_resets" {
  alarm_name          = "${var.detector_function_name}-state-resets"
  alarm_description   = "Redis lost ${var.detector_function_name}'s state: baselines reseed and windows refill (docs/detector.md, State resets)."
  namespace           = var.metrics_namespace
  metric_name         = "StateResets"
  dimensions          = { Trigger = "scheduled" }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
}

# An alert SQS refused for good was quarantined (detector:quarantine): read and replay it.
resource "aws_cloudwatch_metric_alarm" "detector_quarantined" {
  for_each            = toset(local.triggers)
  alarm_name          = "${var.detector_function_name}-alerts-quarantined-${each.key}"
  alarm_description   = "${var.detector_function_name} (${each.key}) quarantined an alert SQS refused for good: XRANGE detector:quarantine, fix, replay (docs/detector.md)."
  namespace           = var.metrics_namespace
  metric_name         = "AlertsQuarantined"
  dimensions          = { Trigger = each.key }
  statistic           = "Sum"
  period              = 60
  evaluation_periods  = 1
  threshold           = 1
  comparison_operator = "GreaterThanOrEqualToThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.actions
  ok_actions          = local.actions
  tags                = var.tags
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
