#!/usr/bin/python
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Bounded readiness wait of an RKE2 node, polled on the node itself (one SSM round trip)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rke2_wait
short_description: Wait, bounded and on the node, until RKE2 answers and nodes are Ready
description:
  - Polls locally, so the wait costs one round trip whatever its length; the deadline O(timeout) must be
    shorter than the connection's command timeout (the role takes C(ansible_aws_ssm_timeout) minus a margin).
  - On a server, waits for the supervisor (C(https://127.0.0.1:9345/ping) answering C(pong), verified against
    the cluster CA), then for every node of O(nodes) (default the node itself) to be C(Ready) in the
    Kubernetes API (C(https://127.0.0.1:6443), with the admin client certificate of the local kubeconfig).
  - On an agent, waits until the unit is active (it is once the agent has joined) and fails at once, saying
    so, when the server refused the token since the unit last started.
  - Changes nothing. Fails naming the node and what it was still waiting for.
version_added: 0.3.0
author: Platform team (@org-platform)
attributes:
  check_mode:
    support: partial
    details: Returns at once without waiting (nothing to change either way).
    description: Does not wait in check mode.
  diff_mode:
    support: none
    description: No diff; the token file is never shown.
options:
  type:
    description: The node's kind.
    type: str
    choices: [server, agent]
    required: true
  node_name:
    description: This node's name in the cluster.
    type: str
    required: true
  nodes:
    description: On a server, the nodes that must be C(Ready) (default O(node_name)).
    type: list
    elements: str
    default: []
  version:
    description:
      - On a server, the release the O(nodes) must report (C(status.nodeInfo.kubeletVersion)), so that after an
        upgrade the wait ends only once the restarted node runs it; empty accepts any.
    type: str
    default: ""
  timeout:
    description: Seconds until the wait fails (at least 1).
    type: int
    default: 240
  data_dir:
    description: RKE2's data directory.
    type: path
    default: /var/lib/rancher/rke2
  kubeconfig:
    description: The server's admin kubeconfig.
    type: path
    default: /etc/rancher/rke2/rke2.yaml
"""

EXAMPLES = r"""
- name: Wait for the first server
  org.platform.rke2_wait:
    type: server
    node_name: "{{ __rke2_node.node_name }}"
    timeout: 240
  become: true
"""

RETURN = r"""
waited_s:
  description: Seconds the wait took.
  returned: success
  type: float
  sample: 3.2
ready:
  description: The nodes seen Ready (servers), or the agent's own name.
  returned: success
  type: list
  elements: str
  sample: [ip-10-61-10-4, ip-10-61-10-5]
nodes:
  description:
    - On a server, every node of the cluster as the API lists it (the role uses the versions to see which
      nodes an upgrade will restart, so that it drains only those).
  returned: success, on a server
  type: list
  elements: dict
  sample: [{name: ip-10-61-10-4, internal_ip: 10.61.10.4, version: v1.33.5+rke2r1, ready: true, unschedulable: false}]
"""

import os
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.error

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.org.platform.plugins.module_utils.rke2_api import kubeconfig_tls, node_summary, request

REFUSED = ("401 Unauthorized", "token is not valid", "different token", "token CA hash does not match")


def _run(argv):
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=30)


def _get(url: str, tls: dict) -> tuple[int, str]:
    """GET over verified TLS (tls: open_url's ca_path and, for the API, client_cert/client_key)."""
    try:
        with open_url(url, timeout=5, use_proxy=False, **tls) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, ""
    except (urllib.error.URLError, OSError, ssl.SSLError) as exc:
        return 0, str(getattr(exc, "reason", exc))


def _nodes(tls: dict) -> list[dict]:
    status, body = request("GET", "/api/v1/nodes", tls)
    return [node_summary(item) for item in body.get("items", [])] if status == 200 and isinstance(body, dict) else []


def _refusal(unit: str) -> str | None:
    shown = _run(["systemctl", "show", "-p", "ExecMainStartTimestamp", "--timestamp=unix", unit]).stdout
    since = shown.strip().partition("=")[2].strip()
    argv = ["journalctl", "-u", unit, "--no-pager", "-o", "cat", "-n", "50"]
    argv += ["--since", since] if since.startswith("@") else []
    for line in reversed(_run(argv).stdout.splitlines()):
        if "level=fatal" in line and any(mark in line for mark in REFUSED):
            return line.strip()[-300:]
    return None


def main():
    module = AnsibleModule(
        argument_spec={
            "type": {"type": "str", "choices": ["server", "agent"], "required": True},
            "node_name": {"type": "str", "required": True},
            "nodes": {"type": "list", "elements": "str", "default": []},
            "version": {"type": "str", "default": ""},
            "timeout": {"type": "int", "default": 240},
            "data_dir": {"type": "path", "default": "/var/lib/rancher/rke2"},
            "kubeconfig": {"type": "path", "default": "/etc/rancher/rke2/rke2.yaml"},
        },
        supports_check_mode=True,
    )
    p = module.params
    if p["timeout"] < 1:
        module.fail_json(msg=f"timeout must be at least 1 second, not {p['timeout']}")
    if module.check_mode:
        module.exit_json(changed=False, ready=[], waited_s=0.0, msg="check mode: not waited")
    started = time.monotonic()
    deadline = started + p["timeout"]
    unit = f"rke2-{p['type']}.service"
    name = p["node_name"]
    waiting = "the unit to be active"
    workdir = tempfile.mkdtemp(prefix="rke2-wait-")
    try:
        while time.monotonic() < deadline:
            state = _run(["systemctl", "is-active", unit]).stdout.strip()
            refused = _refusal(unit) if state != "active" else None
            if refused:
                module.fail_json(msg=f"{name}: the server refused this node's token: {refused}")
            if state != "active":
                waiting = f"{unit} to be active (it is {state})"
            elif p["type"] == "agent":
                module.exit_json(changed=False, ready=[name], waited_s=round(time.monotonic() - started, 1))
            else:
                ca = os.path.join(p["data_dir"], "server/tls/server-ca.crt")
                ping = _get("https://127.0.0.1:9345/ping", {"ca_path": ca}) if os.path.exists(ca) else (0, "")
                tls = kubeconfig_tls(p["kubeconfig"], workdir)
                wanted = set(p["nodes"] or [name])
                listed = _nodes(tls) if ping == (200, "pong") and tls else []
                ready = {n["name"] for n in listed if n["ready"] and p["version"] in ("", n["version"])}
                if wanted <= ready:
                    waited = round(time.monotonic() - started, 1)
                    module.exit_json(changed=False, ready=sorted(wanted), nodes=listed, waited_s=waited)
                waiting = (
                    "the supervisor to answer /ping" if ping != (200, "pong")
                    else f"nodes Ready{' on ' + p['version'] if p['version'] else ''}: {', '.join(sorted(wanted - ready))}"
                )  # fmt: skip
            time.sleep(2)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    module.fail_json(msg=f"{name}: still waiting after {p['timeout']} s for {waiting}; the rollout stops here")


if __name__ == "__main__":
    main()
