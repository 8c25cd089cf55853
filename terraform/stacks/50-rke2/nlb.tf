# Internal NLB for registration (9345) and the API (6443) once there is more than one server.
module "nlb_sg" {
  source = "../../modules/security-group"
  count  = local.ha ? 1 : 0

  name        = "${local.name}-api-nlb"
  description = "Internal NLB of ${var.cluster_name}: supervisor and API from nodes, API from ops-client"
  vpc_id      = var.vpc_id
  tags        = module.tags.tags

  ingress_rules = {
    supervisor_from_nodes = {
      description                  = "RKE2 supervisor from nodes"
      ip_protocol                  = "tcp"
      from_port                    = local.supervisor_port
      to_port                      = local.supervisor_port
      referenced_security_group_id = module.cluster_sg.id
    }
    api_from_nodes = {
      description                  = "Kubernetes API from nodes"
      ip_protocol                  = "tcp"
      from_port                    = local.api_port
      to_port                      = local.api_port
      referenced_security_group_id = module.cluster_sg.id
    }
    api_from_ops_client = {
      description                  = "Kubernetes API from ops-client"
      ip_protocol                  = "tcp"
      from_port                    = local.api_port
      to_port                      = local.api_port
      referenced_security_group_id = var.ops_client_sg_id
    }
  }

  egress_rules = {
    to_servers = {
      description                  = "Supervisor and API on the servers"
      ip_protocol                  = "tcp"
      from_port                    = local.api_port
      to_port                      = local.supervisor_port
      referenced_security_group_id = module.cluster_sg.id
    }
  }
}

resource "aws_lb" "api" {
  #checkov:skip=CKV_AWS_150:Deletion protection is on in prod (environment == "prod"); dev/stg are torn down routinely.
  #checkov:skip=CKV_AWS_91:Access logs of an internal TCP load balancer carry no request data; VPC flow logs cover it.
  count = local.ha ? 1 : 0

  name                             = substr("${var.environment}-${var.cluster_name}-api", 0, 32)
  internal                         = true
  load_balancer_type               = "network"
  subnets                          = var.private_subnet_ids
  security_groups                  = [module.nlb_sg[0].id]
  enable_cross_zone_load_balancing = true
  enable_deletion_protection       = var.environment == "prod"

  tags = merge(module.tags.tags, { Name = "${local.name}-api" })
}

resource "aws_lb_target_group" "api" {
  for_each = local.ha ? local.ports : {}

  name        = substr("${var.environment}-${var.cluster_name}-${each.key}", 0, 32)
  port        = each.value
  protocol    = "TCP"
  target_type = "instance"
  vpc_id      = var.vpc_id

  health_check {
    protocol            = "TCP"
    port                = "traffic-port"
    healthy_threshold   = 3
    unhealthy_threshold = 3
    interval            = 10
  }

  tags = merge(module.tags.tags, { Name = "${local.name}-${each.key}" })
}

resource "aws_lb_listener" "api" {
  for_each = local.ha ? local.ports : {}

  load_balancer_arn = aws_lb.api[0].arn
  port              = each.value
  protocol          = "TCP"

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.api[each.key].arn
  }

  tags = merge(module.tags.tags, { Name = "${local.name}-${each.key}" })
}

resource "aws_lb_target_group_attachment" "api" {
  for_each = local.ha ? {
    for pair in setproduct(keys(local.ports), range(var.server_count)) :
    "${pair[0]}-${pair[1]}" => { port_name = pair[0], server = pair[1] }
  } : {}

  target_group_arn = aws_lb_target_group.api[each.value.port_name].arn
  target_id        = module.server[each.value.server].instance_id
  port             = local.ports[each.value.port_name]
}
