module "tags" {
  source = "../../modules/common-tags"

  tags      = var.tags
  component = "kms"
}

data "aws_caller_identity" "current" {}

data "aws_partition" "current" {}

locals {
  account_id = data.aws_caller_identity.current.account_id
  partition  = data.aws_partition.current.partition
  root_arn   = "arn:${local.partition}:iam::${local.account_id}:root"

  # purpose => the service that uses the key on a caller's behalf (kms:ViaService), and the service
  # principals that call KMS as themselves.
  purposes = {
    "cloudwatch-logs" = {
      description        = "CloudWatch Logs log groups (VPC flow logs, application logs)"
      via_service        = "logs"
      service_principals = ["logs.${var.aws_region}.amazonaws.com"]
      # CloudWatch Logs names the log group in the encryption context; only this account's groups qualify.
      service_condition = {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = ["arn:${local.partition}:logs:${var.aws_region}:${local.account_id}:*"]
      }
    }
    "secrets-manager" = {
      description        = "Secrets Manager secrets (RDS master and service credentials)"
      via_service        = "secretsmanager"
      service_principals = []
      service_condition  = null
    }
    "rds" = {
      description        = "RDS storage, snapshots and Performance Insights"
      via_service        = "rds"
      service_principals = []
      service_condition  = null
    }
    "s3" = {
      description        = "S3 buckets (Harbor registry storage, artifacts)"
      via_service        = "s3"
      service_principals = []
      service_condition  = null
    }
    "sqs" = {
      description        = "SQS queues"
      via_service        = "sqs"
      service_principals = ["sns.amazonaws.com", "events.amazonaws.com"]
      service_condition = {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [local.account_id]
      }
    }
    "ssm" = {
      description        = "SSM Parameter Store SecureStrings (RKE2 token) and Session Manager"
      via_service        = "ssm"
      service_principals = []
      service_condition  = null
    }
    "elasticache" = {
      description        = "ElastiCache at-rest encryption"
      via_service        = "elasticache"
      service_principals = []
      service_condition  = null
    }
  }
}

data "aws_iam_policy_document" "key" {
  #checkov:skip=CKV_AWS_111:A key policy's Resource "*" is the key itself; use is limited by principal and kms:ViaService.
  #checkov:skip=CKV_AWS_356:A key policy's Resource "*" is the key itself, not every resource.
  #checkov:skip=CKV_AWS_109:Key administration stays with this account's root (IAM-delegated), the AWS-recommended default.
  for_each = local.purposes

  # Key administration stays with the account's IAM policies (no principal outside this account).
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }
  }

  # Principals of this account may use the key only through the service it exists for.
  statement {
    sid = "UseThrough${replace(title(replace(each.key, "-", " ")), " ", "")}"
    actions = [
      "kms:Encrypt",
      "kms:Decrypt",
      "kms:ReEncrypt*",
      "kms:GenerateDataKey*",
      "kms:CreateGrant",
      "kms:DescribeKey",
    ]
    resources = ["*"]

    principals {
      type        = "AWS"
      identifiers = [local.root_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["${each.value.via_service}.${var.aws_region}.amazonaws.com"]
    }

    condition {
      test     = "StringEquals"
      variable = "kms:CallerAccount"
      values   = [local.account_id]
    }
  }

  dynamic "statement" {
    for_each = length(each.value.service_principals) > 0 ? [each.value] : []
    content {
      sid = "ServicePrincipals"
      actions = [
        "kms:Encrypt",
        "kms:Decrypt",
        "kms:ReEncrypt*",
        "kms:GenerateDataKey*",
        "kms:DescribeKey",
      ]
      resources = ["*"]

      principals {
        type        = "Service"
        identifiers = statement.value.service_principals
      }

      condition {
        test     = statement.value.service_condition.test
        variable = statement.value.service_condition.variable
        values   = statement.value.service_condition.values
      }
    }
  }
}

resource "aws_kms_key" "this" {
  for_each = local.purposes

  description             = "${module.tags.name_prefix} ${each.key}: ${each.value.description}"
  key_usage               = "ENCRYPT_DECRYPT"
  enable_key_rotation     = true
  rotation_period_in_days = 365
  deletion_window_in_days = var.deletion_window_in_days
  policy                  = data.aws_iam_policy_document.key[each.key].json

  tags = merge(module.tags.tags, { Name = "${module.tags.name_prefix}-${each.key}-key", Purpose = each.key })
}

resource "aws_kms_alias" "this" {
  for_each = local.purposes

  name          = "alias/${module.tags.name_prefix}-${each.key}"
  target_key_id = aws_kms_key.this[each.key].key_id
}

# /shared/kms/<purpose>-key-arn (seed guide, "KMS SSM Parameters"). Written out rather than generated,
# so readers (and the contract test) can find every exported name.
module "exports" {
  source = "../../modules/ssm-exports"

  component = "kms"
  tags      = module.tags.tags

  parameters = {
    "/shared/kms/cloudwatch-logs-key-arn" = {
      value       = aws_kms_key.this["cloudwatch-logs"].arn
      description = "CloudWatch Logs KMS key ARN for cross-stack references"
    }
    "/shared/kms/secrets-manager-key-arn" = {
      value       = aws_kms_key.this["secrets-manager"].arn
      description = "Secrets Manager KMS key ARN for cross-stack references"
    }
    "/shared/kms/rds-key-arn" = {
      value       = aws_kms_key.this["rds"].arn
      description = "RDS KMS key ARN for cross-stack references"
    }
    "/shared/kms/s3-key-arn" = {
      value       = aws_kms_key.this["s3"].arn
      description = "S3 KMS key ARN for cross-stack references"
    }
    "/shared/kms/sqs-key-arn" = {
      value       = aws_kms_key.this["sqs"].arn
      description = "SQS KMS key ARN for cross-stack references"
    }
    "/shared/kms/ssm-key-arn" = {
      value       = aws_kms_key.this["ssm"].arn
      description = "SSM Parameter Store KMS key ARN for cross-stack references"
    }
    "/shared/kms/elasticache-key-arn" = {
      value       = aws_kms_key.this["elasticache"].arn
      description = "ElastiCache KMS key ARN for cross-stack references"
    }
  }
}
