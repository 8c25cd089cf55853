output "parameter_arns" {
  description = "ARN of each exported parameter, by name."
  value       = { for name, parameter in aws_ssm_parameter.this : name => parameter.arn }
}

output "parameter_names" {
  description = "Names of the exported parameters."
  value       = sort(keys(aws_ssm_parameter.this))
}
