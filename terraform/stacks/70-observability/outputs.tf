output "monitoring_instance_ids" {
  description = "Monitoring instance ids."
  value       = module.monitoring[*].instance_id
}

output "monitoring_security_group_id" {
  description = "The monitoring hosts' own SG (no inbound rules)."
  value       = module.monitoring_sg.id
}
