#!/usr/bin/env bash
# Baseline hardening for every golden-AMI instance: no SSH door, no password logins, sane kernel settings.
set -euo pipefail

# Access is through SSM Session Manager only: sshd is not started at boot.
systemctl disable --now sshd.service sshd.socket 2>/dev/null || true
sed -ri 's/^#?PasswordAuthentication.*/PasswordAuthentication no/; s/^#?PermitRootLogin.*/PermitRootLogin no/' \
  /etc/ssh/sshd_config

install -m 0644 /dev/stdin /etc/sysctl.d/60-golden-hardening.conf <<'SYSCTL'
# golden AMI baseline (org.platform packer/scripts/20-harden.sh)
kernel.kptr_restrict = 2
kernel.dmesg_restrict = 1
kernel.unprivileged_bpf_disabled = 1
net.ipv4.conf.all.accept_redirects = 0
net.ipv4.conf.default.accept_redirects = 0
net.ipv4.conf.all.send_redirects = 0
net.ipv4.conf.all.log_martians = 1
net.ipv6.conf.all.accept_redirects = 0
fs.suid_dumpable = 0
SYSCTL

# Docker: journald logs, no inter-container traffic by default, live restore across daemon restarts.
install -d -m 0755 /etc/docker
install -m 0644 /dev/stdin /etc/docker/daemon.json <<'JSON'
{
  "log-driver": "journald",
  "icc": false,
  "live-restore": true,
  "no-new-privileges": true
}
JSON
