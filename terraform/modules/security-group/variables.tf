variable "name" {
  description = "Security group name ({env}-{service}-{resource})."
  type        = string
}

variable "description" {
  description = "What the group is for (shown in the console and immutable in AWS)."
  type        = string
}

variable "vpc_id" {
  description = "VPC the group belongs to."
  type        = string
}

variable "ingress_rules" {
  description = <<-EOT
    Ingress rules keyed by a stable name. Each rule sets exactly one source: cidr_ipv4,
    referenced_security_group_id, prefix_list_id or self = true.
  EOT
  type = map(object({
    description                  = string
    ip_protocol                  = string
    from_port                    = optional(number)
    to_port                      = optional(number)
    cidr_ipv4                    = optional(string)
    referenced_security_group_id = optional(string)
    prefix_list_id               = optional(string)
    self                         = optional(bool, false)
  }))
  default = {}

  validation {
    condition = alltrue([
      for rule in values(var.ingress_rules) :
      length(compact([
        rule.cidr_ipv4 == null ? "" : "cidr",
        rule.referenced_security_group_id == null ? "" : "sg",
        rule.prefix_list_id == null ? "" : "pl",
        rule.self ? "self" : "",
      ])) == 1
    ])
    error_message = "Every ingress rule needs exactly one of cidr_ipv4, referenced_security_group_id, prefix_list_id, self."
  }

  validation {
    condition     = alltrue([for rule in values(var.ingress_rules) : rule.cidr_ipv4 != "0.0.0.0/0"])
    error_message = "Ingress from 0.0.0.0/0 is not allowed through this module."
  }
}

variable "egress_rules" {
  description = "Egress rules keyed by a stable name; same shape as ingress_rules (destination instead of source)."
  type = map(object({
    description                  = string
    ip_protocol                  = string
    from_port                    = optional(number)
    to_port                      = optional(number)
    cidr_ipv4                    = optional(string)
    referenced_security_group_id = optional(string)
    prefix_list_id               = optional(string)
    self                         = optional(bool, false)
  }))
  default = {}

  validation {
    condition = alltrue([
      for rule in values(var.egress_rules) :
      length(compact([
        rule.cidr_ipv4 == null ? "" : "cidr",
        rule.referenced_security_group_id == null ? "" : "sg",
        rule.prefix_list_id == null ? "" : "pl",
        rule.self ? "self" : "",
      ])) == 1
    ])
    error_message = "Every egress rule needs exactly one of cidr_ipv4, referenced_security_group_id, prefix_list_id, self."
  }
}

variable "tags" {
  description = "Tags from the common-tags module."
  type        = map(string)
}
