module "tags" {
  source = "../../modules/common-tags"

  tags      = var.tags
  component = "security"
}

locals {
  # Identity groups (INFRA-005): they carry no rules of their own. A workload attaches the identity it
  # has, and the services it may reach admit that identity by SG reference, never by IP. Destroying a
  # consumer stack therefore never touches another stack's rules.
  identities = {
    "k8s-client"        = "Identity of RKE2 nodes: admitted by Harbor, the shared DB and cluster services"
    "ops-client"        = "Identity of the bastion and operators: admitted by Harbor, the shared DB and the Kubernetes API"
    "monitoring-client" = "Identity of observability nodes: admitted on the scrape ports of other stacks"
  }
}

module "identity" {
  source   = "../../modules/security-group"
  for_each = local.identities

  name        = "${module.tags.name_prefix}-${each.key}"
  description = each.value
  vpc_id      = var.vpc_id
  tags        = merge(module.tags.tags, { Identity = each.key })
}
