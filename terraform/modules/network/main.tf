# The environment's network: a VPC with private subnets for the functions that need Redis
# (detector, alert consumer) and for ElastiCache, public subnets holding the NAT gateway(s)
# the alert consumer's receivers on the internet are reached through, a gateway endpoint for
# DynamoDB, optional interface endpoints (SQS, SSM, CloudWatch monitoring), and security
# groups: the functions reach Redis on its port and HTTPS, Redis admits its port from the
# functions and nothing else. dlq-redrive stays outside the VPC (it only calls SQS).

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:only the first availability_zone_count zones are used (slice below); a zone AWS adds later sorts after them and changes nothing
  state = "available"
}

data "aws_region" "current" {}

locals {
  zones = slice(data.aws_availability_zones.available.names, 0, var.availability_zone_count)
  # /20 per subnet: private subnets first, public ones after them.
  private_cidrs = [for i, _ in local.zones : cidrsubnet(var.cidr_block, 4, i)]
  public_cidrs  = [for i, _ in local.zones : cidrsubnet(var.cidr_block, 4, 8 + i)]
  nat_count     = var.nat_gateway_per_zone ? length(local.zones) : 1
}

resource "aws_vpc" "this" {
  #checkov:skip=CKV2_AWS_11:flow logs cost more than this VPC's traffic is worth watching; enable them per account policy (README, Network)
  cidr_block           = var.cidr_block
  enable_dns_support   = true
  enable_dns_hostnames = true # interface endpoints answer under the services' own names
  tags                 = merge(var.tags, { Name = var.name })
}

# The default security group admits nothing (nothing uses it).
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-default-closed" })
}

resource "aws_subnet" "private" {
  count             = length(local.zones)
  vpc_id            = aws_vpc.this.id
  cidr_block        = local.private_cidrs[count.index]
  availability_zone = local.zones[count.index]
  tags              = merge(var.tags, { Name = "${var.name}-private-${local.zones[count.index]}" })
}

resource "aws_subnet" "public" {
  count             = length(local.zones)
  vpc_id            = aws_vpc.this.id
  cidr_block        = local.public_cidrs[count.index]
  availability_zone = local.zones[count.index]
  tags              = merge(var.tags, { Name = "${var.name}-public-${local.zones[count.index]}" })
}

resource "aws_internet_gateway" "this" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = var.name })
}

resource "aws_eip" "nat" {
  count  = local.nat_count
  domain = "vpc"
  tags   = merge(var.tags, { Name = "${var.name}-nat-${count.index}" })
}

resource "aws_nat_gateway" "this" {
  count         = local.nat_count
  allocation_id = aws_eip.nat[count.index].id
  subnet_id     = aws_subnet.public[count.index].id
  tags          = merge(var.tags, { Name = "${var.name}-${local.zones[count.index]}" })

  depends_on = [aws_internet_gateway.this]
}

resource "aws_route_table" "public" {
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-public" })
}

resource "aws_route" "public_internet" {
  route_table_id         = aws_route_table.public.id
  destination_cidr_block = "0.0.0.0/0"
  gateway_id             = aws_internet_gateway.this.id
}

resource "aws_route_table_association" "public" {
  count          = length(local.zones)
  subnet_id      = aws_subnet.public[count.index].id
  route_table_id = aws_route_table.public.id
}

# One private route table per zone: each reaches the internet through its zone's NAT
# gateway (or the only one).
resource "aws_route_table" "private" {
  count  = length(local.zones)
  vpc_id = aws_vpc.this.id
  tags   = merge(var.tags, { Name = "${var.name}-private-${local.zones[count.index]}" })
}

resource "aws_route" "private_nat" {
  count                  = length(local.zones)
  route_table_id         = aws_route_table.private[count.index].id
  destination_cidr_block = "0.0.0.0/0"
  nat_gateway_id         = aws_nat_gateway.this[min(count.index, local.nat_count - 1)].id
}

resource "aws_route_table_association" "private" {
  count          = length(local.zones)
  subnet_id      = aws_subnet.private[count.index].id
  route_table_id = aws_route_table.private[count.index].id
}

# DynamoDB through a gateway endpoint: free, and the detector's reads never cross the NAT.
resource "aws_vpc_endpoint" "dynamodb" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${data.aws_region.current.name}.dynamodb"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = aws_route_table.private[*].id
  tags              = merge(var.tags, { Name = "${var.name}-dynamodb" })
}

# --- security groups ---------------------------------------------------------------------

resource "aws_security_group" "functions" {
  #checkov:skip=CKV2_AWS_5:attached to the detector's and the alert consumer's network interfaces through modules/function (vpc_config), which checkov does not follow
  name        = "${var.name}-functions"
  description = "pulse functions in the VPC: Redis on its port, HTTPS to AWS APIs and receivers"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-functions" })
}

resource "aws_vpc_security_group_egress_rule" "functions_redis" {
  security_group_id            = aws_security_group.functions.id
  description                  = "Redis (ElastiCache) on its port"
  ip_protocol                  = "tcp"
  from_port                    = var.redis_port
  to_port                      = var.redis_port
  referenced_security_group_id = aws_security_group.redis.id
}

resource "aws_vpc_security_group_egress_rule" "functions_https" {
  security_group_id = aws_security_group.functions.id
  description       = "HTTPS: AWS APIs (endpoints or NAT) and the alert consumer's receivers on the internet"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
  cidr_ipv4         = "0.0.0.0/0"
}

resource "aws_security_group" "redis" {
  #checkov:skip=CKV2_AWS_5:attached to the ElastiCache replication group through modules/elasticache, which checkov does not follow
  name        = "${var.name}-redis"
  description = "pulse Redis: its port from the functions, nothing else"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-redis" })
}

resource "aws_vpc_security_group_ingress_rule" "redis_from_functions" {
  security_group_id            = aws_security_group.redis.id
  description                  = "Redis from the pulse functions"
  ip_protocol                  = "tcp"
  from_port                    = var.redis_port
  to_port                      = var.redis_port
  referenced_security_group_id = aws_security_group.functions.id
}

resource "aws_security_group" "endpoints" {
  count       = length(var.interface_endpoints) > 0 ? 1 : 0
  name        = "${var.name}-endpoints"
  description = "pulse interface endpoints: HTTPS from the functions"
  vpc_id      = aws_vpc.this.id
  tags        = merge(var.tags, { Name = "${var.name}-endpoints" })
}

resource "aws_vpc_security_group_ingress_rule" "endpoints_from_functions" {
  count                        = length(var.interface_endpoints) > 0 ? 1 : 0
  security_group_id            = aws_security_group.endpoints[0].id
  description                  = "HTTPS from the pulse functions"
  ip_protocol                  = "tcp"
  from_port                    = 443
  to_port                      = 443
  referenced_security_group_id = aws_security_group.functions.id
}

# Interface endpoints keep AWS API calls (SQS, SSM, CloudWatch) off the NAT gateway: less
# NAT data, and no internet path needed for them. Each costs per hour and zone (README).
resource "aws_vpc_endpoint" "interface" {
  for_each            = toset(var.interface_endpoints)
  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${data.aws_region.current.name}.${each.value}"
  vpc_endpoint_type   = "Interface"
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [aws_security_group.endpoints[0].id]
  private_dns_enabled = true
  tags                = merge(var.tags, { Name = "${var.name}-${each.value}" })
}
