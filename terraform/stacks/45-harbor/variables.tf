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
  description = "Harbor instance type."
  type        = string
  default     = "t3.large"
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

variable "monitoring_client_sg_id" {
  description = "The monitoring-client identity SG."
  type        = string
}

variable "s3_kms_key_arn" {
  description = "KMS key for the registry bucket."
  type        = string
}
