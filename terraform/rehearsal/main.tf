# Apply rehearsal: the dev environment's module call against the local AWS emulator
# (moto_server). Local state, fake credentials, every service endpoint overridden.
# Used by tests/tests/terraform.rs; never deploys anything real.

provider "aws" {
  region                      = "us-east-1"
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true

  endpoints {
    cloudwatch     = var.endpoint
    cloudwatchlogs = var.endpoint
    dynamodb       = var.endpoint
    ec2            = var.endpoint
    elasticache    = var.endpoint
    eventbridge    = var.endpoint
    iam            = var.endpoint
    kms            = var.endpoint
    lambda         = var.endpoint
    sns            = var.endpoint
    sqs            = var.endpoint
    ssm            = var.endpoint
    sts            = var.endpoint
  }
}

module "pulse" {
  source = "../modules/pulse"

  environment = "rehearsal"
  name_prefix = "pulse-rehearsal"

  detector_zip_path       = "${var.artifacts_dir}/detector/bootstrap.zip"
  alert_consumer_zip_path = "${var.artifacts_dir}/alert-consumer/bootstrap.zip"
  dlq_redrive_zip_path    = "${var.artifacts_dir}/dlq-redrive/bootstrap.zip"

  events_table_name     = "pulse-rehearsal-events"
  coins_table_name      = "pulse-rehearsal-coins"
  create_tables         = true
  enable_stream_trigger = true

  redis_url                 = "redis://127.0.0.1:6379"
  redis_auth_parameter_name = "/pulse/rehearsal/redis-auth"
  secrets_parameter_path    = "/pulse/rehearsal/receivers"
  create_elasticache        = false

  # moto drops RedriveAllowPolicy and the provider would wait for it forever: the one
  # emulator concession. Everything else is the real module with dev-like settings.
  create_dlq_redrive_allow_policy = false

  alert_consumer_batch_size          = 7
  alert_consumer_maximum_concurrency = 3
  queue_depth_threshold              = 500
  log_retention_days                 = 14
}
