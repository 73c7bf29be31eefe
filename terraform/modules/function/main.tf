# One Lambda function from the zip scripts/package-lambdas.sh builds (cargo lambda, arm64),
# its log group (retention, JSON format), its execution role (iam.tf), and the alias `live`
# every trigger invokes: each apply publishes a version and moves `live` to it, so a rollback
# is one `aws lambda update-alias` back to the previous version (README, Rollback).

resource "aws_cloudwatch_log_group" "this" {
  #checkov:skip=CKV_AWS_338:retention is a variable per environment (var.log_retention_days); a year of debug logs is not worth its cost here
  #checkov:skip=CKV_AWS_158:log groups are encrypted by CloudWatch Logs by default; var.log_kms_key_arn sets a customer managed key where policy requires one
  name              = "/aws/lambda/${var.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = var.tags
}

resource "aws_lambda_function" "this" {
  #checkov:skip=CKV_AWS_116:no async dead-letter queue: the detector's schedule retries on the next tick, the alert consumer's failures go to the alerts DLQ through SQS, the redrive function is invoked synchronously by hand
  #checkov:skip=CKV_AWS_117:VPC placement is optional (var.subnet_ids); functions reach Redis inside a VPC when it is set and the managed AWS endpoints otherwise
  #checkov:skip=CKV_AWS_272:code signing needs a signing profile the team does not run yet; zips come from the CI artifact of the same commit
  #checkov:skip=CKV_AWS_173:the environment holds names and URLs only; secrets live in SSM SecureString parameters
  function_name = var.function_name
  description   = var.description
  role          = aws_iam_role.this.arn

  filename         = var.zip_path
  source_code_hash = var.source_code_hash != null ? var.source_code_hash : filebase64sha256(var.zip_path)
  publish          = true
  handler          = "bootstrap"
  runtime          = "provided.al2023"
  architectures    = var.architectures

  memory_size                    = var.memory_size
  timeout                        = var.timeout
  reserved_concurrent_executions = var.reserved_concurrent_executions

  environment {
    variables = var.environment
  }

  logging_config {
    log_format            = "JSON"
    log_group             = aws_cloudwatch_log_group.this.name
    application_log_level = var.application_log_level
    system_log_level      = var.system_log_level
  }

  tracing_config {
    mode = var.tracing_mode
  }

  dynamic "vpc_config" {
    for_each = length(var.subnet_ids) > 0 ? [1] : []
    content {
      subnet_ids         = var.subnet_ids
      security_group_ids = var.security_group_ids
    }
  }

  tags = var.tags

  depends_on = [
    aws_cloudwatch_log_group.this,
    aws_iam_role_policy.this,
  ]
}

resource "aws_lambda_alias" "live" {
  name             = "live"
  description      = "The version triggers invoke; moved by each apply, or back by hand for a rollback."
  function_name    = aws_lambda_function.this.function_name
  function_version = aws_lambda_function.this.version
}
