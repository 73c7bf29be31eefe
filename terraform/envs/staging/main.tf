# staging: the data platform's staging tables, a two-node ElastiCache (failover), one NAT
# gateway, no interface endpoints.

locals {
  environment = "staging"
}

module "pulse" {
  source = "../../modules/pulse"

  environment               = local.environment
  name_prefix               = "pulse-staging"
  artifacts_dir             = var.artifacts_dir
  permissions_boundary_name = "pulse-staging-boundary"

  events_table_name       = var.events_table_name
  coins_table_name        = var.coins_table_name
  events_table_stream_arn = var.events_table_stream_arn
  coins_table_stream_arn  = var.coins_table_stream_arn
  stream_arns_from_tables = var.read_table_streams
  enable_stream_trigger   = var.read_table_streams || var.events_table_stream_arn != "" || var.coins_table_stream_arn != ""

  vpc_cidr_block          = var.vpc_cidr_block
  availability_zone_count = 2
  nat_gateway_per_zone    = false
  interface_endpoints     = []

  redis_auth_parameter_name      = "/pulse/staging/redis-auth"
  elasticache_node_type          = "cache.t4g.small"
  elasticache_num_cache_clusters = 2
  secrets_parameter_path         = "/pulse/staging/receivers"

  log_retention_days    = 30
  alarm_email_endpoints = var.alarm_email_endpoints
}
