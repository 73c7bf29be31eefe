# Shared by every environment root: each envs/<env>/common.tf is a link to this file, so the
# operator's inputs, the provider and the outputs are written once. What differs between
# environments is written as literals in envs/<env>/main.tf (one call of modules/pulse);
# what only the operator knows is a variable below, without a default, set in
# envs/<env>/terraform.tfvars (copy terraform.tfvars.example beside it).

variable "region" {
  description = "AWS region of the environment, e.g. \"us-east-1\"."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.region))
    error_message = "region must be an AWS region name such as \"us-east-1\"."
  }
}

variable "events_table_name" {
  description = "Events table (TVL and dimensions records) of the data platform in this account, e.g. \"prod-event-table\"."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.events_table_name))
    error_message = "events_table_name must be a DynamoDB table name (3..255 of A-Z a-z 0-9 _ . -)."
  }
}

variable "coins_table_name" {
  description = "Coins table (prices) of the data platform in this account; may equal events_table_name."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.coins_table_name))
    error_message = "coins_table_name must be a DynamoDB table name (3..255 of A-Z a-z 0-9 _ . -)."
  }
}

variable "events_table_stream_arn" {
  description = "Stream ARN of the events table, once the data platform has enabled streams; empty for none (schedule only)."
  type        = string
  default     = ""

  validation {
    condition     = var.events_table_stream_arn == "" || can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[^/]+/stream/.+$", var.events_table_stream_arn))
    error_message = "events_table_stream_arn must be empty or a DynamoDB stream ARN (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>)."
  }
}

variable "read_table_streams" {
  description = "The tables' streams are on (enabled once with UpdateTable, docs/detector.md): read their ARNs from the tables and attach the stream trigger."
  type        = bool
  default     = false
}

variable "coins_table_stream_arn" {
  description = "Stream ARN of the coins table; empty for none."
  type        = string
  default     = ""

  validation {
    condition     = var.coins_table_stream_arn == "" || can(regex("^arn:aws[a-z-]*:dynamodb:[a-z0-9-]+:[0-9]{12}:table/[^/]+/stream/.+$", var.coins_table_stream_arn))
    error_message = "coins_table_stream_arn must be empty or a DynamoDB stream ARN (arn:aws:dynamodb:<region>:<account>:table/<name>/stream/<label>)."
  }
}

variable "vpc_cidr_block" {
  description = "IPv4 CIDR of the environment's VPC, /16../24, not overlapping the organisation's other networks, e.g. \"10.20.0.0/16\"."
  type        = string

  validation {
    condition     = can(cidrhost(var.vpc_cidr_block, 0)) && can(regex("/(1[6-9]|2[0-4])$", var.vpc_cidr_block))
    error_message = "vpc_cidr_block must be an IPv4 CIDR between /16 and /24, e.g. \"10.20.0.0/16\"."
  }
}

variable "alarm_email_endpoints" {
  description = "E-mail addresses that receive the alarms (each confirms by mail); at least one in prod, [] allowed elsewhere."
  type        = list(string)

  validation {
    condition     = alltrue([for e in var.alarm_email_endpoints : can(regex("^[^@ ]+@[^@ ]+[.][^@ ]+$", e)) && !endswith(lower(e), ".example")])
    error_message = "alarm_email_endpoints must hold the real subscribers' e-mail addresses (not the example ones); modules/pulse requires at least one in prod."
  }
}

variable "artifacts_dir" {
  description = "Directory holding <package>/bootstrap.zip as scripts/package-lambdas.sh writes them (the deploy workflow downloads its artifact there)."
  type        = string
  default     = "../../../target/lambda"
}

provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "pulse"
      Environment = local.environment
      ManagedBy   = "terraform"
    }
  }
}

output "function_names" {
  description = "Lambda function names, keyed detector, alert_consumer, dlq_redrive (the smoke test and dlq workflow invoke them)."
  value       = module.pulse.function_names
}

output "function_alias" {
  description = "Alias every trigger invokes; scripts/smoke.sh invokes it, a rollback moves it."
  value       = module.pulse.function_alias
}

output "function_versions" {
  description = "Version each alias points at after this apply."
  value       = module.pulse.function_versions
}

output "alerts_queue_url" {
  description = "URL of the alerts queue."
  value       = module.pulse.alerts_queue_url
}

output "dead_letter_queue_url" {
  description = "URL of the alerts dead-letter queue."
  value       = module.pulse.dead_letter_queue_url
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.pulse.alarm_topic_arn
}

output "redis_url" {
  description = "Redis URL of the functions (no credentials)."
  value       = module.pulse.redis_url
}

output "nat_public_ips" {
  description = "Addresses the receivers see the alert consumer's requests come from."
  value       = module.pulse.nat_public_ips
}
