# Optional Redis (ElastiCache replication group) with encryption in transit and at rest and
# an AUTH token read from the SSM SecureString the functions read too.

data "aws_ssm_parameter" "auth_token" {
  name            = var.auth_token_parameter_name
  with_decryption = true
}

resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_elasticache_replication_group" "this" {
  #checkov:skip=CKV_AWS_191:at-rest encryption is on; var.kms_key_arn sets a customer managed key where policy requires one, the default is the ElastiCache service key
  replication_group_id       = var.name
  description                = "pulse state and pub/sub"
  engine                     = "redis"
  engine_version             = var.engine_version
  node_type                  = var.node_type
  num_cache_clusters         = var.num_cache_clusters
  port                       = 6379
  automatic_failover_enabled = true
  multi_az_enabled           = true
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = var.security_group_ids

  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auth_token                 = data.aws_ssm_parameter.auth_token.value
  auto_minor_version_upgrade = true
  snapshot_retention_limit   = var.snapshot_retention_limit
  apply_immediately          = var.apply_immediately

  tags = var.tags
}
