output "bastion_instance_id" {
  description = "Instance id (the SSM target)."
  value       = module.bastion.instance_id
}

output "bastion_security_group_id" {
  description = "The bastion's own SG (no inbound rules)."
  value       = module.bastion_sg.id
}

output "bastion_role_name" {
  description = "IAM role of the bastion instance profile."
  value       = module.bastion.iam_role_name
}
