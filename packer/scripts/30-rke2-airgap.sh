#!/usr/bin/env bash
# Optional: bake the RKE2 airgap artifacts so nodes install RKE2 without internet (input for the RKE2 role:
# its airgap "exists" mode reads them from /opt/rke2-artifacts). Checksums are verified against the release's
# sha256sum file. Skipped unless BAKE_RKE2=true.
set -euo pipefail

if [[ "${BAKE_RKE2:-false}" != "true" ]]; then
  echo "RKE2 artifacts not baked (bake_rke2 = false)"
  exit 0
fi
: "${RKE2_VERSION:?RKE2_VERSION is required}"
: "${RKE2_ARCH:?RKE2_ARCH is required}"

dnf -y install iptables-nft
artifacts=/opt/rke2-artifacts
install -d -m 0755 "${artifacts}"
cd "${artifacts}"
base="https://github.com/rancher/rke2/releases/download/${RKE2_VERSION/+/%2B}"
for file in "rke2.linux-${RKE2_ARCH}.tar.gz" "rke2-images.linux-${RKE2_ARCH}.tar.zst" "sha256sum-${RKE2_ARCH}.txt"; do
  curl -fsSLo "${file}" "${base}/${file}"
done
grep -E " (rke2\.linux-${RKE2_ARCH}\.tar\.gz|rke2-images\.linux-${RKE2_ARCH}\.tar\.zst)$" "sha256sum-${RKE2_ARCH}.txt" \
  | sha256sum -c -
curl -fsSLo install.sh https://get.rke2.io
chmod 0755 install.sh
echo "${RKE2_VERSION}" > VERSION
