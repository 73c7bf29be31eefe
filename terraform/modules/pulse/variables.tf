# --- naming ------------------------------------------------------------------------------

variable "environment" {
  description = "Environment name (dev, staging, prod): tagged on every resource; names the routes file (routes/<environment>.toml) the consumer reads."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.environment))
    error_message = "environment must be 2..16 lower-case letters or digits, e.g. \"dev\", \"staging\", \"prod\"."
  }
}

variable "name_prefix" {
  description = "Prefix of every resource name, e.g. \"pulse-dev\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix must be 2..31 lower-case letters, digits or dashes, starting with a letter."
  }
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}

# --- artefacts and runtime ---------------------------------------------------------------

variable "artifacts_dir" {
  description = "Directory holding <package>/bootstrap.zip for detector, alert-consumer and dlq-redrive, as scripts/package-lambdas.sh writes them (target/lambda)."
  type        = string

  validation {
    condition     = alltrue([for p in ["detector", "alert-consumer", "dlq-redrive"] : fileexists("${var.artifacts_dir}/${p}/bootstrap.zip")])
    error_message = "artifacts_dir must hold detector/, alert-consumer/ and dlq-redrive/bootstrap.zip: run scripts/package-lambdas.sh first (or download the deploy workflow's lambda-zips artifact there)."
  }
}



variable "architectures" {
  description = "Instruction set the zips were built for: [\"arm64\"] or [\"x86_64\"]."
  type        = list(string)
  default     = ["arm64"]
}

variable "detector_memory_size" {
  description = "Memory of the detector in MB."
  type        = number
  default     = 512
}

variable "detector_timeout" {
  description = "Timeout of the detector in seconds (below the 60 s schedule period)."
  type        = number
  default     = 55

  validation {
    condition     = var.detector_timeout >= 1 && var.detector_timeout <= 60
    error_message = "detector_timeout must lie in 1..60 so that a tick ends before the next one."
  }
}

variable "alert_consumer_memory_size" {
  description = "Memory of the alert consumer in MB."
  type        = number
  default     = 256
}

variable "alert_consumer_timeout" {
  description = "Timeout of the alert consumer in seconds; the alerts queue's visibility timeout is at least 6 times this."
  type        = number
  default     = 30
}

variable "alert_consumer_reserved_concurrency" {
  description = "Reserved concurrency of the alert consumer; -1 leaves it unreserved."
  type        = number
  default     = -1
}

variable "dlq_redrive_memory_size" {
  description = "Memory of the DLQ redrive function in MB."
  type        = number
  default     = 256
}

variable "dlq_redrive_timeout" {
  description = "Timeout of the DLQ redrive function in seconds."
  type        = number
  default     = 300
}

variable "log_retention_days" {
  description = "Retention of every function's log group in days."
  type        = number
  default     = 30
}

variable "application_log_level" {
  description = "Lowest application log level Lambda keeps (JSON logs): TRACE, DEBUG, INFO, WARN, ERROR or FATAL."
  type        = string
  default     = "INFO"
}

variable "tracing_mode" {
  description = "X-Ray tracing mode of the functions: Active or PassThrough."
  type        = string
  default     = "Active"
}

variable "vpc_cidr_block" {
  description = "IPv4 CIDR of the environment's VPC (functions that need Redis, ElastiCache, NAT), e.g. \"10.20.0.0/16\"; pick one that does not overlap the organisation's other VPCs."
  type        = string
}

variable "availability_zone_count" {
  description = "Zones the VPC's subnets span (2 or 3)."
  type        = number
  default     = 2
}

variable "nat_gateway_per_zone" {
  description = "One NAT gateway per zone (prod: survives a zone outage) instead of one for the VPC."
  type        = bool
  default     = false
}

variable "interface_endpoints" {
  description = "Interface VPC endpoints to create (sqs, ssm, monitoring): AWS API calls stay off the NAT; each costs per hour and zone."
  type        = list(string)
  default     = []
}


# --- DynamoDB ----------------------------------------------------------------------------

variable "events_table_name" {
  description = "Events table (TVL and dimensions records), owned by the data platform."
  type        = string
}

variable "coins_table_name" {
  description = "Coins table (prices), owned by the data platform; may equal events_table_name."
  type        = string
}

variable "events_table_stream_arn" {
  description = "Stream ARN of the events table (used when enable_stream_trigger and not create_tables); empty for none."
  type        = string
  default     = ""
}

variable "coins_table_stream_arn" {
  description = "Stream ARN of the coins table (used when enable_stream_trigger and not create_tables); empty for none."
  type        = string
  default     = ""
}

variable "stream_arns_from_tables" {
  description = "Read each table's stream ARN with a data source (tables the data platform owns, streams enabled once with UpdateTable: docs/detector.md); an explicit *_stream_arn wins."
  type        = bool
  default     = false
}

