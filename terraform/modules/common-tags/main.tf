locals {
  required_keys = ["Environment", "Service", "Team", "Owner", "CostCenter", "ManagedBy"]

  required_tags = { for key in local.required_keys : key => var.tags[key] }

  # Extra and component tags first, so the required ones always win.
  tags = merge(
    var.extra_tags,
    var.component == "" ? {} : { Component = var.component },
    var.tags,
    local.required_tags,
  )

  # {env}-{service} prefix for resource names ({env}-{service}-{resource}).
  name_prefix = lower("${var.tags["Environment"]}-${var.tags["Service"]}")
}
