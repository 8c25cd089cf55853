output "kms_key_arns" {
  description = "Key ARN per purpose (cloudwatch-logs, secrets-manager, rds, s3, sqs, ssm, elasticache)."
  value       = { for purpose, key in aws_kms_key.this : purpose => key.arn }
}

output "kms_key_ids" {
  description = "Key id per purpose."
  value       = { for purpose, key in aws_kms_key.this : purpose => key.key_id }
}

output "kms_alias_names" {
  description = "Alias name per purpose."
  value       = { for purpose, alias in aws_kms_alias.this : purpose => alias.name }
}
