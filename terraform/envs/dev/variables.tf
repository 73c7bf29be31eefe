variable "region" {
  description = "AWS region of the environment."
  type        = string
  default     = "us-east-1"
}

variable "artifacts_dir" {
  description = "Directory holding <function>/bootstrap.zip as cargo lambda writes them (target/lambda)."
  type        = string
  default     = "../../../target/lambda"
}

variable "architectures" {
  description = "Instruction set the zips were built for."
  type        = list(string)
  default     = ["arm64"]
}

variable "events_table_name" {
  description = "Events table of the data platform."
  type        = string
}

variable "coins_table_name" {
  description = "Coins table of the data platform."
  type        = string
}

variable "events_table_stream_arn" {
  description = "Stream ARN of the events table; empty for none."
  type        = string
  default     = ""
}

variable "coins_table_stream_arn" {
  description = "Stream ARN of the coins table; empty for none."
  type        = string
  default     = ""
}

variable "create_tables" {
  description = "Create same-schema tables under the names above (dev only)."
  type        = bool
  default     = false
}

variable "enable_stream_trigger" {
  description = "Invoke the detector from the tables' streams as well as on schedule."
  type        = bool
  default     = false
}

variable "thresholds_file" {
  description = "Thresholds TOML file inside the detector's zip; empty for the built-in thresholds."
  type        = string
  default     = ""
}

variable "redis_url" {
  description = "URL of an existing Redis; empty with create_elasticache."
  type        = string
  default     = ""
}

variable "redis_auth_parameter_name" {
  description = "SSM SecureString with the Redis AUTH token; empty for none."
  type        = string
  default     = ""
}

variable "create_elasticache" {
  description = "Create an ElastiCache Redis for this environment."
  type        = bool
  default     = false
}

variable "elasticache_subnet_ids" {
  description = "Subnets of the ElastiCache nodes."
  type        = list(string)
  default     = []
}

variable "elasticache_security_group_ids" {
  description = "Security groups of the ElastiCache nodes."
  type        = list(string)
  default     = []
}

variable "subnet_ids" {
  description = "Subnets of the functions; empty for none."
  type        = list(string)
  default     = []
}

variable "security_group_ids" {
  description = "Security groups of the functions."
  type        = list(string)
  default     = []
}

variable "secrets_parameter_path" {
  description = "SSM path of the receiver secrets; empty for none."
  type        = string
  default     = ""
}

variable "log_retention_days" {
  description = "Log retention of the functions in days."
  type        = number
  default     = 30
}

variable "alarm_email_endpoints" {
  description = "E-mail addresses that receive alarms."
  type        = list(string)
  default     = []
}
