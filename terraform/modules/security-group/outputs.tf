output "id" {
  description = "Security group id."
  value       = aws_security_group.this.id
}

output "arn" {
  description = "Security group ARN."
  value       = aws_security_group.this.arn
}

output "name" {
  description = "Security group name."
  value       = aws_security_group.this.name
}

output "ingress_rule_ids" {
  description = "Ingress rule ids by rule name."
  value       = { for key, rule in aws_vpc_security_group_ingress_rule.this : key => rule.security_group_rule_id }
}
