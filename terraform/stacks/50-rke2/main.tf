module "tags" {
  source = "../../modules/common-tags"

  tags      = var.tags
  component = "rke2"
}

data "aws_partition" "current" {}

data "aws_prefix_list" "s3" {
  name = "com.amazonaws.${var.aws_region}.s3"
}

locals {
  name        = "${module.tags.name_prefix}-rke2"
  cluster_tag = { "kubernetes.io/cluster/${var.cluster_name}" = "owned" }
  ha          = var.server_count > 1

  supervisor_port    = 9345
  api_port           = 6443
  kubelet_port       = 10250
  node_exporter_port = 9100
  ports = {
    supervisor = local.supervisor_port
    api        = local.api_port
  }
}

# Guards that need more than one variable (Terraform 1.5 validations see one variable only).
resource "terraform_data" "guards" {
  input = {
    environment  = var.environment
    server_count = var.server_count
  }

  lifecycle {
    precondition {
      condition     = var.environment != "prod" || var.server_count >= 3
      error_message = "prod runs an HA control plane: server_count must be at least 3."
    }
  }
}
