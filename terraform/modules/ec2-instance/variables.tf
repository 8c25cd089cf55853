variable "name" {
  description = "Instance name ({env}-{service}-{resource}), also the prefix of its IAM role and profile."
  type        = string
}

variable "instance_type" {
  description = "EC2 instance type."
  type        = string
}

variable "ami_id" {
  description = "AMI id; empty means the newest golden AMI matching golden_ami_tags."
  type        = string
  default     = ""
}

variable "golden_ami_owners" {
  description = "Owners searched for the golden AMI."
  type        = list(string)
  default     = ["self"]
}

variable "golden_ami_tags" {
  description = "Tags identifying golden AMIs (packer/golden.pkr.hcl sets them); the newest match wins."
  type        = map(string)
  default     = { Role = "golden" }
}

variable "subnet_id" {
  description = "Subnet of the instance (private tier: the instance never gets a public IP)."
  type        = string
}

variable "security_group_ids" {
  description = "Security groups: the instance's own group plus identity groups (ops-client, k8s-client, ...)."
  type        = list(string)

  validation {
    condition     = length(var.security_group_ids) > 0 && length(var.security_group_ids) <= 5
    error_message = "Pass between 1 and 5 security groups."
  }
}

variable "root_volume_size" {
  description = "Root volume size in GiB (gp3)."
  type        = number
  default     = 30
}

variable "root_volume_kms_key_id" {
  description = "KMS key for the root volume; null uses the account's default EBS key (still encrypted)."
  type        = string
  default     = null
}

variable "metadata_hop_limit" {
  description = "IMDSv2 PUT response hop limit (2 lets containers on the node reach IMDS)."
  type        = number
  default     = 1
}

variable "create_iam_instance_profile" {
  description = "Create a role and instance profile with SSM core permissions; false uses iam_instance_profile_name."
  type        = bool
  default     = true
}

variable "iam_instance_profile_name" {
  description = "Existing instance profile when create_iam_instance_profile is false."
  type        = string
  default     = null
}

variable "additional_policies" {
  description = "Inline policies (JSON) for the created role, keyed by a stable name."
  type        = map(string)
  default     = {}
}

variable "user_data" {
  description = "User data (cloud-init); null for none."
  type        = string
  default     = null
}

variable "tags" {
  description = "Tags from the common-tags module."
  type        = map(string)
}

variable "instance_tags" {
  description = "Extra tags on the instance only (e.g. Role, kubernetes.io/cluster/<name>)."
  type        = map(string)
  default     = {}
}
