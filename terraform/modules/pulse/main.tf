# pulse: the alerts queue and its DLQ, the three functions (one function module, for_each),
# their triggers (on the alias `live`) and alarms, the network (VPC, NAT, endpoints,
# security groups) and Redis (ElastiCache, unless redis_url names one); dev tables optionally.
# Environment variable names are those of shared/src/env.rs (tests/tests/terraform checks).

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  tags = merge({ Project = "pulse", Environment = var.environment }, var.tags)

  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  region     = data.aws_region.current.name

  table_names = distinct([var.events_table_name, var.coins_table_name])
  stream_arns = var.create_tables ? module.tables[0].stream_arns : merge(
    { for name, t in data.aws_dynamodb_table.source : name => t.stream_arn },
    {
      for name, arn in {
        (var.events_table_name) = var.events_table_stream_arn
        (var.coins_table_name)  = var.coins_table_stream_arn
      } : name => arn if arn != ""
    },
  )

  create_elasticache = var.redis_url == null
  redis_url          = local.create_elasticache ? module.elasticache[0].redis_url : var.redis_url

  # The routes of every environment ship in the one zip (scripts/package-lambdas.sh); each
  # environment points the consumer at its own.
  routes_file = coalesce(var.routes_file, "routes/${var.environment}.toml")

  permissions_boundary_arn = var.permissions_boundary_name == null ? null : "arn:${local.partition}:iam::${local.account_id}:policy/${var.permissions_boundary_name}"

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
        # No tick chunk starts later than 15 s before the timeout.
        PULSE_TICK_BUDGET_SECS = tostring(max(var.detector_timeout - 15, 5))
      } : name => value if value != ""
    },
  )

  alert_consumer_environment = merge(
    {
      PULSE_REDIS_URL          = local.redis_url
      PULSE_ROUTES_FILE        = local.routes_file
      PULSE_DLQ_RETENTION_SECS = tostring(module.queues.dlq_message_retention_seconds)
      # Deferred messages (Retry-After, rate limits) go back to the alerts queue; a message
      # failing on its final receive goes to the DLQ with its failureReason.
      PULSE_ALERTS_QUEUE_URL      = module.queues.queue_url
      PULSE_DEAD_LETTER_QUEUE_URL = module.queues.dlq_url
      PULSE_MAX_RECEIVE_COUNT     = tostring(module.queues.max_receive_count)
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

  # The three functions. `package` is the folder of the zip under artifacts_dir; `in_vpc`
  # says whether the function needs Redis (hence the VPC): dlq-redrive only calls SQS.
  functions = {
    # The detector is unreserved (-1): a cap would be shared by the schedule and every stream
    # shard, and stream batches would be throttled behind ticks. Ticks never overlap through
    # the Redis lease (detector:lease, fenced commits), not through concurrency.
    detector = {
      package                        = "detector"
      description                    = "pulse detector: DynamoDB changes to events (schedule and stream)"
      memory_size                    = var.detector_memory_size
      timeout                        = var.detector_timeout
      reserved_concurrent_executions = -1
      environment                    = local.detector_environment
      policy_statements              = local.detector_statements
      in_vpc                         = true
    }
    alert_consumer = {
      package                        = "alert-consumer"
      description                    = "pulse alert consumer: routes alerts from SQS to receivers"
      memory_size                    = var.alert_consumer_memory_size
      timeout                        = var.alert_consumer_timeout
      reserved_concurrent_executions = var.alert_consumer_reserved_concurrency
      environment                    = local.alert_consumer_environment
      policy_statements              = local.alert_consumer_statements
      in_vpc                         = true
    }
    dlq_redrive = {
      package                        = "dlq-redrive"
      description                    = "pulse DLQ redrive: inspect and move dead letters back (invoked by hand)"
      memory_size                    = var.dlq_redrive_memory_size
      timeout                        = var.dlq_redrive_timeout
      reserved_concurrent_executions = 1 # one redrive at a time
      environment                    = local.dlq_redrive_environment
      policy_statements              = local.dlq_redrive_statements
      in_vpc                         = false
    }
  }
}

module "tables" {
  source = "../dev-tables"
  count  = var.create_tables ? 1 : 0

  table_names = local.table_names
  tags        = local.tags
}

module "network" {
  source = "../network"

  name                    = var.name_prefix
  cidr_block              = var.vpc_cidr_block
  availability_zone_count = var.availability_zone_count
  nat_gateway_per_zone    = var.nat_gateway_per_zone
  interface_endpoints     = var.interface_endpoints
  tags                    = local.tags
}

module "elasticache" {
  source = "../elasticache"
  count  = local.create_elasticache ? 1 : 0

  name                      = "${var.name_prefix}-redis"
  auth_token_parameter_name = var.redis_auth_parameter_name
  set_auth_token            = var.redis_set_auth_token
  subnet_ids                = module.network.private_subnet_ids
  security_group_ids        = [module.network.redis_security_group_id]
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

module "function" {
  source   = "../function"
  for_each = local.functions

  function_name                  = "${var.name_prefix}-${each.value.package}"
  description                    = each.value.description
  zip_path                       = "${var.artifacts_dir}/${each.value.package}/bootstrap.zip"
  architectures                  = var.architectures
  memory_size                    = each.value.memory_size
  timeout                        = each.value.timeout
  reserved_concurrent_executions = each.value.reserved_concurrent_executions
  environment                    = each.value.environment
  policy_statements              = each.value.policy_statements
  permissions_boundary_arn       = local.permissions_boundary_arn
  log_retention_days             = var.log_retention_days
  application_log_level          = var.application_log_level
  tracing_mode                   = var.tracing_mode
  subnet_ids                     = each.value.in_vpc ? module.network.private_subnet_ids : []
  security_group_ids             = each.value.in_vpc ? [module.network.functions_security_group_id] : []
  tags                           = local.tags
}

# --- detector triggers (on the alias) ----------------------------------------------------

# The data platform's tables, read and never managed: their stream ARNs, once their streams
# are on (a one-time UpdateTable by the table's owner: docs/detector.md).
data "aws_dynamodb_table" "source" {
  for_each = var.stream_arns_from_tables && !var.create_tables ? toset(local.table_names) : toset([])

  name = each.key

  lifecycle {
    postcondition {
      condition     = self.stream_enabled && contains(["NEW_IMAGE", "NEW_AND_OLD_IMAGES"], self.stream_view_type)
      error_message = "Table ${each.key} has no stream with new images (stream_view_type \"${coalesce(self.stream_view_type, "none")}\"). Its owner enables one once: aws dynamodb update-table --table-name ${each.key} --stream-specification StreamEnabled=true,StreamViewType=NEW_AND_OLD_IMAGES (docs/detector.md)."
    }
  }
}

# A failed or late scheduled tick is not retried into the next one: the next tick redoes
# what was not committed.
resource "aws_lambda_function_event_invoke_config" "detector" {
  function_name                = module.function["detector"].function_name
  qualifier                    = module.function["detector"].alias_name
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = var.detector_max_event_age_seconds
}

resource "aws_cloudwatch_event_rule" "detector_schedule" {
  name                = "${var.name_prefix}-detector-schedule"
  description         = "Runs the pulse detector."
  schedule_expression = var.detector_schedule_expression
  tags                = local.tags
}

resource "aws_cloudwatch_event_target" "detector_schedule" {
  rule      = aws_cloudwatch_event_rule.detector_schedule.name
  target_id = "detector"
  arn       = module.function["detector"].alias_arn
}

resource "aws_lambda_permission" "detector_schedule" {
  statement_id  = "AllowEventBridgeSchedule"
  action        = "lambda:InvokeFunction"
  function_name = module.function["detector"].function_name
  qualifier     = module.function["detector"].alias_name
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

  function_name                      = module.function["detector"].alias_arn
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

# --- alert consumer trigger (on the alias) -----------------------------------------------

resource "aws_lambda_event_source_mapping" "alert_consumer_queue" {
  function_name                      = module.function["alert_consumer"].alias_arn
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
    for key, f in module.function : key => {
      function_name   = f.function_name
      timeout_seconds = f.timeout
    }
  }
  detector_function_name = module.function["detector"].function_name
  detector_lag_minutes   = 5
  source_table_names     = local.table_names
  stream_trigger_enabled = var.enable_stream_trigger
  queue_name             = module.queues.queue_name
  dead_letter_queue_names = merge(
    { alerts = module.queues.dlq_name },
    var.enable_stream_trigger ? { stream_failures = aws_sqs_queue.stream_failures[0].name } : {},
  )
  queue_age_threshold_seconds = var.queue_age_threshold_seconds
  queue_depth_threshold       = var.queue_depth_threshold
  duration_threshold_ratio    = var.duration_threshold_ratio

  metrics_namespace                   = var.metrics_namespace
  delivery_failed_threshold           = var.delivery_failed_threshold
  delivery_failed_permanent_threshold = var.delivery_failed_permanent_threshold
  redis_cluster_ids                   = local.create_elasticache ? module.elasticache[0].member_cluster_ids : []

  alarm_email_endpoints = var.alarm_email_endpoints
  tags                  = local.tags
}
