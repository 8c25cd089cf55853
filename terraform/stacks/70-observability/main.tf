module "tags" {
  source = "../../modules/common-tags"

  tags      = var.tags
  component = "observability"
}

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
  name = "${module.tags.name_prefix}-monitoring"

  # Scrape targets in the other stacks admit monitoring-client on these ports.
  scrape_ports = {
    node_exporter   = 9100
    harbor_exporter = 9090
    kubelet         = 10250
  }
}

# No inbound rules: Grafana/Prometheus UIs are reached through SSM port forwarding. The scrapes go out
# to the ports the other stacks open for monitoring-client.
module "monitoring_sg" {
  source = "../../modules/security-group"

  name        = local.name
  description = "Monitoring hosts: no inbound; scrapes to monitoring-client ports, HTTPS to endpoints and S3"
  vpc_id      = data.aws_vpc.this.id
  tags        = module.tags.tags

  egress_rules = merge(
    {
      for target, port in local.scrape_ports : "scrape_${target}" => {
        description = "Scrape ${target} (${port}) inside the VPC"
        ip_protocol = "tcp"
        from_port   = port
        to_port     = port
        cidr_ipv4   = data.aws_vpc.this.cidr_block
      }
    },
    {
      https_vpc = {
        description = "HTTPS to interface endpoints inside the VPC"
        ip_protocol = "tcp"
        from_port   = 443
        to_port     = 443
        cidr_ipv4   = data.aws_vpc.this.cidr_block
      }
      https_s3 = {
        description    = "S3 through the gateway endpoint"
        ip_protocol    = "tcp"
        from_port      = 443
        to_port        = 443
        prefix_list_id = data.aws_prefix_list.s3.id
      }
    },
  )
}

module "monitoring" {
  source = "../../modules/ec2-instance"
  count  = var.instance_count

  name               = "${local.name}-${count.index}"
  instance_type      = var.instance_type
  ami_id             = var.ami_id
  subnet_id          = var.private_subnet_ids[count.index % length(var.private_subnet_ids)]
  security_group_ids = [module.monitoring_sg.id, var.monitoring_client_sg_id]
  root_volume_size   = 100
  tags               = module.tags.tags
  instance_tags      = { Role = "monitoring" }
}
