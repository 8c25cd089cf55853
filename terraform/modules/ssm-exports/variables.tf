variable "parameters" {
  description = <<-EOT
    Parameters to export, keyed by their full name (e.g. /shared/network/vpc-id). type is String or
    StringList (lists are passed joined with commas).
  EOT
  type = map(object({
    value       = string
    description = string
    type        = optional(string, "String")
  }))

  validation {
    condition     = alltrue([for name in keys(var.parameters) : startswith(name, "/shared/")])
    error_message = "Exported parameter names must live under /shared/."
  }

  validation {
    condition     = alltrue([for parameter in values(var.parameters) : contains(["String", "StringList"], parameter.type)])
    error_message = "Exports are String or StringList; secrets belong in Secrets Manager, not in exports."
  }
}

variable "component" {
  description = "Component exporting the values (network, kms, rds), used in the Name tag."
  type        = string
}

variable "tags" {
  description = "Tags from the common-tags module."
  type        = map(string)
}
