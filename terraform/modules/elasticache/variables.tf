variable "name" {
  description = "Replication group id and subnet group name."
  type        = string
}

variable "auth_token_parameter_name" {
  description = "SSM SecureString holding the AUTH token (16..128 printable characters, no @ \" /), created before the first apply."
  type        = string

  validation {
    condition     = can(regex("^/[A-Za-z0-9_./-]+$", var.auth_token_parameter_name))
    error_message = "auth_token_parameter_name must be an SSM parameter name starting with /, e.g. \"/pulse/prod/redis-auth\"."
  }
}

variable "set_auth_token" {
  description = "Set the AUTH token after creation with scripts/redis-auth.sh (needs the AWS CLI); false only where no AWS CLI runs the apply."
  type        = bool
  default     = true
}

variable "port" {
  description = "Port Redis listens on."
  type        = number
  default     = 6379
}

variable "subnet_ids" {
  description = "Private subnets of the cache nodes."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "An ElastiCache replication group needs at least one subnet."
  }
}

variable "security_group_ids" {
  description = "Security groups of the cache nodes (allow 6379 from the functions' group)."
  type        = list(string)
}

variable "node_type" {
  description = "Cache node type."
  type        = string
  default     = "cache.t4g.micro"
}

variable "num_cache_clusters" {
  description = "Nodes in the group: 1 (dev: no failover) or a primary and replicas in other zones (2..6: automatic failover, Multi-AZ)."
  type        = number
  default     = 2

  validation {
    condition     = var.num_cache_clusters >= 1 && var.num_cache_clusters <= 6
    error_message = "num_cache_clusters must lie in 1..6."
  }
}

variable "engine_version" {
  description = "Redis engine version (7.x: the parameter group family is derived from it)."
  type        = string
  default     = "7.1"

  validation {
    condition     = startswith(var.engine_version, "7.")
    error_message = "engine_version must be 7.x (the parameter group sets zset-max-listpack-entries, a Redis 7 name)."
  }
}

variable "history_listpack_entries" {
  description = "zset-max-listpack-entries: sorted sets up to this many members stay compact. 2048 holds a day of minute history per key (1,440); sub-minute writers need more."
  type        = number
  default     = 2048

  validation {
    condition     = var.history_listpack_entries >= 128 && var.history_listpack_entries <= 8192
    error_message = "history_listpack_entries must be between 128 (Redis's default) and 8192 (larger listpacks make ZADD slow)."
  }
}

variable "kms_key_arn" {
  description = "KMS key for at-rest encryption; null uses the ElastiCache service key."
  type        = string
  default     = null
}

variable "snapshot_retention_limit" {
  description = "Days of automatic snapshots to keep (0 disables them)."
  type        = number
  default     = 1
}

variable "apply_immediately" {
  description = "Apply changes now rather than in the maintenance window."
  type        = bool
  default     = false
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
