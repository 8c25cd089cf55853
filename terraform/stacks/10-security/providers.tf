provider "aws" {
  region = var.aws_region

  # Safety net: every taggable resource also sets module.tags.tags explicitly.
  default_tags {
    tags = var.tags
  }
}
