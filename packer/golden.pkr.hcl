# The golden image every EC2 workload boots from: hardened Amazon Linux 2023 (SPEC M3, INFRA-001).
#
# Built by the role org.platform.golden_ami only when its decision says so; it passes build_hash (sha256 of
# this file, scripts/ and the pinned versions) and the network settings. Packer reaches the build instance
# through Session Manager: no SSH ingress, no public IP, a temporary instance profile allowing SSM.
#
# Written for the Packer 1.6.6 schema (Debian's packer validates it offline). Upstream Packer >= 1.7 builds
# it too (plugins.pkr.hcl). 1.6.6 knows neither `metadata_options` nor `imds_support`, so IMDSv2 is
# required outside this file: the module org.platform.golden_ami marks the built AMI `ImdsSupport=v2.0`
# (ModifyImageAttribute) when it re-reads it, so every instance launched from it requires IMDSv2 tokens,
# and the ec2-instance Terraform module sets metadata_options http_tokens = "required" on each instance.

variable "region" {
  type        = string
  description = "AWS region to build in."
}

variable "arch" {
  type        = string
  description = "Architecture: x86_64 or arm64."
  default     = "x86_64"
}

variable "instance_type" {
  type        = string
  description = "Build instance type; empty picks t3.small (x86_64) or t4g.small (arm64)."
  default     = ""
}

variable "subnet_id" {
  type        = string
  description = "Private subnet for the build instance (needs a route to SSM: endpoints or NAT)."
  default     = ""
}

variable "vpc_id" {
  type        = string
  description = "VPC of subnet_id (for the temporary security group, which has no ingress rule)."
  default     = ""
}

variable "kms_key_id" {
  type        = string
  description = "KMS key for the encrypted root volume; empty uses the account's default EBS key."
  default     = ""
}

variable "root_volume_size" {
  type        = number
  description = "Root volume size in GiB."
  default     = 30
}

variable "build_hash" {
  type        = string
  description = "sha256 of the build inputs, computed by org.platform.golden_ami; tagged BuildHash."
}

variable "awscli_version" {
  type        = string
  description = "Pinned AWS CLI v2 version."
  default     = "2.22.35"
}

variable "bake_rke2" {
  type        = bool
  description = "Bake the RKE2 airgap artifacts (binary tarball, images, install.sh) and iptables into the image."
  default     = false
}

variable "rke2_version" {
  type        = string
  description = "Pinned RKE2 release baked when bake_rke2 is true."
  default     = "v1.31.6+rke2r1"
}

variable "tags" {
  type        = map(string)
  description = "Extra tags for the AMI and its snapshots (the platform tags)."
  default     = {}
}

locals {
  timestamp     = regex_replace(timestamp(), "[- TZ:]", "")
  rke2_arch     = var.arch == "arm64" ? "arm64" : "amd64"
  awscli_arch   = var.arch == "arm64" ? "aarch64" : "x86_64"
  instance_type = var.instance_type != "" ? var.instance_type : (var.arch == "arm64" ? "t4g.small" : "t3.small")
  image_tags = merge(var.tags, {
    Name      = "golden-al2023-${var.arch}-${local.timestamp}"
    Role      = "golden"
    OS        = "al2023"
    Arch      = var.arch
    BuildHash = var.build_hash
    SourceAmi = "{{ .SourceAMI }}"
  })
}

source "amazon-ebs" "golden" {
  region        = var.region
  ami_name      = "golden-al2023-${var.arch}-${local.timestamp}"
  instance_type = local.instance_type
  encrypt_boot  = true
  kms_key_id    = var.kms_key_id

  source_ami_filter {
    filters = {
      name                  = "al2023-ami-2023.*-kernel-6.*-${var.arch}"
      architecture          = var.arch
      "virtualization-type" = "hvm"
      "root-device-type"    = "ebs"
    }
    owners      = ["amazon"]
    most_recent = true
  }

  # Session Manager only: no public IP, no SSH ingress. Packer tunnels SSH through an SSM session, so the
  # temporary security group needs no reachable rule: its only source CIDR is 127.0.0.1/32 (nobody).
  communicator                          = "ssh"
  ssh_username                          = "ec2-user"
  ssh_interface                         = "session_manager"
  associate_public_ip_address           = false
  subnet_id                             = var.subnet_id
  vpc_id                                = var.vpc_id
  temporary_security_group_source_cidrs = ["127.0.0.1/32"]
  temporary_iam_instance_profile_policy_document {
    Version = "2012-10-17"
    Statement {
      Effect = "Allow"
      Action = [
        "ssm:DescribeAssociation",
        "ssm:GetDeployablePatchSnapshotForInstance",
        "ssm:GetDocument",
        "ssm:DescribeDocument",
        "ssm:GetManifest",
        "ssm:ListAssociations",
        "ssm:ListInstanceAssociations",
        "ssm:PutInventory",
        "ssm:PutComplianceItems",
        "ssm:PutConfigurePackageResult",
        "ssm:UpdateAssociationStatus",
        "ssm:UpdateInstanceAssociationStatus",
        "ssm:UpdateInstanceInformation",
        "ssmmessages:CreateControlChannel",
        "ssmmessages:CreateDataChannel",
        "ssmmessages:OpenControlChannel",
        "ssmmessages:OpenDataChannel",
        "ec2messages:AcknowledgeMessage",
        "ec2messages:DeleteMessage",
        "ec2messages:FailMessage",
        "ec2messages:GetEndpoint",
        "ec2messages:GetMessages",
        "ec2messages:SendReply",
      ]
      Resource = ["*"]
    }
  }

  launch_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = var.root_volume_size
    volume_type           = "gp3"
    iops                  = 3000
    throughput            = 125
    encrypted             = true
    kms_key_id            = var.kms_key_id
    delete_on_termination = true
  }

  ami_block_device_mappings {
    device_name           = "/dev/xvda"
    volume_size           = var.root_volume_size
    volume_type           = "gp3"
    iops                  = 3000
    throughput            = 125
    encrypted             = true
    kms_key_id            = var.kms_key_id
    delete_on_termination = true
  }

  run_tags      = merge(var.tags, { Name = "packer-golden-al2023-${var.arch}", Role = "golden-build" })
  tags          = local.image_tags
  snapshot_tags = local.image_tags
}

build {
  sources = ["source.amazon-ebs.golden"]

  provisioner "shell" {
    execute_command = "sudo -E bash -eu -o pipefail '{{ .Path }}'"
    environment_vars = [
      "AWSCLI_VERSION=${var.awscli_version}",
      "AWSCLI_ARCH=${local.awscli_arch}",
    ]
    scripts = [
      "${path.root}/scripts/10-packages.sh",
      "${path.root}/scripts/20-harden.sh",
    ]
  }

  provisioner "shell" {
    execute_command = "sudo -E bash -eu -o pipefail '{{ .Path }}'"
    environment_vars = [
      "BAKE_RKE2=${var.bake_rke2}",
      "RKE2_VERSION=${var.rke2_version}",
      "RKE2_ARCH=${local.rke2_arch}",
    ]
    script = "${path.root}/scripts/30-rke2-airgap.sh"
  }

  provisioner "shell" {
    execute_command = "sudo -E bash -eu -o pipefail '{{ .Path }}'"
    script          = "${path.root}/scripts/90-cleanup.sh"
  }

  post-processor "manifest" {
    output     = "${path.root}/../logs/packer/manifest-${var.arch}.json"
    strip_path = true
    custom_data = {
      build_hash = var.build_hash
      arch       = var.arch
    }
  }
}
