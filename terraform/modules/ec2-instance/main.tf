data "aws_partition" "current" {}

# The newest golden AMI (Amazon Linux 2023, SSM agent, encrypted root, IMDSv2) unless an id is pinned.
data "aws_ami" "golden" {
  count = var.ami_id == "" ? 1 : 0

  most_recent = true
  owners      = var.golden_ami_owners

  dynamic "filter" {
    for_each = var.golden_ami_tags
    content {
      name   = "tag:${filter.key}"
      values = [filter.value]
    }
  }

  filter {
    name   = "state"
    values = ["available"]
  }
}

locals {
  ami_id               = var.ami_id != "" ? var.ami_id : data.aws_ami.golden[0].id
  instance_profile     = var.create_iam_instance_profile ? aws_iam_instance_profile.this[0].name : var.iam_instance_profile_name
  ssm_core_policy_arn  = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
  role_name_max_length = 64
}

data "aws_iam_policy_document" "assume_ec2" {
  statement {
    sid     = "Ec2AssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  count = var.create_iam_instance_profile ? 1 : 0

  name               = substr("${var.name}-role", 0, local.role_name_max_length)
  description        = "Instance role of ${var.name}: SSM managed instance core"
  assume_role_policy = data.aws_iam_policy_document.assume_ec2.json

  tags = merge(var.tags, { Name = "${var.name}-role" })
}

resource "aws_iam_role_policy_attachment" "ssm_core" {
  count = var.create_iam_instance_profile ? 1 : 0

  role       = aws_iam_role.this[0].name
  policy_arn = local.ssm_core_policy_arn
}

resource "aws_iam_role_policy" "additional" {
  for_each = var.create_iam_instance_profile ? var.additional_policies : {}

  name   = each.key
  role   = aws_iam_role.this[0].id
  policy = each.value
}

resource "aws_iam_instance_profile" "this" {
  count = var.create_iam_instance_profile ? 1 : 0

  name = substr("${var.name}-profile", 0, local.role_name_max_length)
  role = aws_iam_role.this[0].name

  tags = merge(var.tags, { Name = "${var.name}-profile" })
}

resource "aws_instance" "this" {
  ami                         = local.ami_id
  instance_type               = var.instance_type
  subnet_id                   = var.subnet_id
  vpc_security_group_ids      = var.security_group_ids
  iam_instance_profile        = local.instance_profile
  associate_public_ip_address = false
  ebs_optimized               = true
  monitoring                  = true
  user_data                   = var.user_data

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required"
    http_put_response_hop_limit = var.metadata_hop_limit
    instance_metadata_tags      = "enabled"
  }

  root_block_device {
    volume_type           = "gp3"
    volume_size           = var.root_volume_size
    encrypted             = true
    kms_key_id            = var.root_volume_kms_key_id
    delete_on_termination = true
    tags                  = merge(var.tags, { Name = "${var.name}-root" })
  }

  tags = merge(var.tags, var.instance_tags, { Name = var.name })

  lifecycle {
    # A newer golden AMI must not replace running nodes behind Terraform's back: nodes are rolled
    # deliberately (taint/replace) after the AMI is promoted.
    ignore_changes = [ami, user_data]

    precondition {
      condition     = var.create_iam_instance_profile || var.iam_instance_profile_name != null
      error_message = "Either create_iam_instance_profile or iam_instance_profile_name is required: every node is SSM managed."
    }
  }
}
