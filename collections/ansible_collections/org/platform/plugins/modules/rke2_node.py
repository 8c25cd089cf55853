#!/usr/bin/python
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The node-side work of an RKE2 install in one round trip: pull, verify, install, token, config, start."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rke2_node
short_description: Install and start RKE2 on an EC2 node in one round trip, pulling from S3 itself
description:
  - Runs on the node (as root). With the instance profile's credentials (IMDSv2) it reads
    C(sha256sum-<arch>.txt) from the artifact bucket through the S3 endpoint, and compares the installed
    C(rke2) binary and image archives with it. Only when they differ does it download the tarball, the image
    archives and C(install.sh), verify every checksum before anything is installed, and run C(install.sh)
    (tarball method, C(INSTALL_RKE2_ARTIFACT_PATH)).
  - Reads the cluster token itself from an SSM SecureString parameter (C(GetParameter) with decryption,
    through the SSM endpoint) and writes it, mode 0600, as the token file; writes C(config.yaml) when its
    content differs. The token is never returned or logged.
  - Stops and masks Docker when present (its FORWARD DROP rules break the CNI), checks the default route
    (optionally adds a black-hole one, see the RKE2 airgap docs) and C(iptables), and writes the kernel's
    part (C(/etc/modules-load.d/rke2.conf) with C(br_netfilter) and C(overlay), loaded if they are not;
    C(/etc/sysctl.d/90-rke2.conf) with bridged traffic through iptables and forwarding on, applied).
  - Enables the unit, and starts it (or restarts it after a change) with C(--no-block), so the SSM command
    returns at once; M(org.platform.rke2_wait) then polls readiness on the node.
  - With O(cis), prepares the host for RKE2's CIS profile (rke2-docs C(security/hardening_guide.md)), with an
    C(etcd) system user in C(/etc/passwd), and the release's C(rke2-cis-sysctl.conf) as
    C(/etc/sysctl.d/60-rke2-cis.conf), applied by restarting C(systemd-sysctl) when it is new or changed.
  - O(manifests) (servers) are written to the server's auto-deploy directory (C(<data-dir>/server/manifests));
    RKE2 applies them itself, so a changed manifest restarts nothing.
  - C(state=absent) uninstalls with C(rke2-uninstall.sh) of the tarball (or RPM) install, which runs
    C(rke2-killall.sh) and removes the binaries, units, C(/etc/rancher/rke2) and the data directory; then the
    downloaded artifacts and the token file. It needs none of the AWS options.
  - Reports C(changed) only when it installed, wrote a file, masked Docker or started/restarted the unit.
version_added: 0.3.0
author: Platform team (@org-platform)
attributes:
  check_mode:
    support: partial
    details:
      - Runs the preflight and the read-only S3 calls, reports the C(actions) it would take, and changes nothing.
      - It does not read the token, so a new cluster can be planned before its token parameter exists.
    description: Reports what it would do (C(actions)) and changes nothing; the token file and C(config.yaml) are not compared in check mode.
  diff_mode:
    support: none
    description: No diff; the token file is never shown.
