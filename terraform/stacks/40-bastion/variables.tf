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
  description = "Bastion instance type."
  type        = string
  default     = "t3.micro"
}

variable "ami_id" {
  description = "AMI id; empty means the newest golden AMI."
  type        = string
  default     = ""
}

variable "private_subnet_ids" {
  description = "Private subnets the bastion may use."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) > 0
    error_message = "private_subnet_ids must not be empty."
  }
}

variable "ops_client_sg_id" {
  description = "The ops-client identity SG."
  type        = string
}
