provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "pulse"
      Environment = "prod"
      ManagedBy   = "terraform"
    }
  }
}

module "pulse" {
  source = "../../modules/pulse"

  environment = "prod"
  name_prefix = "pulse-prod"

  detector_zip_path       = "${var.artifacts_dir}/detector/bootstrap.zip"
  alert_consumer_zip_path = "${var.artifacts_dir}/alert-consumer/bootstrap.zip"
  dlq_redrive_zip_path    = "${var.artifacts_dir}/dlq-redrive/bootstrap.zip"
  architectures           = var.architectures

  events_table_name       = var.events_table_name
  coins_table_name        = var.coins_table_name
  events_table_stream_arn = var.events_table_stream_arn
  coins_table_stream_arn  = var.coins_table_stream_arn
  create_tables           = var.create_tables
  enable_stream_trigger   = var.enable_stream_trigger
  thresholds_file         = var.thresholds_file

  redis_url                      = var.redis_url
  redis_auth_parameter_name      = var.redis_auth_parameter_name
  create_elasticache             = var.create_elasticache
  elasticache_subnet_ids         = var.elasticache_subnet_ids
  elasticache_security_group_ids = var.elasticache_security_group_ids
  subnet_ids                     = var.subnet_ids
  security_group_ids             = var.security_group_ids

  secrets_parameter_path = var.secrets_parameter_path
  log_retention_days     = var.log_retention_days
  alarm_email_endpoints  = var.alarm_email_endpoints
}
