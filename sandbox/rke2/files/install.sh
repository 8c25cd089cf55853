#!/bin/sh
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
#
# SIMULATED stand-in for RKE2's install.sh (https://get.rke2.io) in the sandbox: the airgap tarball install
# only (https://docs.rke2.io/install/airgap, "Tarball method"), with the real script's variables:
#   INSTALL_RKE2_ARTIFACT_PATH     directory with sha256sum-<arch>.txt, rke2.linux-<arch>.tar.gz and the
#                                  rke2-images*.linux-<arch>.tar.{zst,gz} archives (required: no network here)
#   INSTALL_RKE2_METHOD            tar (the default with an artifact path); rpm is refused
#   INSTALL_RKE2_TYPE              server (default) or agent
#   INSTALL_RKE2_TAR_PREFIX        default /usr/local (/opt/rke2 when /usr/local is read-only or a mount point)
#   INSTALL_RKE2_AGENT_IMAGES_DIR  default /var/lib/rancher/rke2/agent/images
#   INSTALL_RKE2_SKIP_RELOAD       true: no systemctl daemon-reload
#   ARCH                           default from uname -m
# Every file is checked against the checksum file before anything is written; a mismatch changes nothing.
set -e

info() { echo "[INFO]  $*"; }
fatal() { echo "[ERROR]  $*" >&2; exit 1; }

echo "SIMULATED: install.sh stand-in (sandbox): airgap tarball install from INSTALL_RKE2_ARTIFACT_PATH, no download"
[ "$(id -u)" -eq 0 ] || fatal "You need to be root to perform this install"

case "${ARCH:=$(uname -m)}" in
    amd64|x86_64) ARCH=amd64 ;;
    arm64|aarch64) ARCH=arm64 ;;
    s390x) ARCH=s390x ;;
    *) fatal "unsupported architecture ${ARCH}" ;;
esac
SUFFIX="linux-${ARCH}"

case "${INSTALL_RKE2_METHOD:-tar}" in
    tar) ;;
    rpm) fatal "INSTALL_RKE2_METHOD=rpm is not supported by the sandbox stand-in (tarball installs only)" ;;
    *) fatal "invalid installation method. must be tar or rpm, not ${INSTALL_RKE2_METHOD}" ;;
esac
case "${INSTALL_RKE2_TYPE:=server}" in
    server|agent) ;;
    *) fatal "invalid INSTALL_RKE2_TYPE ${INSTALL_RKE2_TYPE}: server or agent" ;;
esac

ART="${INSTALL_RKE2_ARTIFACT_PATH}"
[ -n "${ART}" ] || fatal "INSTALL_RKE2_ARTIFACT_PATH is not set: the sandbox has no network to download from"
[ -d "${ART}" ] || fatal "INSTALL_RKE2_ARTIFACT_PATH ${ART} is not a directory"
CHECKSUMS="${ART}/sha256sum-${ARCH}.txt"
TARBALL="${ART}/rke2.${SUFFIX}.tar.gz"
[ -f "${CHECKSUMS}" ] || fatal "${CHECKSUMS} not found"
[ -f "${TARBALL}" ] || fatal "${TARBALL} not found"

if [ -z "${INSTALL_RKE2_TAR_PREFIX}" ]; then
    INSTALL_RKE2_TAR_PREFIX=/usr/local
    if [ -d /usr/local ] && { ! [ -w /usr/local ] || mountpoint -q /usr/local; }; then
        INSTALL_RKE2_TAR_PREFIX=/opt/rke2
    fi
fi
IMAGES_DIR="${INSTALL_RKE2_AGENT_IMAGES_DIR:-/var/lib/rancher/rke2/agent/images}"

verify() {
    name=$(basename "$1")
    expected=$(awk -v f="${name}" '$2 == f { print $1 }' "${CHECKSUMS}")
    [ -n "${expected}" ] || fatal "no checksum for ${name} in ${CHECKSUMS}"
    actual=$(sha256sum "$1" | awk '{ print $1 }')
    [ "${expected}" = "${actual}" ] || fatal "download sha256 does not match ${expected}, got ${actual} (${name})"
    info "verified ${name}"
}

verify "${TARBALL}"
IMAGES=""
for archive in "${ART}"/rke2-images.${SUFFIX}.tar.zst "${ART}"/rke2-images.${SUFFIX}.tar.gz \
               "${ART}"/rke2-images-*.${SUFFIX}.tar.zst "${ART}"/rke2-images-*.${SUFFIX}.tar.gz; do
    [ -f "${archive}" ] || continue
    verify "${archive}"
    IMAGES="${IMAGES} ${archive}"
done

if [ -n "${IMAGES}" ]; then
    mkdir -p "${IMAGES_DIR}"
    for archive in ${IMAGES}; do
        info "installing airgap image archive $(basename "${archive}") to ${IMAGES_DIR}"
        cp -f "${archive}" "${IMAGES_DIR}/"
    done
fi

info "unpacking tarball file to ${INSTALL_RKE2_TAR_PREFIX}"
mkdir -p "${INSTALL_RKE2_TAR_PREFIX}"
tar xzf "${TARBALL}" --no-same-owner -C "${INSTALL_RKE2_TAR_PREFIX}"
if [ "${INSTALL_RKE2_TAR_PREFIX}" != /usr/local ]; then
    info "updating tarball contents to reflect install path"
    sed -i "s|/usr/local|${INSTALL_RKE2_TAR_PREFIX}|" "${INSTALL_RKE2_TAR_PREFIX}"/lib/systemd/system/rke2-*.service \
        "${INSTALL_RKE2_TAR_PREFIX}"/bin/rke2-uninstall.sh "${INSTALL_RKE2_TAR_PREFIX}"/bin/rke2-killall.sh
    info "moving systemd units to /etc/systemd/system"
    mkdir -p /etc/systemd/system
    mv -f "${INSTALL_RKE2_TAR_PREFIX}"/lib/systemd/system/rke2-*.service /etc/systemd/system/
    info "install complete; you may want to run:  export PATH=\$PATH:${INSTALL_RKE2_TAR_PREFIX}/bin"
fi

if [ "${INSTALL_RKE2_SKIP_RELOAD}" != true ] && [ -d /run/systemd/system ]; then
    systemctl daemon-reload
fi
info "rke2 $("${INSTALL_RKE2_TAR_PREFIX}/bin/rke2" --version | head -n 1 | awk '{ print $3 }') installed (${INSTALL_RKE2_TYPE})"
