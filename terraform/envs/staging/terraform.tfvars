region                  = "us-east-1"
events_table_name       = "staging-event-table"
coins_table_name        = "staging-coins-table"
events_table_stream_arn = ""
coins_table_stream_arn  = ""
enable_stream_trigger   = false

# ElastiCache in the environment's VPC: fill in the ids before the first apply.
create_elasticache             = true
redis_auth_parameter_name      = "/pulse/staging/redis-auth"
elasticache_subnet_ids         = ["subnet-00000000000000001", "subnet-00000000000000002"]
elasticache_security_group_ids = ["sg-00000000000000001"]
subnet_ids                     = ["subnet-00000000000000001", "subnet-00000000000000002"]
security_group_ids             = ["sg-00000000000000002"]
secrets_parameter_path         = "/pulse/staging/receivers"

log_retention_days = 30
