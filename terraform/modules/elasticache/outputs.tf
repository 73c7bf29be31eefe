output "primary_endpoint_address" {
  description = "Address of the primary node."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "redis_url" {
  description = "rediss:// URL (TLS) of the primary node, without credentials."
  value       = "rediss://${aws_elasticache_replication_group.this.primary_endpoint_address}:${var.port}"
}

output "member_cluster_ids" {
  description = "Cache cluster ids of the group's nodes, the primary first (CloudWatch dimension CacheClusterId)."
  value       = local.member_cluster_ids
}
