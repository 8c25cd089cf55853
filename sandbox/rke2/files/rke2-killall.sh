#!/bin/sh
# SIMULATED stand-in for RKE2's bin/rke2-killall.sh (sandbox): stops the rke2 units and any stand-in process
# left over. The stand-in runs no containers, mounts no volumes and makes no CNI interfaces, so that is all.
[ "$(id -u)" -eq 0 ] || exec sudo "$0" "$@"
echo "SIMULATED: rke2-killall.sh stand-in: stopping the rke2 units (no containers, mounts or CNI links to remove)"
for service in rke2-server.service rke2-agent.service; do
    systemctl stop "${service}" 2>/dev/null || true
done
for pid in $(ps -e -o pid= -o args= | awk '$2 ~ /python3$/ && $3 == "/usr/local/bin/rke2" { print $1 }'); do
    kill -9 "${pid}" 2>/dev/null || true
done
exit 0
