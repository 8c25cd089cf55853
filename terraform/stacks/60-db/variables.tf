variable "environment" {
  description = "Environment name (dev, stg, prod, sandbox)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{1,15}$", var.environment))
    error_message = "environment must be a short lower-case name such as dev, stg or prod."
  }
}

variable "aws_region" {
  description = "AWS region of the environment."
  type        = string
}

variable "tags" {
  description = "Required tags (Environment, Service, Team, Owner, CostCenter, ManagedBy) merged into every resource."
  type        = map(string)
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
  default     = "db.t3.medium"
}

variable "allocated_storage" {
  description = "Storage in GiB (gp3)."
  type        = number
  default     = 20

  validation {
    condition     = var.allocated_storage >= 20 && var.allocated_storage <= 16384
    error_message = "allocated_storage must be between 20 and 16384 GiB."
  }
}

variable "multi_az" {
  description = "Multi-AZ (true in prod)."
  type        = bool
  default     = false
}

variable "deletion_protection" {
  description = "Deletion protection and final snapshot (true in prod)."
  type        = bool
  default     = false
}

variable "backup_retention_days" {
  description = "Automated backup retention."
  type        = number
  default     = 7

  validation {
    condition     = var.backup_retention_days >= 1 && var.backup_retention_days <= 35
    error_message = "backup_retention_days must be between 1 and 35 (automated backups are never off)."
  }
}

variable "db_subnet_ids" {
  description = "DB tier subnets."
  type        = list(string)

  validation {
    condition     = length(var.db_subnet_ids) >= 2
    error_message = "A DB subnet group needs subnets in at least two availability zones."
  }
}

variable "vpc_id" {
  description = "VPC id."
  type        = string
}

variable "k8s_client_sg_id" {
  description = "The k8s-client identity SG."
  type        = string
}

variable "ops_client_sg_id" {
  description = "The ops-client identity SG."
  type        = string
}

variable "rds_kms_key_arn" {
  description = "KMS key for storage encryption."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "KMS key for the master secret."
  type        = string
}
