output "db_identifier" {
  description = "RDS instance identifier."
  value       = aws_db_instance.this.identifier
}

output "db_endpoint" {
  description = "Address of the shared MySQL."
  value       = aws_db_instance.this.address
}

output "db_port" {
  description = "Port of the shared MySQL."
  value       = aws_db_instance.this.port
}

output "db_security_group_id" {
  description = "The DB's SG."
  value       = module.db_sg.id
}

output "master_secret_arn" {
  description = "Secrets Manager ARN of the master credentials."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "db_arn" {
  description = "RDS instance ARN."
  value       = aws_db_instance.this.arn
}
