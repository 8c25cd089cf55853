module "tags" {
  source = "../../../common-tags"

  tags = {
    Environment = "dev"
    Service     = "platform"
    Team        = "platform"
    Owner       = "platform-team@example.com"
    CostCenter  = "platform-dev"
    ManagedBy   = "terraform"
  }
}

module "exports" {
  source = "../.."

  component = "network"
  tags      = module.tags.tags
  parameters = {
    "/shared/network/vpc-id" = {
      value       = "vpc-0a1b2c3d4e5f60718"
      description = "VPC ID for cross-stack references"
    }
    "/shared/network/private-subnet-ids" = {
      value       = join(",", ["subnet-0bb00000000000001", "subnet-0bb00000000000002"])
      description = "Private subnet IDs for cross-stack references"
      type        = "StringList"
    }
  }
}

output "exported" {
  description = "Names exported by the example."
  value       = module.exports.parameter_names
}
