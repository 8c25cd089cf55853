module "tags" {
  source = "../../modules/common-tags"

  tags      = var.tags
  component = "network"
}

locals {
  name = "${module.tags.name_prefix}-network"

  # Layout, proportional to the VPC size (for a /16): public /24s from .0, private /20s from .16,
  # db /24s from .64. stack_vars.py mirrors this to check inventories before Terraform runs.
  public_cidrs  = [for index, az in var.azs : cidrsubnet(var.vpc_cidr, 8, index)]
  private_cidrs = [for index, az in var.azs : cidrsubnet(var.vpc_cidr, 4, index + 1)]
  db_cidrs      = [for index, az in var.azs : cidrsubnet(var.vpc_cidr, 8, 64 + index)]

  nat_gateway_count = { none = 0, single = 1, per_az = length(var.azs) }[var.nat_mode]

  base_interface_endpoints = ["ssm", "ssmmessages", "ec2messages"]
  interface_endpoints      = toset(distinct(concat(local.base_interface_endpoints, var.interface_endpoints)))
}

resource "aws_vpc" "this" {
  cidr_block           = var.vpc_cidr
  enable_dns_support   = true
  enable_dns_hostnames = true

  tags = merge(module.tags.tags, { Name = "${local.name}-vpc" })
}

# Lock down the default group: nothing may use it by accident.
resource "aws_default_security_group" "this" {
  vpc_id = aws_vpc.this.id

  tags = merge(module.tags.tags, { Name = "${local.name}-default-deny" })
}

resource "aws_cloudwatch_log_group" "flow_logs" {
  name              = "/aws/vpc/${local.name}/flow-logs"
  retention_in_days = var.flow_log_retention_days
  kms_key_id        = var.flow_log_kms_key_arn

  tags = merge(module.tags.tags, { Name = "${local.name}-flow-logs" })
}

data "aws_iam_policy_document" "flow_logs_assume" {
  statement {
    sid     = "VpcFlowLogsAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["vpc-flow-logs.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "flow_logs_write" {
  statement {
    sid       = "WriteFlowLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"]
    resources = ["${aws_cloudwatch_log_group.flow_logs.arn}:*"]
  }
}

resource "aws_iam_role" "flow_logs" {
  name               = "${local.name}-flow-logs"
  description        = "VPC flow logs of ${local.name} to CloudWatch Logs"
  assume_role_policy = data.aws_iam_policy_document.flow_logs_assume.json

  tags = merge(module.tags.tags, { Name = "${local.name}-flow-logs" })
}

resource "aws_iam_role_policy" "flow_logs" {
  name   = "write-flow-logs"
  role   = aws_iam_role.flow_logs.id
  policy = data.aws_iam_policy_document.flow_logs_write.json
}

resource "aws_flow_log" "this" {
  vpc_id                   = aws_vpc.this.id
  traffic_type             = "ALL"
  log_destination_type     = "cloud-watch-logs"
  log_destination          = aws_cloudwatch_log_group.flow_logs.arn
  iam_role_arn             = aws_iam_role.flow_logs.arn
  max_aggregation_interval = 60

  tags = merge(module.tags.tags, { Name = "${local.name}-flow-log" })
}
