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

module "db_sg" {
  source = "../.."

  name        = "dev-platform-example-db"
  description = "Example: MySQL admitted from an identity group only"
  vpc_id      = "vpc-0a1b2c3d4e5f60718"
  tags        = module.tags.tags

  ingress_rules = {
    mysql_from_k8s_client = {
      description                  = "MySQL from k8s-client"
      ip_protocol                  = "tcp"
      from_port                    = 3306
      to_port                      = 3306
      referenced_security_group_id = "sg-0a0000000000000a1"
    }
  }
}

output "security_group_id" {
  description = "Id of the example group."
  value       = module.db_sg.id
}
