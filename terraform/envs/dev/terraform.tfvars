region                = "us-east-1"
events_table_name     = "pulse-dev-events"
coins_table_name      = "pulse-dev-coins"
create_tables         = true
enable_stream_trigger = true

redis_url                 = "rediss://pulse-dev-redis.example.internal:6379"
redis_auth_parameter_name = "/pulse/dev/redis-auth"
secrets_parameter_path    = "/pulse/dev/receivers"

log_retention_days = 14
