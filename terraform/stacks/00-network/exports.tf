# /shared/network/* for application stacks (seed guide, "Network SSM Parameters").
module "exports" {
  source = "../../modules/ssm-exports"

  component = "network"
  tags      = module.tags.tags

  parameters = {
    "/shared/network/vpc-id" = {
      value       = aws_vpc.this.id
      description = "VPC ID for cross-stack references"
    }
    "/shared/network/vpc-cidr" = {
      value       = aws_vpc.this.cidr_block
      description = "VPC CIDR for cross-stack references"
    }
    "/shared/network/public-subnet-ids" = {
      value       = join(",", aws_subnet.public[*].id)
      description = "Public subnet IDs for cross-stack references"
      type        = "StringList"
    }
    "/shared/network/private-subnet-ids" = {
      value       = join(",", aws_subnet.private[*].id)
      description = "Private subnet IDs for cross-stack references"
      type        = "StringList"
    }
    "/shared/network/data-subnet-ids" = {
      value       = join(",", aws_subnet.db[*].id)
      description = "Data subnet IDs for cross-stack references"
      type        = "StringList"
    }
  }
}
