module "tags" {
  source = "../../modules/common-tags"

  tags      = var.tags
  component = "rds"
}

data "aws_partition" "current" {}

locals {
  # Seed guide "Shared RDS": {env}-shared-mysql.
  identifier  = "${var.environment}-shared-mysql"
  mysql_port  = 3306
  is_prod     = var.environment == "prod"
  log_exports = ["error", "slowquery"]
}

# Admits MySQL from the identity groups only, by SG reference (INFRA-005). No egress: RDS never
# initiates connections.
module "db_sg" {
  source = "../../modules/security-group"

  name        = "${local.identifier}-sg"
  description = "Shared MySQL: 3306 from k8s-client and ops-client only"
  vpc_id      = var.vpc_id
  tags        = module.tags.tags

  ingress_rules = {
    mysql_from_k8s_client = {
      description                  = "MySQL from RKE2 workloads (k8s-client)"
      ip_protocol                  = "tcp"
      from_port                    = local.mysql_port
      to_port                      = local.mysql_port
      referenced_security_group_id = var.k8s_client_sg_id
    }
    mysql_from_ops_client = {
      description                  = "MySQL from the bastion (ops-client), for schema and user management"
      ip_protocol                  = "tcp"
      from_port                    = local.mysql_port
      to_port                      = local.mysql_port
      referenced_security_group_id = var.ops_client_sg_id
    }
  }
}

resource "aws_db_subnet_group" "this" {
  name        = "${local.identifier}-subnet-group"
  description = "DB tier subnets of the shared MySQL"
  subnet_ids  = var.db_subnet_ids

  tags = merge(module.tags.tags, { Name = "${local.identifier}-subnet-group" })
}

resource "aws_db_parameter_group" "this" {
  name_prefix = "${local.identifier}-"
  family      = "mysql8.0"
  description = "Shared MySQL: utf8mb4, TLS required"

  parameter {
    name  = "character_set_server"
    value = "utf8mb4"
  }

  parameter {
    name  = "collation_server"
    value = "utf8mb4_unicode_ci"
  }

  parameter {
    name  = "character_set_client"
    value = "utf8mb4"
  }

  parameter {
    name  = "character_set_connection"
    value = "utf8mb4"
  }

  parameter {
    name  = "character_set_results"
    value = "utf8mb4"
  }

  parameter {
    name  = "require_secure_transport"
    value = "1"
  }

  parameter {
    name  = "max_connections"
    value = local.is_prod ? "200" : "100"
  }

  tags = merge(module.tags.tags, { Name = "${local.identifier}-params" })

  lifecycle {
    create_before_destroy = true
  }
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    sid     = "RdsMonitoringAssumeRole"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name               = "${local.identifier}-monitoring"
  description        = "Enhanced monitoring of ${local.identifier}"
  assume_role_policy = data.aws_iam_policy_document.monitoring_assume.json

  tags = merge(module.tags.tags, { Name = "${local.identifier}-monitoring" })
}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  #checkov:skip=CKV_AWS_157:Multi-AZ is per environment (inventory multi_az); prod sets it, dev/stg save the standby.
  #checkov:skip=CKV_AWS_293:Deletion protection is per environment (inventory deletion_protection); prod sets it.
  identifier = local.identifier

  engine                     = "mysql"
  engine_version             = "8.0"
  auto_minor_version_upgrade = true
  instance_class             = var.instance_class
  parameter_group_name       = aws_db_parameter_group.this.name

  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.allocated_storage * 5
  storage_type          = "gp3"
  storage_encrypted     = true
  kms_key_id            = var.rds_kms_key_arn

  # The master password is generated and kept by RDS in Secrets Manager, encrypted with the
  # secrets-manager key; it never passes through Terraform state.
  username                            = "admin"
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = var.secrets_kms_key_arn
  iam_database_authentication_enabled = true

  db_subnet_group_name   = aws_db_subnet_group.this.name
  vpc_security_group_ids = [module.db_sg.id]
  publicly_accessible    = false
  port                   = local.mysql_port
  multi_az               = var.multi_az

  backup_retention_period   = var.backup_retention_days
  backup_window             = "18:00-19:00"
  maintenance_window        = "sun:19:30-sun:20:30"
  copy_tags_to_snapshot     = true
  delete_automated_backups  = !var.deletion_protection
  deletion_protection       = var.deletion_protection
  skip_final_snapshot       = !var.deletion_protection
  final_snapshot_identifier = var.deletion_protection ? "${local.identifier}-final" : null

  enabled_cloudwatch_logs_exports       = local.log_exports
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.rds_kms_key_arn
  performance_insights_retention_period = 7
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.monitoring.arn

  apply_immediately = !local.is_prod

  tags = merge(module.tags.tags, { Name = local.identifier })
}
