# The cluster SG: every node carries it, and it is the ONE group tagged kubernetes.io/cluster/<name>
# = owned (the cloud provider attaches load balancer rules to exactly one tagged group per node).
module "cluster_sg" {
  source = "../../modules/security-group"

  name        = "${local.name}-cluster"
  description = "RKE2 nodes of ${var.cluster_name}: cluster traffic between nodes, API from ops-client"
  vpc_id      = var.vpc_id
  tags        = merge(module.tags.tags, local.cluster_tag)

  ingress_rules = {
    supervisor_from_nodes = {
      description = "RKE2 supervisor (node registration) between nodes"
      ip_protocol = "tcp"
      from_port   = local.supervisor_port
      to_port     = local.supervisor_port
      self        = true
    }
    api_from_nodes = {
      description = "Kubernetes API between nodes"
      ip_protocol = "tcp"
      from_port   = local.api_port
      to_port     = local.api_port
      self        = true
    }
    api_from_ops_client = {
      description                  = "Kubernetes API from the bastion and operators (ops-client)"
      ip_protocol                  = "tcp"
      from_port                    = local.api_port
      to_port                      = local.api_port
      referenced_security_group_id = var.ops_client_sg_id
    }
    kubelet_from_nodes = {
      description = "kubelet between nodes"
      ip_protocol = "tcp"
      from_port   = local.kubelet_port
      to_port     = local.kubelet_port
      self        = true
    }
    kubelet_from_monitoring_client = {
      description                  = "kubelet/cAdvisor scrape from monitoring-client"
      ip_protocol                  = "tcp"
      from_port                    = local.kubelet_port
      to_port                      = local.kubelet_port
      referenced_security_group_id = var.monitoring_client_sg_id
    }
    node_exporter_from_monitoring_client = {
      description                  = "node_exporter scrape from monitoring-client"
      ip_protocol                  = "tcp"
      from_port                    = local.node_exporter_port
      to_port                      = local.node_exporter_port
      referenced_security_group_id = var.monitoring_client_sg_id
    }
    cni_vxlan_from_nodes = {
      description = "CNI VXLAN overlay (canal/cilium) between nodes"
      ip_protocol = "udp"
      from_port   = 8472
      to_port     = 8472
      self        = true
    }
    cni_health_from_nodes = {
      description = "CNI health checks (cilium 4240) between nodes"
      ip_protocol = "tcp"
      from_port   = 4240
      to_port     = 4240
      self        = true
    }
    cni_canal_health_from_nodes = {
      description = "Canal/calico felix health (9099) between nodes"
      ip_protocol = "tcp"
      from_port   = 9099
      to_port     = 9099
      self        = true
    }
    nodeports_from_nodes = {
      description = "NodePort services between nodes"
      ip_protocol = "tcp"
      from_port   = 30000
      to_port     = 32767
      self        = true
    }
  }

  egress_rules = {
    all_to_nodes = {
      description = "Any traffic between nodes (pods, services)"
      ip_protocol = "-1"
      self        = true
    }
    https_out = {
      description = "HTTPS to VPC endpoints, Harbor and, through NAT, upstream registries"
      ip_protocol = "tcp"
      from_port   = 443
      to_port     = 443
      cidr_ipv4   = "0.0.0.0/0"
    }
    https_s3 = {
      description    = "RKE2 artifacts in S3 through the gateway endpoint"
      ip_protocol    = "tcp"
      from_port      = 443
      to_port        = 443
      prefix_list_id = data.aws_prefix_list.s3.id
    }
    mysql_vpc = {
      description = "Workloads to the shared MySQL in the db tier"
      ip_protocol = "tcp"
      from_port   = 3306
      to_port     = 3306
      cidr_ipv4   = var.vpc_cidr
    }
    registration_vpc = {
      description = "Supervisor and API through the internal NLB"
      ip_protocol = "tcp"
      from_port   = local.api_port
      to_port     = local.supervisor_port
      cidr_ipv4   = var.vpc_cidr
    }
  }
}

# etcd stays between servers: agents never reach 2379-2380.
module "server_sg" {
  source = "../../modules/security-group"

  name        = "${local.name}-servers"
  description = "RKE2 servers of ${var.cluster_name}: etcd between servers only"
  vpc_id      = var.vpc_id
  tags        = module.tags.tags

  ingress_rules = {
    etcd_from_servers = {
      description = "etcd client and peer traffic between servers"
      ip_protocol = "tcp"
      from_port   = 2379
      to_port     = 2380
      self        = true
    }
  }

  egress_rules = {
    etcd_to_servers = {
      description = "etcd client and peer traffic between servers"
      ip_protocol = "tcp"
      from_port   = 2379
      to_port     = 2380
      self        = true
    }
  }
}

# Rules admitting the internal NLB live outside the module's literal map: they exist only in HA mode.
resource "aws_vpc_security_group_ingress_rule" "cluster_from_nlb" {
  for_each = local.ha ? local.ports : {}

  security_group_id            = module.cluster_sg.id
  description                  = "RKE2 ${each.key} through the internal NLB"
  ip_protocol                  = "tcp"
  from_port                    = each.value
  to_port                      = each.value
  referenced_security_group_id = module.nlb_sg[0].id

  tags = merge(module.tags.tags, { Name = "${local.name}-cluster-in-${each.key}-nlb" })
}
