variable "name" {
  description = "Name of the queue; the dead-letter queue is named \"<name>-dlq\"."
  type        = string
}

variable "consumer_timeout_seconds" {
  description = "Timeout of the Lambda function consuming the queue; the visibility timeout is at least six times this."
  type        = number

  validation {
    condition     = var.consumer_timeout_seconds >= 1 && var.consumer_timeout_seconds <= 900
    error_message = "consumer_timeout_seconds must lie in 1..900."
  }
}

variable "consumer_batching_window_seconds" {
  description = "Maximum batching window of the consumer's event source mapping, added to the visibility timeout."
  type        = number
  default     = 0
}

variable "min_visibility_timeout_seconds" {
  description = "Lower bound of the visibility timeout in seconds (the first version used 300)."
  type        = number
  default     = 300
}

variable "message_retention_seconds" {
  description = "Retention of the alerts queue in seconds (default 4 days)."
  type        = number
  default     = 345600
}

variable "dlq_message_retention_seconds" {
  description = "Retention of the dead-letter queue in seconds (default and maximum 14 days)."
  type        = number
  default     = 1209600

  validation {
    condition     = var.dlq_message_retention_seconds >= 60 && var.dlq_message_retention_seconds <= 1209600
    error_message = "dlq_message_retention_seconds must lie in 60..1209600 (14 days)."
  }
}

variable "create_dlq_redrive_allow_policy" {
  description = "Allow only this queue to use the DLQ (redrive-allow policy). Leave true; the emulator rehearsal turns it off because moto drops the attribute and the provider would wait for it forever."
  type        = bool
  default     = true
}

variable "max_receive_count" {
  description = "Receives after which a message moves to the dead-letter queue."
  type        = number
  default     = 3
}

variable "receive_wait_time_seconds" {
  description = "Long-poll wait of ReceiveMessage in seconds."
  type        = number
  default     = 0
}

variable "kms_master_key_id" {
  description = "KMS key for server-side encryption; null uses SQS-managed encryption (SSE-SQS)."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for both queues."
  type        = map(string)
  default     = {}
}
