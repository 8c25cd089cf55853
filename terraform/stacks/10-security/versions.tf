terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.50"
    }
  }

  # Rendered per stack by the runner: -backend-config (bucket, key = {env}/{stack}/terraform.tfstate,
  # region, dynamodb_table = terraform-state-lock, encrypt, kms_key_id = alias/terraform-state-key).
  backend "s3" {}
}
