# dev: its own tables (streams on), a small ElastiCache (one node, no failover) in its own
# VPC with one NAT gateway (AWS API calls go through it too: no interface endpoints).

locals {
  environment = "dev"
}

module "pulse" {
  source = "../../modules/pulse"

  environment               = local.environment
  name_prefix               = "pulse-dev"
  artifacts_dir             = var.artifacts_dir
  permissions_boundary_name = "pulse-dev-boundary"

  events_table_name       = var.events_table_name
  coins_table_name        = var.coins_table_name
  events_table_stream_arn = var.events_table_stream_arn
  coins_table_stream_arn  = var.coins_table_stream_arn
  create_tables           = true
  enable_stream_trigger   = true

  vpc_cidr_block          = var.vpc_cidr_block
  availability_zone_count = 2
  nat_gateway_per_zone    = false
  interface_endpoints     = []

  redis_auth_parameter_name      = "/pulse/dev/redis-auth"
  elasticache_node_type          = "cache.t4g.micro"
  elasticache_num_cache_clusters = 1
  secrets_parameter_path         = "/pulse/dev/receivers"

  log_retention_days    = 14
  alarm_email_endpoints = var.alarm_email_endpoints
}
