# S3 gateway endpoint on the private and db route tables (RKE2 artifacts, Harbor storage, backups).
resource "aws_vpc_endpoint" "s3" {
  vpc_id            = aws_vpc.this.id
  service_name      = "com.amazonaws.${var.aws_region}.s3"
  vpc_endpoint_type = "Gateway"
  route_table_ids   = concat(aws_route_table.private[*].id, [aws_route_table.db.id])

  tags = merge(module.tags.tags, { Name = "${local.name}-s3-gateway" })
}

# Interface endpoints admit HTTPS from inside the VPC and nothing else.
module "endpoint_sg" {
  source = "../../modules/security-group"

  name        = "${local.name}-endpoints"
  description = "VPC interface endpoints: tcp/443 from the VPC CIDR only"
  vpc_id      = aws_vpc.this.id
  tags        = module.tags.tags

  ingress_rules = {
    https_from_vpc = {
      description = "HTTPS from the VPC CIDR"
      ip_protocol = "tcp"
      from_port   = 443
      to_port     = 443
      cidr_ipv4   = aws_vpc.this.cidr_block
    }
  }
}

resource "aws_vpc_endpoint" "interface" {
  for_each = local.interface_endpoints

  vpc_id              = aws_vpc.this.id
  service_name        = "com.amazonaws.${var.aws_region}.${each.key}"
  vpc_endpoint_type   = "Interface"
  private_dns_enabled = true
  subnet_ids          = aws_subnet.private[*].id
  security_group_ids  = [module.endpoint_sg.id]

  tags = merge(module.tags.tags, { Name = "${local.name}-${replace(each.key, ".", "-")}-endpoint" })
}
