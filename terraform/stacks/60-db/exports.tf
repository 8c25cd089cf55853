# /shared/rds/{env}/* for application stacks (seed guide, "Shared RDS Outputs").
module "exports" {
  source = "../../modules/ssm-exports"

  component = "rds"
  tags      = module.tags.tags

  parameters = {
    "/shared/rds/${var.environment}/identifier" = {
      value       = aws_db_instance.this.identifier
      description = "Shared RDS instance identifier"
    }
    "/shared/rds/${var.environment}/endpoint" = {
      # address:port, as the seed guide exports it (aws_db_instance.endpoint); readers split off the port.
      value       = aws_db_instance.this.endpoint
      description = "Shared RDS instance endpoint"
    }
    "/shared/rds/${var.environment}/security-group-id" = {
      value       = module.db_sg.id
      description = "Shared RDS security group ID"
    }
    "/shared/rds/${var.environment}/master-secret-arn" = {
      value       = aws_db_instance.this.master_user_secret[0].secret_arn
      description = "Shared RDS master credentials secret ARN"
    }
  }
}
