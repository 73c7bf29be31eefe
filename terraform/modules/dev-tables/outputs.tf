output "table_arns" {
  description = "ARN of each table, keyed by name."
  value       = { for name, t in aws_dynamodb_table.this : name => t.arn }
}

output "stream_arns" {
  description = "Latest stream ARN of each table, keyed by name."
  value       = { for name, t in aws_dynamodb_table.this : name => t.stream_arn }
}
