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

module "node" {
  source = "../.."

  name               = "dev-platform-example"
  instance_type      = "t3.micro"
  subnet_id          = "subnet-0bb00000000000001"
  security_group_ids = ["sg-0a0000000000000a2"]
  tags               = module.tags.tags
  instance_tags      = { Role = "example" }
}

output "instance_id" {
  description = "Id of the example instance."
  value       = module.node.instance_id
}
