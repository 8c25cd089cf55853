output "cluster_name" {
  description = "Cluster name."
  value       = var.cluster_name
}

output "cluster_security_group_id" {
  description = "The one SG tagged kubernetes.io/cluster/<name>=owned."
  value       = module.cluster_sg.id
}

output "server_instance_ids" {
  description = "Server instance ids (SSM targets)."
  value       = module.server[*].instance_id
}

output "agent_instance_ids" {
  description = "Agent instance ids."
  value       = module.agent[*].instance_id
}

output "api_endpoint" {
  description = "Registration/API address (internal NLB or first server)."
  value       = local.ha ? aws_lb.api[0].dns_name : module.server[0].private_ip
}

output "server_private_ips" {
  description = "Private addresses of the servers (tls-san entries)."
  value       = module.server[*].private_ip
}

output "node_role_name" {
  description = "IAM role of every node."
  value       = aws_iam_role.node.name
}
