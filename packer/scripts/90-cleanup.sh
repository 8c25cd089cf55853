#!/usr/bin/env bash
# Leave nothing instance-specific in the image: each instance gets its own machine-id, cloud-init run,
# and SSH host keys on first boot.
set -euo pipefail

dnf clean all
rm -rf /var/cache/dnf/*
cloud-init clean --logs --seed
truncate -s 0 /etc/machine-id
rm -f /var/lib/dbus/machine-id
rm -f /etc/ssh/ssh_host_*
rm -f /root/.bash_history /home/ec2-user/.bash_history
rm -rf /tmp/* /var/tmp/*
find /var/log -type f -exec truncate -s 0 {} +
sync
