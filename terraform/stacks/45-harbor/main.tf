module "tags" {
  source = "../../modules/common-tags"

  tags      = var.tags
  component = "harbor"
}

data "aws_caller_identity" "current" {}

data "aws_vpc" "this" {
  id = var.vpc_id
}

data "aws_prefix_list" "s3" {
  name = "com.amazonaws.${var.aws_region}.s3"
}

locals {
  name = "${module.tags.name_prefix}-harbor"

  harbor_https_port    = 443
  harbor_metrics_port  = 9090
  node_exporter_port   = 9100
  registry_bucket_name = "${local.name}-registry-${data.aws_caller_identity.current.account_id}"
}

# Harbor admits its clients by identity (SG reference), never by address (INFRA-005).
module "harbor_sg" {
  source = "../../modules/security-group"

  name        = local.name
  description = "Harbor: 443 from k8s-client and ops-client, metrics from monitoring-client"
  vpc_id      = var.vpc_id
  tags        = module.tags.tags

  ingress_rules = {
    https_from_k8s_client = {
      description                  = "Registry HTTPS from RKE2 nodes (k8s-client)"
      ip_protocol                  = "tcp"
      from_port                    = local.harbor_https_port
      to_port                      = local.harbor_https_port
      referenced_security_group_id = var.k8s_client_sg_id
    }
    https_from_ops_client = {
      description                  = "Registry HTTPS from the bastion and operators (ops-client)"
      ip_protocol                  = "tcp"
      from_port                    = local.harbor_https_port
      to_port                      = local.harbor_https_port
      referenced_security_group_id = var.ops_client_sg_id
    }
    metrics_from_monitoring_client = {
      description                  = "Harbor exporter scrape from monitoring-client"
      ip_protocol                  = "tcp"
      from_port                    = local.harbor_metrics_port
      to_port                      = local.harbor_metrics_port
      referenced_security_group_id = var.monitoring_client_sg_id
    }
    node_exporter_from_monitoring_client = {
      description                  = "node_exporter scrape from monitoring-client"
      ip_protocol                  = "tcp"
      from_port                    = local.node_exporter_port
      to_port                      = local.node_exporter_port
      referenced_security_group_id = var.monitoring_client_sg_id
    }
  }

  egress_rules = {
    https_vpc = {
      description = "HTTPS to interface endpoints inside the VPC"
      ip_protocol = "tcp"
      from_port   = 443
      to_port     = 443
      cidr_ipv4   = data.aws_vpc.this.cidr_block
    }
    https_s3 = {
      description    = "Registry storage in S3 through the gateway endpoint"
      ip_protocol    = "tcp"
      from_port      = 443
      to_port        = 443
      prefix_list_id = data.aws_prefix_list.s3.id
    }
  }
}

data "aws_iam_policy_document" "registry_storage" {
  statement {
    sid       = "ListRegistryBucket"
    actions   = ["s3:ListBucket", "s3:GetBucketLocation", "s3:ListBucketMultipartUploads"]
    resources = [aws_s3_bucket.registry.arn]
  }

  statement {
    sid = "ReadWriteRegistryObjects"
    actions = [
      "s3:GetObject",
      "s3:PutObject",
      "s3:DeleteObject",
      "s3:AbortMultipartUpload",
      "s3:ListMultipartUploadParts",
    ]
    resources = ["${aws_s3_bucket.registry.arn}/*"]
  }

  statement {
    sid       = "UseRegistryKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey", "kms:DescribeKey"]
    resources = [var.s3_kms_key_arn]
  }
}

module "harbor" {
  source = "../../modules/ec2-instance"

  name               = local.name
  instance_type      = var.instance_type
  ami_id             = var.ami_id
  subnet_id          = var.private_subnet_ids[0]
  security_group_ids = [module.harbor_sg.id]
  root_volume_size   = 100
  tags               = module.tags.tags
  instance_tags      = { Role = "harbor" }

  additional_policies = {
    registry-storage = data.aws_iam_policy_document.registry_storage.json
  }
}
