variable "function_name" {
  description = "Name of the Lambda function; also names its role and log group."
  type        = string
}

variable "description" {
  description = "Description shown in the Lambda console."
  type        = string
  default     = ""
}

variable "zip_path" {
  description = "Path of the bootstrap.zip written by `cargo lambda build --release --arm64 --output-format zip`."
  type        = string
}

variable "source_code_hash" {
  description = "Base64 SHA-256 of the zip; null computes it from zip_path."
  type        = string
  default     = null
}

variable "architectures" {
  description = "Instruction set of the binary: [\"arm64\"] (Graviton) or [\"x86_64\"]."
  type        = list(string)
  default     = ["arm64"]

  validation {
    condition     = length(var.architectures) == 1 && contains(["arm64", "x86_64"], var.architectures[0])
    error_message = "architectures must be [\"arm64\"] or [\"x86_64\"]."
  }
}

variable "memory_size" {
  description = "Memory in MB (CPU scales with it)."
  type        = number
  default     = 256

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240
    error_message = "memory_size must lie in 128..10240 MB."
  }
}

variable "timeout" {
  description = "Timeout in seconds."
  type        = number
  default     = 30

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 900
    error_message = "timeout must lie in 1..900 seconds."
  }
}

variable "reserved_concurrent_executions" {
  description = "Reserved concurrency; -1 leaves the function unreserved."
  type        = number
  default     = -1
}

variable "environment" {
  description = "Environment variables (names from shared/src/env.rs)."
  type        = map(string)
  default     = {}
}

variable "log_retention_days" {
  description = "Retention of the function's log group in days."
  type        = number
  default     = 30

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, ...)."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key ARN to encrypt the log group; null uses CloudWatch Logs' own encryption."
  type        = string
  default     = null
}

variable "application_log_level" {
  description = "Lowest application log level Lambda keeps (JSON log format): TRACE, DEBUG, INFO, WARN, ERROR or FATAL."
  type        = string
  default     = "INFO"
}

variable "system_log_level" {
  description = "Lowest Lambda platform log level kept: DEBUG, INFO or WARN."
  type        = string
  default     = "WARN"
}

variable "tracing_mode" {
  description = "X-Ray tracing mode: Active or PassThrough."
  type        = string
  default     = "Active"

  validation {
    condition     = contains(["Active", "PassThrough"], var.tracing_mode)
    error_message = "tracing_mode must be Active or PassThrough."
  }
}

variable "subnet_ids" {
  description = "Subnets to run the function in; empty runs it outside any VPC."
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "Security groups of the function's network interfaces (with subnet_ids)."
  type        = list(string)
  default     = []
}

variable "policy_statements" {
  description = "Extra IAM statements of the execution role: named actions on named resources."
  type = list(object({
    sid       = string
    actions   = list(string)
    resources = list(string)
    conditions = optional(list(object({
      test     = string
      variable = string
      values   = list(string)
    })), [])
  }))
  default = []

  validation {
    condition     = alltrue([for s in var.policy_statements : alltrue([for a in s.actions : a != "*" && !endswith(a, ":*")])])
    error_message = "policy_statements must name their actions: no \"*\" and no \"service:*\"."
  }
}

variable "permissions_boundary_arn" {
  description = "Permissions boundary of the execution role (terraform/bootstrap creates one per environment; the deploy role may only create roles with it); null for none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
