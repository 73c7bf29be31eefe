region            = "us-east-1"
events_table_name = "prod-event-table"
coins_table_name  = "prod-coins-table"
# Streams on the platform's tables (UpdateTable StreamSpecification): set their ARNs and the
# toggle once the data platform has enabled them.
events_table_stream_arn = ""
coins_table_stream_arn  = ""
enable_stream_trigger   = false

create_elasticache             = true
redis_auth_parameter_name      = "/pulse/prod/redis-auth"
elasticache_subnet_ids         = ["subnet-00000000000000001", "subnet-00000000000000002"]
elasticache_security_group_ids = ["sg-00000000000000001"]
subnet_ids                     = ["subnet-00000000000000001", "subnet-00000000000000002"]
security_group_ids             = ["sg-00000000000000002"]
secrets_parameter_path         = "/pulse/prod/receivers"

log_retention_days    = 90
alarm_email_endpoints = []
