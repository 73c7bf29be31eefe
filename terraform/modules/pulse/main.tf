# pulse: the alerts queue and its DLQ, three functions (detector, alert consumer, DLQ redrive),
# their triggers and alarms; optionally dev tables and an ElastiCache Redis.
# Environment variable names are those of shared/src/env.rs (tests/tests/terraform.rs checks).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  tags = merge({ Project = "pulse", Environment = var.environment }, var.tags)

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  table_names = distinct([var.events_table_name, var.coins_table_name])
  stream_arns = var.create_tables ? module.tables[0].stream_arns : {
    for name, arn in {
      (var.events_table_name) = var.events_table_stream_arn
      (var.coins_table_name)  = var.coins_table_stream_arn
    } : name => arn if arn != ""
  }

  redis_url = var.create_elasticache ? module.elasticache[0].redis_url : var.redis_url

  # Required variables are set unconditionally; optional ones are left out when empty.
  detector_environment = merge(
    {
      PULSE_EVENTS_TABLE     = var.events_table_name
      PULSE_COINS_TABLE      = var.coins_table_name
      PULSE_ALERTS_QUEUE_URL = module.queues.queue_url
      PULSE_REDIS_URL        = local.redis_url
    },
    {
      for name, value in {
        PULSE_TIME_BUCKET_INDEX    = var.time_bucket_index
        PULSE_SCAN_SEGMENTS        = tostring(var.scan_segments)
        PULSE_REDIS_AUTH_PARAMETER = var.redis_auth_parameter_name
        PULSE_THRESHOLDS_FILE      = var.thresholds_file
        PULSE_METRICS_NAMESPACE    = var.metrics_namespace
        PULSE_METRICS_MODE         = var.metrics_mode
      } : name => value if value != ""
    },
  )

  alert_consumer_environment = merge(
    {
      PULSE_REDIS_URL   = local.redis_url
      PULSE_ROUTES_FILE = var.routes_file
    },
    {
      for name, value in {
        PULSE_REDIS_AUTH_PARAMETER   = var.redis_auth_parameter_name
        PULSE_SECRETS_PARAMETER_PATH = var.secrets_parameter_path
        PULSE_METRICS_NAMESPACE      = var.metrics_namespace
      } : name => value if value != ""
    },
  )

  dlq_redrive_environment = merge(
    {
      PULSE_DEAD_LETTER_QUEUE_URL = module.queues.dlq_url
    },
    {
      for name, value in {
        PULSE_ALERTS_QUEUE_URL  = module.queues.queue_url
        PULSE_MAX_REDRIVE_COUNT = tostring(var.max_redrive_count)
        PULSE_METRICS_NAMESPACE = var.metrics_namespace
      } : name => value if value != ""
    },
  )
}

module "tables" {
  source = "../dev-tables"
  count  = var.create_tables ? 1 : 0

  table_names = local.table_names
  tags        = local.tags
}

module "elasticache" {
  source = "../elasticache"
  count  = var.create_elasticache ? 1 : 0

  name                      = "${var.name_prefix}-redis"
  auth_token_parameter_name = var.redis_auth_parameter_name
  subnet_ids                = var.elasticache_subnet_ids
  security_group_ids        = var.elasticache_security_group_ids
  node_type                 = var.elasticache_node_type
  num_cache_clusters        = var.elasticache_num_cache_clusters
  tags                      = local.tags
}

module "queues" {
  source = "../queues"

  name                             = "${var.name_prefix}-alerts"
  consumer_timeout_seconds         = var.alert_consumer_timeout
  consumer_batching_window_seconds = var.alert_consumer_batching_window_seconds
  max_receive_count                = 3
  create_dlq_redrive_allow_policy  = var.create_dlq_redrive_allow_policy
  tags                             = local.tags
}

module "detector" {
  source = "../function"

  function_name                  = "${var.name_prefix}-detector"
  description                    = "pulse detector: DynamoDB changes to events (schedule and stream)"
  zip_path                       = var.detector_zip_path
  architectures                  = var.architectures
  memory_size                    = var.detector_memory_size
  timeout                        = var.detector_timeout
  reserved_concurrent_executions = 1 # ticks never overlap
  environment                    = local.detector_environment
  policy_statements              = local.detector_statements
  log_retention_days             = var.log_retention_days
  application_log_level          = var.application_log_level
  tracing_mode                   = var.tracing_mode
  subnet_ids                     = var.subnet_ids
  security_group_ids             = var.security_group_ids
  tags                           = local.tags
}

module "alert_consumer" {
  source = "../function"