variable "detector_max_event_age_seconds" {
  description = "A scheduled invocation older than this is dropped, not run late into the next tick."
  type        = number
  default     = 60

  validation {
    condition     = var.detector_max_event_age_seconds >= 60 && var.detector_max_event_age_seconds <= 21600
    error_message = "detector_max_event_age_seconds must be 60..21600 (Lambda's limits)."
  }
}

variable "create_tables" {
  description = "Create tables of the same key schema (PK string, SK number, streams on) under the names above: dev and the emulator only."
  type        = bool
  default     = false
}

variable "time_bucket_index" {
  description = "GSI the detector queries by time bucket instead of a segmented Scan; empty for none."
  type        = string
  default     = ""
}

variable "scan_segments" {
  description = "Parallel Scan segments of the detector."
  type        = number
  default     = 4
}

variable "thresholds_file" {
  description = "Thresholds TOML file inside the detector's zip; empty uses the built-in thresholds."
  type        = string
  default     = ""
}

# --- triggers ----------------------------------------------------------------------------

variable "detector_schedule_expression" {
  description = "EventBridge schedule of the detector."
  type        = string
  default     = "rate(1 minute)"
}

variable "enable_stream_trigger" {
  description = "Also invoke the detector from the tables' DynamoDB Streams."
  type        = bool
  default     = false
}

variable "stream_starting_position" {
  description = "Where a new stream mapping starts reading: LATEST or TRIM_HORIZON."
  type        = string
  default     = "LATEST"
}

variable "stream_batch_size" {
  description = "Stream records per detector invocation."
  type        = number
  default     = 100
}

variable "stream_batching_window_seconds" {
  description = "Seconds the stream mapping may wait to fill a batch."
  type        = number
  default     = 5
}

variable "stream_maximum_retry_attempts" {
  description = "Retries of a failing stream batch (halved by bisection) before it goes to the failure queue."
  type        = number
  default     = 5
}

variable "stream_maximum_record_age_seconds" {
  description = "Stream records older than this go to the failure queue unprocessed (-1: never)."
  type        = number
  default     = 3600
}

variable "alert_consumer_batch_size" {
  description = "Alerts per alert consumer invocation (SQS batch size)."
  type        = number
  default     = 10

  validation {
    condition     = var.alert_consumer_batch_size >= 1 && var.alert_consumer_batch_size <= 10000
    error_message = "alert_consumer_batch_size must lie in 1..10000."
  }
}

variable "alert_consumer_batching_window_seconds" {
  description = "Seconds the SQS mapping may wait to fill a batch (needed above 10 messages)."
  type        = number
  default     = 0
}

variable "alert_consumer_maximum_concurrency" {
  description = "Maximum concurrent alert consumer invocations the SQS mapping starts (2..1000)."
  type        = number
  default     = 5

  validation {
    condition     = var.alert_consumer_maximum_concurrency >= 2 && var.alert_consumer_maximum_concurrency <= 1000
    error_message = "alert_consumer_maximum_concurrency must lie in 2..1000."
  }
}

variable "create_dlq_redrive_allow_policy" {
  description = "Attach the DLQ's redrive-allow policy (only the alerts queue may use it). Leave true; only the emulator override (tests) sets false: moto drops the attribute."
  type        = bool
  default     = true
}

variable "max_redrive_count" {
  description = "Messages redriven more often than this stay in the DLQ."
  type        = number
  default     = 3
}

# --- Redis -------------------------------------------------------------------------------

variable "redis_url" {
  description = "redis:// or rediss:// URL of an existing Redis (without credentials) the functions can reach; null creates an ElastiCache Redis in the environment's VPC."
  type        = string
  default     = null

  validation {
    condition     = var.redis_url == null || can(regex("^rediss?://[^@/]+", var.redis_url))
    error_message = "redis_url must start with redis:// or rediss:// and carry no credentials (the AUTH token comes from redis_auth_parameter_name)."
  }
}

variable "redis_auth_parameter_name" {
  description = "SSM SecureString holding the Redis AUTH token (created before the first apply, README: Secrets); null only for an existing Redis without AUTH."
  type        = string
  default     = null

  validation {
    condition     = var.redis_auth_parameter_name == null || can(regex("^/[A-Za-z0-9_./-]+$", var.redis_auth_parameter_name))
    error_message = "redis_auth_parameter_name must be an SSM parameter name starting with /, e.g. \"/pulse/prod/redis-auth\"."
  }

  validation {
    condition     = var.redis_url != null || var.redis_auth_parameter_name != null
    error_message = "The ElastiCache Redis this module creates (redis_url = null) needs redis_auth_parameter_name: its AUTH token."
  }
}

