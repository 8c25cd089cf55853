module "server" {
  source = "../../modules/ec2-instance"
  count  = var.server_count

  name                        = "${local.name}-server-${count.index}"
  instance_type               = var.server_instance_type
  ami_id                      = var.ami_id
  subnet_id                   = var.private_subnet_ids[count.index % length(var.private_subnet_ids)]
  security_group_ids          = [module.cluster_sg.id, module.server_sg.id, var.k8s_client_sg_id, var.monitoring_client_sg_id]
  root_volume_size            = 100
  metadata_hop_limit          = 2
  create_iam_instance_profile = false
  iam_instance_profile_name   = aws_iam_instance_profile.node.name
  tags                        = module.tags.tags

  instance_tags = merge(local.cluster_tag, {
    Role             = "rke2-server"
    "rke2/cluster"   = var.cluster_name
    "rke2/role"      = "server"
    "rke2/bootstrap" = count.index == 0 ? "true" : "false"
  })
}

module "agent" {
  source = "../../modules/ec2-instance"
  count  = var.agent_count

  name                        = "${local.name}-agent-${count.index}"
  instance_type               = var.agent_instance_type
  ami_id                      = var.ami_id
  subnet_id                   = var.private_subnet_ids[count.index % length(var.private_subnet_ids)]
  security_group_ids          = [module.cluster_sg.id, var.k8s_client_sg_id, var.monitoring_client_sg_id]
  root_volume_size            = 100
  metadata_hop_limit          = 2
  create_iam_instance_profile = false
  iam_instance_profile_name   = aws_iam_instance_profile.node.name
  tags                        = module.tags.tags

  instance_tags = merge(local.cluster_tag, {
    Role           = "rke2-agent"
    "rke2/cluster" = var.cluster_name
    "rke2/role"    = "agent"
  })
}
