module "tags" {
  source = "../../modules/common-tags"

  tags      = var.tags
  component = "bastion"
}

# The VPC is derived from the subnets, so the stack needs no more inputs than the contract gives it.
data "aws_subnet" "first" {
  id = var.private_subnet_ids[0]
}

data "aws_vpc" "this" {
  id = data.aws_subnet.first.vpc_id
}

data "aws_prefix_list" "s3" {
  name = "com.amazonaws.${var.aws_region}.s3"
}

locals {
  name = "${module.tags.name_prefix}-bastion"
}

# No inbound rules at all: the bastion is reached through SSM Session Manager only. Egress is limited
# to what an operator session needs inside the VPC.
module "bastion_sg" {
  source = "../../modules/security-group"

  name        = local.name
  description = "Bastion: no inbound; egress to VPC endpoints, cluster API, shared DB and S3"
  vpc_id      = data.aws_vpc.this.id
  tags        = module.tags.tags

  egress_rules = {
    https_vpc = {
      description = "HTTPS to interface endpoints and Harbor inside the VPC"
      ip_protocol = "tcp"
      from_port   = 443
      to_port     = 443
      cidr_ipv4   = data.aws_vpc.this.cidr_block
    }
    kube_api_vpc = {
      description = "Kubernetes API inside the VPC"
      ip_protocol = "tcp"
      from_port   = 6443
      to_port     = 6443
      cidr_ipv4   = data.aws_vpc.this.cidr_block
    }
    mysql_vpc = {
      description = "Shared MySQL in the db tier"
      ip_protocol = "tcp"
      from_port   = 3306
      to_port     = 3306
      cidr_ipv4   = data.aws_vpc.this.cidr_block
    }
    https_s3 = {
      description    = "S3 through the gateway endpoint"
      ip_protocol    = "tcp"
      from_port      = 443
      to_port        = 443
      prefix_list_id = data.aws_prefix_list.s3.id
    }
  }
}

module "bastion" {
  source = "../../modules/ec2-instance"

  name               = local.name
  instance_type      = var.instance_type
  ami_id             = var.ami_id
  subnet_id          = var.private_subnet_ids[0]
  security_group_ids = [module.bastion_sg.id, var.ops_client_sg_id]
  root_volume_size   = 20
  tags               = module.tags.tags
  instance_tags      = { Role = "bastion" }
}
