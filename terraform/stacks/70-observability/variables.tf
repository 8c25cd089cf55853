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

variable "instance_type" {
  description = "Monitoring instance type."
  type        = string
  default     = "t3.medium"
}

variable "instance_count" {
  description = "Monitoring hosts."
  type        = number
  default     = 1

  validation {
    condition     = var.instance_count >= 1 && var.instance_count <= 3 && floor(var.instance_count) == var.instance_count
    error_message = "instance_count must be 1, 2 or 3."
  }
}

variable "ami_id" {
  description = "AMI id; empty means the newest golden AMI."
  type        = string
  default     = ""
}

variable "private_subnet_ids" {
  description = "Private subnets."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) > 0
    error_message = "private_subnet_ids must not be empty."
  }
}

variable "monitoring_client_sg_id" {
  description = "The monitoring-client identity SG."
  type        = string
}
