# Plugin requirements for upstream Packer >= 1.7 (`packer init packer/`). Kept out of golden.pkr.hcl because
# Debian's packer 1.6.6 (amazon-ebs built in, used by `make test` to validate the template) rejects this
# block. Validate with `packer validate packer/golden.pkr.hcl`, build with `packer build packer/` (upstream).
packer {
  required_version = ">= 1.6.6"
  required_plugins {
    amazon = {
      version = ">= 1.3.0"
      source  = "github.com/hashicorp/amazon"
    }
  }
}
