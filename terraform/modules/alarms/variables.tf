variable "name_prefix" {
  description = "Prefix of the topic, key alias and alarm names, e.g. \"pulse-dev\"."
  type        = string
}

variable "functions" {
  description = "Functions to watch (errors, throttles, duration), keyed by a stable name."
  type = map(object({
    function_name   = string
    timeout_seconds = number
  }))
}

variable "detector_function_name" {
  description = "Name of the detector function, watched for lag."
  type        = string
}

variable "detector_lag_minutes" {
  description = "Minutes without a successful detector run before the lag alarm fires."
  type        = number
  default     = 5
}

variable "errors_threshold" {
  description = "Errors per minute that count as a breaching minute."
  type        = number
  default     = 1
}

variable "errors_evaluation_periods" {
  description = "Consecutive breaching minutes before the errors alarm fires."
  type        = number
  default     = 3
}

variable "throttles_threshold" {
  description = "Throttles in 5 minutes that fire the throttles alarm."
  type        = number
  default     = 1
}

variable "duration_threshold_ratio" {
  description = "Fraction of the timeout that the p99 duration may reach before its alarm fires."
  type        = number
  default     = 0.8

  validation {
    condition     = var.duration_threshold_ratio > 0 && var.duration_threshold_ratio < 1
    error_message = "duration_threshold_ratio must lie strictly between 0 and 1."
  }
}

variable "queue_name" {
  description = "Name of the alerts queue."
  type        = string
}

variable "queue_age_threshold_seconds" {
  description = "Age of the oldest alert in seconds that fires the queue age alarm."
  type        = number
  default     = 300
}

variable "queue_depth_threshold" {
  description = "Visible alerts that fire the queue depth alarm."
  type        = number
  default     = 1000
}

variable "dead_letter_queue_names" {
  description = "Dead-letter queues that must stay empty, keyed by a stable name."
  type        = map(string)
}

variable "alarm_email_endpoints" {
  description = "E-mail addresses subscribed to the alarm topic (each confirms by mail)."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of pulse's own metrics (the consumer's delivery counts)."
  type        = string
  default     = "Pulse"
}

variable "alert_consumer_metric_function" {
  description = "Value of the Function dimension the alert consumer's metrics carry."
  type        = string
  default     = "alert-consumer"
}

variable "delivery_failed_threshold" {
  description = "Failed deliveries in 5 minutes that fire the delivery alarm."
  type        = number
  default     = 5
}

variable "delivery_failed_permanent_threshold" {
  description = "Permanently failed deliveries in 5 minutes that fire the permanent-failure alarm."
  type        = number
  default     = 1
}

variable "redis_cluster_ids" {
  description = "ElastiCache cache cluster ids to watch, the primary first; empty for none (an external Redis)."
  type        = list(string)
  default     = []
}

variable "redis_cpu_threshold_percent" {
  description = "Redis engine CPU (percent) that fires the CPU alarm."
  type        = number
  default     = 80
}

variable "redis_memory_threshold_percent" {
  description = "Redis memory use (percent of maxmemory) that fires the memory alarm."
  type        = number
  default     = 80
}

variable "redis_replication_lag_threshold_seconds" {
  description = "Replication lag (seconds) of a replica that fires its alarm."
  type        = number
  default     = 5
}

variable "source_table_names" {
  description = "The tables the detector reads: their writes tell a stalled detector from quiet tables."
  type        = list(string)
  default     = []
}

variable "stream_trigger_enabled" {
  description = "Whether the detector has a stream trigger (alarm on its iterator age)."
  type        = bool
  default     = false
}

variable "no_records_minutes" {
  description = "Minutes of table writes with no record applied before the detector_no_records alarm."
  type        = number
  default     = 10
}

variable "rejection_ratio_threshold" {
  description = "Rejected / processed records over 5 minutes above which the detector_rejections alarm fires."
  type        = number
  default     = 0.05
}

variable "iterator_age_threshold_ms" {
  description = "Stream IteratorAge (ms) that alarms when reached in 3 of 5 minutes."
  type        = number
  default     = 300000
}

variable "record_lag_threshold_seconds" {
  description = "The detector's Lag (s) that alarms when reached in 3 of 5 minutes."
  type        = number
  default     = 900
}
