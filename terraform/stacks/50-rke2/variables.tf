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

variable "cluster_name" {
  description = "Cluster name (kubernetes.io/cluster/<name> tag)."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,38}[a-z0-9]$", var.cluster_name))
    error_message = "cluster_name must be 3-40 characters of lower-case letters, digits and dashes."
  }
}

variable "server_count" {
  description = "RKE2 servers (>= 3 in prod)."
  type        = number
  default     = 1

  validation {
    condition     = var.server_count >= 1 && var.server_count % 2 == 1 && var.server_count <= 7
    error_message = "server_count must be odd (etcd quorum) and between 1 and 7."
  }
}

variable "agent_count" {
  description = "RKE2 agents."
  type        = number
  default     = 1

  validation {
    condition     = var.agent_count >= 0 && var.agent_count <= 100 && floor(var.agent_count) == var.agent_count
    error_message = "agent_count must be a whole number between 0 and 100."
  }
}

variable "server_instance_type" {
  description = "Server instance type."
  type        = string
  default     = "t3.large"
}

variable "agent_instance_type" {
  description = "Agent instance type."
  type        = string
  default     = "t3.large"
}

variable "ami_id" {
  description = "AMI id; empty means the newest golden AMI."
  type        = string
  default     = ""
}

variable "artifact_bucket" {
  description = "Bucket holding the RKE2 airgap artifacts (nodes may read its rke2/ prefix)."
  type        = string
  default     = ""
}

variable "vpc_id" {
  description = "VPC id."
  type        = string
}

variable "vpc_cidr" {
  description = "VPC CIDR block."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) > 0
    error_message = "private_subnet_ids must not be empty."
  }
}

variable "k8s_client_sg_id" {
  description = "The k8s-client identity SG."
  type        = string
}

variable "monitoring_client_sg_id" {
  description = "The monitoring-client identity SG."
  type        = string
}

variable "ops_client_sg_id" {
  description = "The ops-client identity SG (admitted on the Kubernetes API)."
  type        = string
}
