# Redis (ElastiCache replication group): TLS in transit, encryption at rest, AUTH. The AUTH
# token never enters Terraform's plan or state: the provider (5.x) has no write-only
# auth_token, so the group is created without one and scripts/redis-auth.sh, run here right
# after creation, reads the token from its SSM SecureString and sets it with the AWS CLI
# (README: Secrets). The functions read the same parameter at cold start.

locals {
  failover = var.num_cache_clusters > 1
  # ElastiCache names the members of a replication group <id>-001, <id>-002, ...
  member_cluster_ids = [for i in range(1, var.num_cache_clusters + 1) : format("%s-%03d", var.name, i)]
}

resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

# The detector keeps 24 h of history per key in a sorted set (docs/redis-keys.md): 1,440
# members a day for minute data. Past 128 members Redis switches a sorted set from its compact
# listpack to a skiplist, about 4x the memory (167 KB against 41 KB for a day of minutes,
# BENCHMARKS.md "Redis memory per key"); the limit here keeps a day of minute data compact.
resource "aws_elasticache_parameter_group" "this" {
  name        = var.name
  family      = "redis${split(".", var.engine_version)[0]}"
  description = "pulse: compact 24 h history sorted sets"

  parameter {
    name  = "zset-max-listpack-entries"
    value = tostring(var.history_listpack_entries)
  }

  tags = var.tags
}

resource "aws_elasticache_replication_group" "this" {
  #checkov:skip=CKV_AWS_191:at-rest encryption is on; var.kms_key_arn sets a customer managed key where policy requires one, the default is the ElastiCache service key
  #checkov:skip=CKV_AWS_31:AUTH is set outside Terraform so the token stays out of state (terraform_data.auth_token below, scripts/redis-auth.sh)
  replication_group_id       = var.name
  description                = "pulse state and pub/sub"
  engine                     = "redis"
  engine_version             = var.engine_version
  node_type                  = var.node_type
  parameter_group_name       = aws_elasticache_parameter_group.this.name
  num_cache_clusters         = var.num_cache_clusters
  port                       = var.port
  automatic_failover_enabled = local.failover
  multi_az_enabled           = local.failover
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = var.security_group_ids

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auto_minor_version_upgrade = true
  snapshot_retention_limit   = var.snapshot_retention_limit
  apply_immediately          = var.apply_immediately

  tags = var.tags

  lifecycle {
    # Set by scripts/redis-auth.sh, never by Terraform.
    ignore_changes = [auth_token, auth_token_update_strategy]
  }
}

# Sets the AUTH token from SSM once the group exists (again when the group is replaced, or
# by hand for a rotation: README, Secrets). Only names travel through Terraform.
resource "terraform_data" "auth_token" {
  count            = var.set_auth_token ? 1 : 0
  triggers_replace = [aws_elasticache_replication_group.this.id, var.auth_token_parameter_name]

  provisioner "local-exec" {
    command = "${path.module}/../../../scripts/redis-auth.sh"
    environment = {
      REPLICATION_GROUP_ID = aws_elasticache_replication_group.this.id
      AUTH_PARAMETER       = var.auth_token_parameter_name
    }
  }
}
