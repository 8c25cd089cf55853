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

variable "vpc_cidr" {
  description = "VPC CIDR block."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 20
    error_message = "vpc_cidr must be an IPv4 CIDR between /16 and /20."
  }
}

variable "azs" {
  description = "Availability zones (at least two)."
  type        = list(string)

  validation {
    condition     = length(var.azs) >= 2 && length(var.azs) <= 3 && length(distinct(var.azs)) == length(var.azs)
    error_message = "azs must list two or three distinct availability zones."
  }
}

variable "nat_mode" {
  description = "NAT gateways for the private tier: none, single or per_az."
  type        = string
  default     = "single"

  validation {
    condition     = contains(["none", "single", "per_az"], var.nat_mode)
    error_message = "nat_mode must be one of none, single, per_az."
  }
}

variable "interface_endpoints" {
  description = "Interface endpoints beyond ssm, ssmmessages and ec2messages."
  type        = list(string)
  default     = []

  validation {
    condition = alltrue([
      for service in var.interface_endpoints :
      contains(["ec2", "elasticloadbalancing", "sts", "kms", "secretsmanager", "logs", "autoscaling", "ecr.api", "ecr.dkr", "monitoring"], service)
    ])
    error_message = "interface_endpoints may list ec2, elasticloadbalancing, sts, kms, secretsmanager, logs, autoscaling, ecr.api, ecr.dkr, monitoring."
  }
}

variable "flow_log_kms_key_arn" {
  description = "KMS key (cloudwatch-logs purpose) encrypting the VPC flow log group."
  type        = string
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group in days."
  type        = number
  default     = 365
}