  function_name                  = "${var.name_prefix}-alert-consumer"
  description                    = "pulse alert consumer: routes alerts from SQS to receivers"
  zip_path                       = var.alert_consumer_zip_path
  architectures                  = var.architectures
  memory_size                    = var.alert_consumer_memory_size
  timeout                        = var.alert_consumer_timeout
  reserved_concurrent_executions = var.alert_consumer_reserved_concurrency
  environment                    = local.alert_consumer_environment
  policy_statements              = local.alert_consumer_statements
  log_retention_days             = var.log_retention_days
  application_log_level          = var.application_log_level
  tracing_mode                   = var.tracing_mode
  subnet_ids                     = var.subnet_ids
  security_group_ids             = var.security_group_ids
  tags                           = local.tags
}

module "dlq_redrive" {
  source = "../function"

  function_name                  = "${var.name_prefix}-dlq-redrive"
  description                    = "pulse DLQ redrive: inspect and move dead letters back (invoked by hand)"
  zip_path                       = var.dlq_redrive_zip_path
  architectures                  = var.architectures
  memory_size                    = var.dlq_redrive_memory_size
  timeout                        = var.dlq_redrive_timeout
  reserved_concurrent_executions = 1 # one redrive at a time
  environment                    = local.dlq_redrive_environment
  policy_statements              = local.dlq_redrive_statements
  log_retention_days             = var.log_retention_days
  application_log_level          = var.application_log_level
  tracing_mode                   = var.tracing_mode
  subnet_ids                     = var.subnet_ids
  security_group_ids             = var.security_group_ids
  tags                           = local.tags
}

# --- detector triggers -------------------------------------------------------------------

resource "aws_cloudwatch_event_rule" "detector_schedule" {
  name                = "${var.name_prefix}-detector-schedule"
  description         = "Runs the pulse detector."
  schedule_expression = var.detector_schedule_expression
  tags                = local.tags
}

resource "aws_cloudwatch_event_target" "detector_schedule" {
  rule      = aws_cloudwatch_event_rule.detector_schedule.name
  target_id = "detector"
  arn       = module.detector.function_arn
}

resource "aws_lambda_permission" "detector_schedule" {
  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = module.detector.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.detector_schedule.arn
}

# Where the stream mapping sends the metadata of a batch it gave up on (shard, sequence
# numbers): a terminal dead-letter destination, read by hand, alarmed when not empty.
resource "aws_sqs_queue" "stream_failures" {
  count = var.enable_stream_trigger ? 1 : 0

  name                      = "${var.name_prefix}-detector-stream-failures"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = local.tags
}

resource "aws_lambda_event_source_mapping" "detector_stream" {
  for_each = var.enable_stream_trigger ? local.stream_arns : {}

  function_name                      = module.detector.function_arn
  event_source_arn                   = each.value
  starting_position                  = var.stream_starting_position
  batch_size                         = var.stream_batch_size
  maximum_batching_window_in_seconds = var.stream_batching_window_seconds
  maximum_retry_attempts             = var.stream_maximum_retry_attempts
  maximum_record_age_in_seconds      = var.stream_maximum_record_age_seconds
  bisect_batch_on_function_error     = true
  function_response_types            = ["ReportBatchItemFailures"]

  destination_config {
    on_failure {
      destination_arn = aws_sqs_queue.stream_failures[0].arn
    }
  }
}

# --- alert consumer trigger -------------------------------------------------------------

resource "aws_lambda_event_source_mapping" "alert_consumer_queue" {
  function_name                      = module.alert_consumer.function_arn
  event_source_arn                   = module.queues.queue_arn
  batch_size                         = var.alert_consumer_batch_size
  maximum_batching_window_in_seconds = var.alert_consumer_batching_window_seconds
  function_response_types            = ["ReportBatchItemFailures"]

  scaling_config {
    maximum_concurrency = var.alert_consumer_maximum_concurrency
  }
}

# --- alarms ------------------------------------------------------------------------------

module "alarms" {
  source = "../alarms"

  name_prefix = var.name_prefix
  functions = {
    detector = {
      function_name   = module.detector.function_name
      timeout_seconds = module.detector.timeout
    }
    alert_consumer = {
      function_name   = module.alert_consumer.function_name
      timeout_seconds = module.alert_consumer.timeout
    }
    dlq_redrive = {
      function_name   = module.dlq_redrive.function_name
      timeout_seconds = module.dlq_redrive.timeout
    }
  }
  detector_function_name = module.detector.function_name
  detector_lag_minutes   = 5
  queue_name             = module.queues.queue_name
  dead_letter_queue_names = merge(
    { alerts = module.queues.dlq_name },
    var.enable_stream_trigger ? { stream_failures = aws_sqs_queue.stream_failures[0].name } : {},
  )
  queue_age_threshold_seconds = var.queue_age_threshold_seconds
  queue_depth_threshold       = var.queue_depth_threshold
  duration_threshold_ratio    = var.duration_threshold_ratio
  alarm_email_endpoints       = var.alarm_email_endpoints
  tags                        = local.tags
}
