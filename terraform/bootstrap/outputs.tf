output "state_bucket" {
  description = "State bucket: the TF_STATE_BUCKET variable of every GitHub environment."
  value       = aws_s3_bucket.state.bucket
}

output "deploy_role_arns" {
  description = "Deploy role per environment: AWS_DEPLOY_ROLE_ARN of that GitHub environment."
  value       = { for env, role in aws_iam_role.deploy : env => role.arn }
}

output "dlq_role_arns" {
  description = "dlq role per environment: AWS_DLQ_ROLE_ARN of that GitHub environment."
  value       = { for env, role in aws_iam_role.dlq : env => role.arn }
}

output "permissions_boundary_arns" {
  description = "Permissions boundary per environment (modules/pulse sets it on every role it creates)."
  value       = { for env, policy in aws_iam_policy.boundary : env => policy.arn }
}

output "plan_role_arns" {
  description = "Plan role per environment: AWS_PLAN_ROLE_ARN of the GitHub environment <env>-plan."
  value       = { for env, role in aws_iam_role.plan : env => role.arn }
}
