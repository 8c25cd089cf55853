output "harbor_instance_id" {
  description = "Harbor instance id."
  value       = module.harbor.instance_id
}

output "harbor_security_group_id" {
  description = "Harbor's own SG."
  value       = module.harbor_sg.id
}

output "harbor_bucket_name" {
  description = "Registry storage bucket."
  value       = aws_s3_bucket.registry.bucket
}

output "harbor_private_ip" {
  description = "Private address of the Harbor host."
  value       = module.harbor.private_ip
}