options:
  type:
    description: The node's kind.
    type: str
    choices: [server, agent]
    required: true
  version:
    description: The RKE2 release, e.g. C(v1.33.5+rke2r1). Required unless O(state=absent).
    type: str
  arch:
    description: The artifacts' architecture.
    type: str
    default: amd64
  artifact_bucket:
    description: The S3 bucket holding the release files. Required unless O(state=absent).
    type: str
  artifact_prefix:
    description: Key prefix of the release files in the bucket. Required unless O(state=absent).
    type: str
  image_archives:
    description: Base names of the image archives to install, e.g. C(rke2-images-core), C(rke2-images-canal).
    type: list
    elements: str
    default: []
  artifact_dir:
    description: Where the downloaded files are kept on the node.
    type: path
    default: /var/lib/rancher/rke2-artifacts
  token_parameter:
    description: Name of the SSM SecureString parameter holding the cluster token. Required unless O(state=absent).
    type: str
  token_file:
    description: The token file that C(config.yaml) names as C(token-file).
    type: path
    default: /etc/rancher/rke2/token
  config:
    description: The content of C(config.yaml) (rendered by the role; never holds the token). Required unless O(state=absent).
    type: str
  config_path:
    description: Path of C(config.yaml).
    type: path
    default: /etc/rancher/rke2/config.yaml
  region:
    description: AWS region of the S3 and SSM calls. Required unless O(state=absent).
    type: str
  aws_endpoint_url:
    description: An endpoint for S3 and SSM instead of the regional ones (the sandbox's VPC endpoint).
    type: str
    default: ""
  imds_endpoint:
    description: The instance metadata service; empty for the EC2 default.
    type: str
    default: ""
  default_route:
    description: C(check) fails without a default route; C(blackhole) adds a black-hole one when missing.
    type: str
    choices: [check, blackhole]
    default: check
  require_iptables:
    description: Fail when C(iptables) is missing (every CNI but C(none) needs it).
    type: bool
    default: true
  mask_docker:
    description: Stop and mask C(docker.service) when it exists.
    type: bool
    default: true
  cis:
    description: Prepare the host for the CIS profile (the etcd user and the CIS kernel parameters).
    type: bool
    default: false
  manifests:
    description: On a server, auto-deploy manifests, file name to content (e.g. the cloud controller's HelmChart).
    type: dict
    default: {}
  data_dir:
    description: RKE2's data directory.
    type: path
    default: /var/lib/rancher/rke2
  state:
    description:
      - C(started) installs, configures and starts; C(installed) (bake mode) installs only; C(absent)
        uninstalls.
    type: str
    choices: [started, installed, absent]
    default: started
notes:
  - Needs only Python 3, C(systemctl) and C(ip) on the node (no boto3, no AWS CLI).
"""

EXAMPLES = r"""
- name: Install and start the first server
  org.platform.rke2_node:
    type: server
    version: v1.33.5+rke2r1
    artifact_bucket: example-artifacts
    artifact_prefix: rke2/v1.33.5+rke2r1
    image_archives: [rke2-images-core, rke2-images-canal]
    token_parameter: /example/rke2/token
    config: "{{ lookup('ansible.builtin.template', 'config.yaml.j2') }}"
    region: eu-west-1
  become: true
"""

RETURN = r"""
node_name:
  description: The node's name in the cluster (C(node-name) from the config, else the host name).
  returned: always
  type: str
  sample: ip-10-61-10-4
unit:
  description: The systemd unit of the node's kind.
  returned: always
  type: str
  sample: rke2-server.service
actions:
  description: What was done, in order (empty on a no-change run).
  returned: always
  type: list
  elements: str
  sample: [install, token-file, config, enable, start]
installed_version:
  description: The version the installed binary matches.
  returned: always
  type: str
  sample: v1.33.5+rke2r1
"""

import os
import re
import shutil
import socket
import subprocess
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.org.platform.plugins.module_utils.rke2_node import (
    NodeAwsError,
    file_sha256,
    instance_credentials,
    parse_checksums,
    s3_get,
    ssm_secure_parameter,
)

BIN = "/usr/local/bin/rke2"
IMAGES_DIR = "/var/lib/rancher/rke2/agent/images"
NEEDED = ["version", "artifact_bucket", "artifact_prefix", "region"]
MANIFEST_NAME = re.compile(r"[a-z0-9][a-z0-9.-]*[.]yaml")
# Where the release puts its scripts and share files: tarball under /usr/local (or /opt/rke2 when /usr/local is
# read-only), RPM under /usr (docs.rke2.io install/uninstall).
PREFIXES = ("/usr/local", "/opt/rke2", "/usr")
CIS_SYSCTL = "/etc/sysctl.d/60-rke2-cis.conf"
# What the CNI needs of the kernel (RKE2 requirements; the EKS AMI does the same): the bridge netfilter and
# overlay modules, loaded at every boot, and bridged traffic through iptables with forwarding on.
KERNEL_MODULES = ("br_netfilter", "overlay")
MODULES_FILE = "/etc/modules-load.d/rke2.conf"
SYSCTL_FILE = "/etc/sysctl.d/90-rke2.conf"
SYSCTLS = (
    "# Managed by org.platform.rke2_node\n"
    "net.bridge.bridge-nf-call-iptables = 1\nnet.bridge.bridge-nf-call-ip6tables = 1\nnet.ipv4.ip_forward = 1\n"
)


def _run(argv, timeout=120, **kw):
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=timeout, **kw)


def _write_if_changed(path: str, text: str, mode: int, check_mode: bool = False) -> bool:
    """Atomically write text (mode set before any byte lands) unless the file already holds it with that mode;
    True when it did not. In check mode only compares."""
    if _read(path) == text and (os.stat(path).st_mode & 0o777) == mode:
        return False
    if check_mode:
        return True
    os.makedirs(os.path.dirname(path), mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".rke2-")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return True


def _preflight(module, p) -> list[str]:
    actions = []
    if os.geteuid() != 0:
        module.fail_json(msg="rke2_node must run as root (become: true); nothing was changed")
    if p["require_iptables"] and shutil.which("iptables") is None:
        module.fail_json(
            msg="iptables is missing on the node (the CNI needs it; bake it into the AMI); nothing was changed"
        )
    if not _run(["ip", "-4", "route", "show", "default"]).stdout.strip():
        if p["default_route"] == "check":
            module.fail_json(
                msg="the node has no default route, which rke2 needs even airgapped (set the role's "
                "rke2_default_route: blackhole to add a black-hole one); nothing was changed"
            )
        if not module.check_mode:
            added = _run(["ip", "route", "add", "blackhole", "default"])
            if added.returncode != 0:
                module.fail_json(msg=f"could not add a black-hole default route: {added.stderr.strip()}")
        actions.append("default-route")
    return actions


def _wanted_files(p) -> tuple[str, list[str]]:
    arch = p["arch"]
    return f"rke2.linux-{arch}.tar.gz", [f"{name}.linux-{arch}.tar.zst" for name in p["image_archives"]]


def _install(module, p, aws, sums) -> list[str]:
    arch = p["arch"]
    tarball, archives = _wanted_files(p)
    missing = [name for name in [tarball, f"rke2.linux-{arch}", *archives] if name not in sums]
    if missing:
        module.fail_json(
            msg=f"sha256sum-{arch}.txt of s3://{p['artifact_bucket']}/{p['artifact_prefix']} lists no "
            f"{', '.join(missing)} (missing artifact, or an image archive this version does not ship); nothing was changed"
        )
    current = file_sha256(BIN) == sums[f"rke2.linux-{arch}"] and all(
        file_sha256(os.path.join(IMAGES_DIR, name)) == sums[name] for name in archives
    )
    unit = f"/usr/local/lib/systemd/system/rke2-{p['type']}.service"
    if current and os.path.exists(unit):
        return []
    if module.check_mode:
        return ["install"]
    os.makedirs(p["artifact_dir"], mode=0o700, exist_ok=True)
    prefix = p["artifact_prefix"].strip("/")
    for name in [tarball, *archives, "install.sh"]:
        dest = os.path.join(p["artifact_dir"], name)
        if name != "install.sh" and file_sha256(dest) == sums[name]:
            continue
        try:
            digest = s3_get(*aws, p["artifact_bucket"], f"{prefix}/{name}", dest)
        except NodeAwsError as exc:
            module.fail_json(msg=f"download failed (missing artifact?): {exc}; nothing was installed")
        if name != "install.sh" and digest != sums[name]:
            os.unlink(dest)
            module.fail_json(
                msg=f"checksum mismatch for {name}: sha256 {digest}, sha256sum-{arch}.txt says {sums[name]}; "
                "the file was removed and nothing was installed"
            )
    with open(os.path.join(p["artifact_dir"], f"sha256sum-{arch}.txt"), "w", encoding="utf-8") as handle:
        handle.write("".join(f"{v}  {k}\n" for k, v in sorted(sums.items())))
    env = {
        "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "INSTALL_RKE2_METHOD": "tar",
        "INSTALL_RKE2_TYPE": p["type"],
        "INSTALL_RKE2_ARTIFACT_PATH": p["artifact_dir"],
        "ARCH": arch,
    }
    done = _run(["sh", os.path.join(p["artifact_dir"], "install.sh")], env=env)
    if done.returncode != 0:
        module.fail_json(msg=f"install.sh failed (rc {done.returncode}): {(done.stdout + done.stderr)[-1500:]}")
    return ["install"]


def _node_name(config: str) -> str:
    found = re.search(r"^node-name:\s*['\"]?([^'\"\s#]+)", config, re.MULTILINE)
    return found.group(1) if found else socket.gethostname()


def _service(module, unit: str, restart: bool) -> list[str]:
    actions = []
    if _run(["systemctl", "is-enabled", unit]).stdout.strip() != "enabled":
        actions.append("enable")
        if not module.check_mode:
            _systemctl(module, "enable", unit)
    state = _run(["systemctl", "is-active", unit]).stdout.strip()
    if state in ("active", "activating", "reloading") and not restart:
        return actions
    verb = "restart" if state in ("active", "activating", "reloading") else "start"
    actions.append(verb)
    if not module.check_mode:
        _systemctl(module, verb, "--no-block", unit)
    return actions


def _mask_docker(module) -> list[str]:
    """Docker's FORWARD DROP rules break the CNI: stop and mask it (and its socket) when present."""
    if _run(["systemctl", "cat", "docker.service"]).returncode != 0:
        return []
    if _run(["systemctl", "is-enabled", "docker.service"]).stdout.strip() == "masked":
        return []
    if not module.check_mode:
        units = ["docker.service"]
        units += ["docker.socket"] if _run(["systemctl", "cat", "docker.socket"]).returncode == 0 else []
        _systemctl(module, "stop", *units)
        _systemctl(module, "mask", *units)
    return ["mask-docker"]


def _systemctl(module, *argv):
    done = _run(["systemctl", *argv])
    if done.returncode != 0:
        module.fail_json(msg=f"systemctl {' '.join(argv)} failed: {done.stderr.strip()}")


def _kernel(module) -> list[str]:
    """The modules-load.d and sysctl.d files (applied now and at every boot); the modules loaded if they are not."""
    wanted = ((MODULES_FILE, "".join(f"{name}\n" for name in KERNEL_MODULES), "kernel-modules"),
              (SYSCTL_FILE, SYSCTLS, "sysctl"))  # fmt: skip
    actions = [what for path, text, what in wanted if _write_if_changed(path, text, 0o644, module.check_mode)]
    if module.check_mode:
        return actions
    missing = [name for name in KERNEL_MODULES if not os.path.isdir(f"/sys/module/{name}")]
    loaded = _run(["modprobe", "-a", *missing]) if missing and shutil.which("modprobe") else None
    if missing and (loaded is None or loaded.returncode != 0):
        container = _run(["systemd-detect-virt", "--container"]).stdout.strip()
        if container in ("", "none"):
            why = loaded.stderr.strip() if loaded else "modprobe is missing (kmod)"
            module.fail_json(msg=f"cannot load the kernel modules {', '.join(missing)}: {why}")
        module.warn(
            f"in a container ({container}) the kernel modules {', '.join(missing)} cannot be loaded: the host's "
            "kernel has what it has (SIMULATED on sandbox nodes; an EC2 node loads them)"
        )
    if "sysctl" in actions:
        _systemctl(module, "restart", "systemd-sysctl.service")
    return actions


def _cis_host(module) -> list[str]:
    """The host prerequisites of profile: cis: an etcd system user in /etc/passwd, the CIS kernel parameters."""
    actions = []
    with open("/etc/passwd", encoding="utf-8") as handle:
        has_etcd = any(line.startswith("etcd:") for line in handle)
    if not has_etcd:
        actions.append("etcd-user")
        if not module.check_mode:
            added = _run(["useradd", "-r", "-c", "etcd user", "-s", "/sbin/nologin", "-M", "etcd", "-U"])
            if added.returncode != 0:
                module.fail_json(msg=f"useradd etcd failed: {added.stderr.strip()}")
    source = _release_file("share/rke2/rke2-cis-sysctl.conf")
    if source is None and not module.check_mode:
        module.fail_json(msg="profile cis: the release installed no share/rke2/rke2-cis-sysctl.conf; nothing started")
    # No source in check mode before the install: the file would come with it.
    if source is None or _write_if_changed(CIS_SYSCTL, _read(source), 0o644, module.check_mode):
        actions.append("cis-sysctl")
        if not module.check_mode:
            _systemctl(module, "restart", "systemd-sysctl.service")
    return actions


def _release_file(relative: str) -> str | None:
    """The release's file under the first install prefix that has it (tarball, /opt/rke2 or RPM)."""
    return next((f"{prefix}/{relative}" for prefix in PREFIXES if os.path.exists(f"{prefix}/{relative}")), None)


def _read(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _manifests(module, p) -> list[str]:
    actions = []
    for name, content in sorted(p["manifests"].items()):
        if _write_if_changed(
            os.path.join(p["data_dir"], "server", "manifests", name), content, 0o600, module.check_mode
        ):
            actions.append(f"manifest {name}")
    return actions


def _uninstall(module, p) -> list[str]:
    """rke2-uninstall.sh (it runs rke2-killall.sh first), then what the role itself put on the node."""
    actions = []
    script = _release_file("bin/rke2-uninstall.sh")
    if script:
        actions.append("uninstall")
        if not module.check_mode:
            done = _run(["sh", script], timeout=600)
            if done.returncode != 0:
                module.fail_json(msg=f"{script} failed (rc {done.returncode}): {(done.stdout + done.stderr)[-1500:]}")
    elif _release_file("bin/rke2"):
        module.fail_json(msg="rke2 is installed but no rke2-uninstall.sh is next to it; nothing was changed")
    for path, what in ((p["artifact_dir"], "artifacts"), (p["token_file"], "token-file")):
        if os.path.lexists(path):
            actions.append(what)
            if not module.check_mode:
                if os.path.isdir(path) and not os.path.islink(path):
                    shutil.rmtree(path)
                else:
                    os.unlink(path)
    return actions


def main():
    module = AnsibleModule(
        argument_spec={
            "type": {"type": "str", "choices": ["server", "agent"], "required": True},
            "version": {"type": "str"},
            "arch": {"type": "str", "default": "amd64"},
            "artifact_bucket": {"type": "str"},
            "artifact_prefix": {"type": "str"},
            "image_archives": {"type": "list", "elements": "str", "default": []},
            "artifact_dir": {"type": "path", "default": "/var/lib/rancher/rke2-artifacts"},
            "token_parameter": {"type": "str", "no_log": False},  # a name, not the token
            "token_file": {"type": "path", "default": "/etc/rancher/rke2/token"},
            "config": {"type": "str"},
            "config_path": {"type": "path", "default": "/etc/rancher/rke2/config.yaml"},
            "region": {"type": "str"},
            "aws_endpoint_url": {"type": "str", "default": ""},
            "imds_endpoint": {"type": "str", "default": ""},
            "default_route": {"type": "str", "choices": ["check", "blackhole"], "default": "check"},
            "require_iptables": {"type": "bool", "default": True},
            "mask_docker": {"type": "bool", "default": True},
            "cis": {"type": "bool", "default": False},
            "manifests": {"type": "dict", "default": {}},
            "data_dir": {"type": "path", "default": "/var/lib/rancher/rke2"},
            "state": {"type": "str", "choices": ["started", "installed", "absent"], "default": "started"},
        },
        required_if=[
            ("state", "started", [*NEEDED, "token_parameter", "config"]),
            ("state", "installed", NEEDED),
        ],
        supports_check_mode=True,
    )
    p = module.params
    if p["state"] == "absent":
        actions = _uninstall(module, p)
        module.exit_json(changed=bool(actions), actions=actions, unit=f"rke2-{p['type']}.service", node_name="")
    bad = [name for name in p["manifests"] if not MANIFEST_NAME.fullmatch(name)]
    if bad or (p["manifests"] and p["type"] != "server"):
        module.fail_json(
            msg=f"manifests are for servers, named like name.yaml (not {', '.join(bad) or p['type']}); nothing was changed"
        )
    p["config"] = p["config"] or ""
    if re.search(r"^\s*(token|agent-token)\s*:", p["config"], re.MULTILINE):
        module.fail_json(msg="config.yaml must name the token-file, never hold the token; nothing was changed")
    unit = f"rke2-{p['type']}.service"
    actions = _preflight(module, p)
    try:
        creds = instance_credentials(p["imds_endpoint"])
        aws = (p["aws_endpoint_url"], p["region"], creds)
        sums_key = f"{p['artifact_prefix'].strip('/')}/sha256sum-{p['arch']}.txt"
        sums = parse_checksums(s3_get(*aws, p["artifact_bucket"], sums_key).decode())
        # Check mode never reads the token: nothing is written with it, and a plan of a new cluster runs before
        # the controller's token task has created the parameter (it changes nothing in check mode either).
        reads_token = p["state"] == "started" and not module.check_mode
        token = ssm_secure_parameter(*aws, p["token_parameter"]).strip() if reads_token else ""
    except NodeAwsError as exc:
        module.fail_json(msg=f"{exc}; nothing was changed")
    installed = _install(module, p, aws, sums)
    actions += installed
    actions += _kernel(module)
    actions += _cis_host(module) if p["cis"] else []
    changed_files = []
    if p["state"] == "started":
        if reads_token and not token:
            module.fail_json(msg=f"SSM parameter {p['token_parameter']} is empty; nothing was started")
        if module.check_mode:
            changed_files = []
        else:
            if _write_if_changed(p["token_file"], token + "\n", 0o600):
                changed_files.append("token-file")
            if _write_if_changed(p["config_path"], p["config"], 0o600):
                changed_files.append("config")
        del token
    actions += changed_files
    actions += _manifests(module, p) if p["state"] == "started" else []
    actions += _mask_docker(module) if p["mask_docker"] else []
    if p["state"] == "started":
        actions += _service(module, unit, restart=bool(installed or changed_files))
    module.exit_json(
        changed=bool(actions),
        actions=actions,
        unit=unit,
        node_name=_node_name(p["config"]),
        installed_version=p["version"],
    )


if __name__ == "__main__":
    main()
