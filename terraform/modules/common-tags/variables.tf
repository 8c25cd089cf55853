variable "tags" {
  description = "Required tags: Environment, Service, Team, Owner, CostCenter, ManagedBy (all non-empty)."
  type        = map(string)

  validation {
    condition = alltrue([
      for key in ["Environment", "Service", "Team", "Owner", "CostCenter", "ManagedBy"] :
      trimspace(lookup(var.tags, key, "")) != ""
    ])
    error_message = "tags must set Environment, Service, Team, Owner, CostCenter and ManagedBy to non-empty values."
  }
}

variable "component" {
  description = "Component (stack or module) the tagged resources belong to, e.g. network or shared-rds."
  type        = string
  default     = ""
}

variable "extra_tags" {
  description = "Additional tags; they cannot override the required ones."
  type        = map(string)
  default     = {}
}
