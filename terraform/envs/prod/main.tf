# prod: the data platform's tables, a two-node ElastiCache (failover, Multi-AZ), a NAT
# gateway per zone, interface endpoints for SQS, SSM and CloudWatch, alarm subscribers
# required (modules/pulse validates).

locals {
  environment = "prod"
}

module "pulse" {
  source = "../../modules/pulse"

  environment               = local.environment
  name_prefix               = "pulse-prod"
  artifacts_dir             = var.artifacts_dir
  permissions_boundary_name = "pulse-prod-boundary"

  events_table_name       = var.events_table_name
  coins_table_name        = var.coins_table_name
  events_table_stream_arn = var.events_table_stream_arn
  coins_table_stream_arn  = var.coins_table_stream_arn
  stream_arns_from_tables = var.read_table_streams
  enable_stream_trigger   = var.read_table_streams || var.events_table_stream_arn != "" || var.coins_table_stream_arn != ""

  vpc_cidr_block          = var.vpc_cidr_block
  availability_zone_count = 2
  nat_gateway_per_zone    = true
  interface_endpoints     = ["sqs", "ssm", "monitoring"]

  redis_auth_parameter_name      = "/pulse/prod/redis-auth"
  elasticache_node_type          = "cache.t4g.small"
  elasticache_num_cache_clusters = 2
  secrets_parameter_path         = "/pulse/prod/receivers"

  log_retention_days    = 90
  alarm_email_endpoints = var.alarm_email_endpoints
}
