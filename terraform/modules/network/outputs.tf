output "vpc_id" {
  description = "ID of the VPC."
  value       = aws_vpc.this.id
}

output "private_subnet_ids" {
  description = "Private subnets (functions and ElastiCache), one per zone."
  value       = aws_subnet.private[*].id
}

output "functions_security_group_id" {
  description = "Security group of the functions' network interfaces."
  value       = aws_security_group.functions.id
}

output "redis_security_group_id" {
  description = "Security group of the ElastiCache nodes."
  value       = aws_security_group.redis.id
}

output "nat_public_ips" {
  description = "Public addresses the receivers see the alert consumer's requests come from."
  value       = aws_eip.nat[*].public_ip
}
