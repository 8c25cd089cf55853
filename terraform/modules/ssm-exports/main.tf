# Cross-stack exports read by application stacks with data "aws_ssm_parameter" (seed guide, "SSM
# Parameters"). They hold ids and ARNs only, never secrets, so they stay plain String parameters that
# any reader can resolve without kms:Decrypt.
resource "aws_ssm_parameter" "this" {
  #checkov:skip=CKV2_AWS_34:Exports hold resource ids/ARNs (not secrets) read cross-stack without kms:Decrypt.
  for_each = var.parameters

  name        = each.key
  description = each.value.description
  type        = each.value.type
  value       = each.value.value
  tier        = "Standard"

  tags = merge(var.tags, {
    Name      = "${replace(trimprefix(each.key, "/"), "/", "-")}-export"
    Component = var.component
  })
}
