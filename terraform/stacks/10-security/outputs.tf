output "k8s_client_sg_id" {
  description = "Identity SG carried by RKE2 nodes."
  value       = module.identity["k8s-client"].id
}

output "ops_client_sg_id" {
  description = "Identity SG carried by the bastion and operators."
  value       = module.identity["ops-client"].id
}

output "monitoring_client_sg_id" {
  description = "Identity SG carried by observability nodes."
  value       = module.identity["monitoring-client"].id
}
