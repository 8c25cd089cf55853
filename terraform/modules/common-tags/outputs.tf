output "tags" {
  description = "Tags to set on every resource (required tags plus component and extras)."
  value       = local.tags
}

output "required_tags" {
  description = "Only the six required tags."
  value       = local.required_tags
}

output "name_prefix" {
  description = "Naming prefix {env}-{service}, lower case."
  value       = local.name_prefix
}

output "environment" {
  description = "The Environment tag value."
  value       = var.tags["Environment"]
}
