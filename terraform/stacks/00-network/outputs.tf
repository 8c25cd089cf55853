output "vpc_id" {
  description = "VPC id."
  value       = aws_vpc.this.id
}

output "vpc_cidr" {
  description = "VPC CIDR block."
  value       = aws_vpc.this.cidr_block
}

output "subnet_ids_by_tier" {
  description = "Subnet ids per tier (public, private, db)."
  value = {
    public  = aws_subnet.public[*].id
    private = aws_subnet.private[*].id
    db      = aws_subnet.db[*].id
  }
}

output "subnet_cidrs_by_tier" {
  description = "Subnet CIDRs per tier (public, private, db)."
  value = {
    public  = aws_subnet.public[*].cidr_block
    private = aws_subnet.private[*].cidr_block
    db      = aws_subnet.db[*].cidr_block
  }
}

output "route_table_ids_by_tier" {
  description = "Route table ids per tier."
  value = {
    public  = [aws_route_table.public.id]
    private = aws_route_table.private[*].id
    db      = [aws_route_table.db.id]
  }
}

output "endpoint_security_group_id" {
  description = "Security group of the interface endpoints (443 from the VPC CIDR only)."
  value       = module.endpoint_sg.id
}

output "nat_gateway_ids" {
  description = "NAT gateway ids (empty when nat_mode is none)."
  value       = aws_nat_gateway.this[*].id
}

output "s3_gateway_endpoint_id" {
  description = "S3 gateway endpoint id."
  value       = aws_vpc_endpoint.s3.id
}
