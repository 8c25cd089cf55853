output "instance_id" {
  description = "Instance id (the SSM target)."
  value       = aws_instance.this.id
}

output "private_ip" {
  description = "Private IPv4 address."
  value       = aws_instance.this.private_ip
}

output "ami_id" {
  description = "AMI the instance was launched from."
  value       = local.ami_id
}

output "iam_role_name" {
  description = "Name of the created role (null when an existing profile was passed)."
  value       = var.create_iam_instance_profile ? aws_iam_role.this[0].name : null
}

output "iam_role_arn" {
  description = "ARN of the created role (null when an existing profile was passed)."
  value       = var.create_iam_instance_profile ? aws_iam_role.this[0].arn : null
}

output "instance_profile_name" {
  description = "Instance profile attached to the instance."
  value       = local.instance_profile
}
