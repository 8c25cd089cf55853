#!/usr/bin/env bash
# Packages every golden-AMI workload relies on: Docker (enabled at boot), AWS CLI v2 (pinned), SSM agent.
# Runs as root through Packer's shell provisioner with AWSCLI_VERSION and AWSCLI_ARCH set.
set -euo pipefail

: "${AWSCLI_VERSION:?AWSCLI_VERSION is required}"
: "${AWSCLI_ARCH:?AWSCLI_ARCH is required}"

dnf -y upgrade --releasever=latest
dnf -y install docker amazon-ssm-agent unzip jq iptables-nft tar gzip

# Docker must come up on boot without network access (SPEC M3: instances run Docker at once, offline).
systemctl enable docker.service containerd.service
# SSM agent: the only way in (no SSH ingress anywhere).
systemctl enable amazon-ssm-agent.service

# AWS CLI v2, pinned: replace AL2023's packaged v2 with the pinned release, verified by its PGP signature.
workdir="$(mktemp -d)"
trap 'rm -rf "${workdir}"' EXIT
cd "${workdir}"
curl -fsSLo awscliv2.zip "https://awscli.amazonaws.com/awscli-exe-linux-${AWSCLI_ARCH}-${AWSCLI_VERSION}.zip"
curl -fsSLo awscliv2.zip.sig "https://awscli.amazonaws.com/awscli-exe-linux-${AWSCLI_ARCH}-${AWSCLI_VERSION}.zip.sig"
# AWS CLI team public key fingerprint, as published in the AWS CLI v2 install guide.
gpg --batch --keyserver hkps://keyserver.ubuntu.com --recv-keys FB5DB77FD5C118B80511ADA8A6310ACC4672475C
gpg --batch --verify awscliv2.zip.sig awscliv2.zip
unzip -q awscliv2.zip
dnf -y remove awscli-2 || true
./aws/install --update --bin-dir /usr/local/bin --install-dir /usr/local/aws-cli
/usr/local/bin/aws --version | grep -q "aws-cli/${AWSCLI_VERSION} "
