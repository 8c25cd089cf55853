module "tags" {
  source = "../.."

  tags = {
    Environment = "dev"
    Service     = "platform"
    Team        = "platform"
    Owner       = "platform-team@example.com"
    CostCenter  = "platform-dev"
    ManagedBy   = "terraform"
  }
  component = "network"
}

output "tags" {
  description = "Tags of the example."
  value       = module.tags.tags
}
