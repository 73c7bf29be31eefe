output "function_name" {
  description = "Name of the Lambda function."
  value       = aws_lambda_function.this.function_name
}

output "function_arn" {
  description = "ARN of the Lambda function."
  value       = aws_lambda_function.this.arn
}

output "timeout" {
  description = "Timeout of the function in seconds."
  value       = aws_lambda_function.this.timeout
}

output "role_arn" {
  description = "ARN of the function's execution role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the function's execution role."
  value       = aws_iam_role.this.name
}

output "log_group_name" {
  description = "Name of the function's log group."
  value       = aws_cloudwatch_log_group.this.name
}

output "alias_arn" {
  description = "ARN of the alias `live` (what triggers invoke)."
  value       = aws_lambda_alias.live.arn
}

output "alias_name" {
  description = "Name of the alias triggers invoke."
  value       = aws_lambda_alias.live.name
}

output "version" {
  description = "Version published by this apply (the alias points at it)."
  value       = aws_lambda_function.this.version
}