variable "redis_set_auth_token" {
  description = "Set the created ElastiCache group's AUTH token from redis_auth_parameter_name with scripts/redis-auth.sh (the AWS CLI) after creation."
  type        = bool
  default     = true
}




variable "elasticache_node_type" {
  description = "ElastiCache node type."
  type        = string
  default     = "cache.t4g.micro"
}

variable "elasticache_num_cache_clusters" {
  description = "ElastiCache nodes, 1..6: 1 in dev (no failover), 2 or more for automatic failover and Multi-AZ."
  type        = number
  default     = 2
}

# --- secrets, metrics, routes ------------------------------------------------------------

variable "routes_file" {
  description = "Routes TOML file inside the alert consumer's zip; null for routes/<environment>.toml (terraform/envs/<environment>/routes.toml, packaged by scripts/package-lambdas.sh)."
  type        = string
  default     = null
}

variable "secrets_parameter_path" {
  description = "SSM path (e.g. /pulse/prod/receivers) under which the alert consumer reads receiver secrets; empty for none."
  type        = string
  default     = ""

  validation {
    condition     = var.secrets_parameter_path == "" || can(regex("^/[A-Za-z0-9_./-]*[A-Za-z0-9_.-]$", var.secrets_parameter_path))
    error_message = "secrets_parameter_path must start with / and not end with /."
  }
}

variable "ses_identity_arns" {
  description = "SES identities the alert consumer's email receivers send from (arn:aws:ses:<region>:<account>:identity/<domain or address>), plus the configuration set ARNs the routes name (...:configuration-set/<name>); the consumer may call ses:SendEmail on these only. Empty: no email receivers."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.ses_identity_arns : can(regex("^arn:aws[a-z-]*:ses:[a-z0-9-]+:[0-9]{12}:(identity|configuration-set)/[^*]+$", a))])
    error_message = "ses_identity_arns must be SES identity or configuration-set ARNs without wildcards, e.g. \"arn:aws:ses:eu-west-1:123456789012:identity/example.org\"."
  }
}

variable "parameters_kms_key_arn" {
  description = "Customer managed KMS key of the SecureString parameters; null when they use the AWS managed aws/ssm key."
  type        = string
  default     = null
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of pulse's own metrics; PutMetricData is allowed there only."
  type        = string
  default     = "Pulse"
}

variable "metrics_mode" {
  description = "How the functions emit metrics: emf (log lines) or api (PutMetricData)."
  type        = string
  default     = "emf"

  validation {
    condition     = contains(["emf", "api"], var.metrics_mode)
    error_message = "metrics_mode must be emf or api."
  }
}

# --- alarms ------------------------------------------------------------------------------

variable "alarm_email_endpoints" {
  description = "E-mail addresses subscribed to the alarm topic (each confirms by mail); at least one in prod."
  type        = list(string)

  validation {
    condition     = alltrue([for e in var.alarm_email_endpoints : can(regex("^[^@ ]+@[^@ ]+[.][^@ ]+$", e))])
    error_message = "alarm_email_endpoints must hold e-mail addresses."
  }

  validation {
    condition     = !anytrue([for e in var.alarm_email_endpoints : endswith(lower(e), ".example")])
    error_message = "alarm_email_endpoints still holds an example address (….example): put the real subscribers in terraform.tfvars."
  }

  validation {
    condition     = var.environment != "prod" || length(var.alarm_email_endpoints) > 0
    error_message = "prod needs at least one alarm subscriber: set alarm_email_endpoints in terraform/envs/prod/terraform.tfvars."
  }
}

variable "permissions_boundary_name" {
  description = "Name of the IAM policy every role this module creates carries as permissions boundary (terraform/bootstrap creates pulse-<env>-boundary); null for none."
  type        = string
  default     = null
}

variable "queue_age_threshold_seconds" {
  description = "Age in seconds of the oldest waiting alert that fires the queue age alarm."
  type        = number
  default     = 300
}

variable "queue_depth_threshold" {
  description = "Waiting alerts that fire the queue depth alarm."
  type        = number
  default     = 1000
}

variable "delivery_failed_threshold" {
  description = "Failed deliveries (all receivers, retried or not) in 5 minutes that fire the consumer's delivery alarm."
  type        = number
  default     = 5
}

variable "delivery_failed_permanent_threshold" {
  description = "Permanently failed deliveries (e.g. HTTP 4xx: never retried) in 5 minutes that fire the consumer's permanent-failure alarm."
  type        = number
  default     = 1
}

variable "duration_threshold_ratio" {
  description = "Fraction of its timeout a function's p99 duration may reach before its alarm fires."
  type        = number
  default     = 0.8
}
