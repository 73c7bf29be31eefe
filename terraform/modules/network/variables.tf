variable "name" {
  description = "Prefix of every network resource name, e.g. \"pulse-dev\"."
  type        = string
}

variable "cidr_block" {
  description = "IPv4 CIDR of the VPC (/16 to /24; split into a private and a public subnet per zone)."
  type        = string

  validation {
    condition     = can(cidrhost(var.cidr_block, 0)) && tonumber(split("/", var.cidr_block)[1]) >= 16 && tonumber(split("/", var.cidr_block)[1]) <= 24
    error_message = "cidr_block must be an IPv4 CIDR between /16 and /24, e.g. \"10.20.0.0/16\"."
  }
}

variable "availability_zone_count" {
  description = "Zones to spread the subnets over (2 or 3; ElastiCache failover needs 2)."
  type        = number
  default     = 2

  validation {
    condition     = contains([2, 3], var.availability_zone_count)
    error_message = "availability_zone_count must be 2 or 3."
  }
}

variable "nat_gateway_per_zone" {
  description = "One NAT gateway per zone (survives a zone outage) instead of one for the VPC."
  type        = bool
  default     = false
}

variable "interface_endpoints" {
  description = "Interface endpoints to create, by service suffix: sqs, ssm, monitoring (CloudWatch)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for s in var.interface_endpoints : contains(["sqs", "ssm", "monitoring", "logs", "lambda"], s)])
    error_message = "interface_endpoints may name sqs, ssm, monitoring, logs and lambda."
  }
}

variable "redis_port" {
  description = "Port Redis listens on."
  type        = number
  default     = 6379
}

variable "tags" {
  description = "Tags for every resource of the module."
  type        = map(string)
  default     = {}
}
