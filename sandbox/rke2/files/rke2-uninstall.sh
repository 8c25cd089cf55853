#!/bin/sh
# SIMULATED stand-in for RKE2's bin/rke2-uninstall.sh (sandbox): removes what install.sh and the stand-in wrote.
set -e
[ "$(id -u)" -eq 0 ] || exec sudo "$0" "$@"
RKE2_DATA_DIR=${RKE2_DATA_DIR:-/var/lib/rancher/rke2}
/usr/local/bin/rke2-killall.sh
for service in rke2-server.service rke2-agent.service; do
    systemctl disable "${service}" 2>/dev/null || true
    systemctl reset-failed "${service}" 2>/dev/null || true
done
rm -f /etc/systemd/system/rke2-server.service /etc/systemd/system/rke2-agent.service
rm -f /usr/local/lib/systemd/system/rke2-server.service /usr/local/lib/systemd/system/rke2-agent.service
rm -f /usr/local/lib/systemd/system/rke2-server.env /usr/local/lib/systemd/system/rke2-agent.env
rm -f /usr/local/bin/rke2 /usr/local/bin/rke2-killall.sh
rm -rf /usr/local/share/rke2
rm -rf /etc/rancher/rke2 /etc/rancher/node "${RKE2_DATA_DIR}" /var/lib/kubelet
systemctl daemon-reload 2>/dev/null || true
echo "SIMULATED: rke2-uninstall.sh stand-in: removed rke2 from /usr/local"
rm -f /usr/local/bin/rke2-uninstall.sh
