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
"""

import base64
import json
import os
import re
import shutil
import ssl
import subprocess
import tempfile
import time
import urllib.error

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url

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


def _kubeconfig_tls(path: str, workdir: str) -> dict | None:
    """The kubeconfig's CA and admin client certificate (inline *-data fields) as 0600 files in workdir."""
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except FileNotFoundError:
        return None
    fields = dict(
        re.findall(r"^\s*(certificate-authority-data|client-certificate-data|client-key-data):\s*(\S+)", text, re.M)
    )
    if len(fields) != 3:
        return None
    files = {}
    for key, value in fields.items():
        files[key] = os.path.join(workdir, key)
        with open(os.open(files[key], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
            out.write(base64.b64decode(value))
    return {
        "ca_path": files["certificate-authority-data"],
        "client_cert": files["client-certificate-data"],
        "client_key": files["client-key-data"],
    }


def _ready_nodes(tls: dict) -> set[str]:
    status, body = _get("https://127.0.0.1:6443/api/v1/nodes", tls)
    if status != 200:
        return set()
    ready = set()
    for item in json.loads(body).get("items", []):
        for condition in item.get("status", {}).get("conditions", []):
            if condition.get("type") == "Ready" and condition.get("status") == "True":
                ready.add(item["metadata"]["name"])
    return ready


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
                tls = _kubeconfig_tls(p["kubeconfig"], workdir)
                wanted = set(p["nodes"] or [name])
                ready = _ready_nodes(tls) if ping == (200, "pong") and tls else set()
                if wanted <= ready:
                    module.exit_json(changed=False, ready=sorted(wanted), waited_s=round(time.monotonic() - started, 1))
                waiting = (
                    "the supervisor to answer /ping" if ping != (200, "pong")
                    else f"nodes Ready: {', '.join(sorted(wanted - ready))}"
                )  # fmt: skip
            time.sleep(2)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    module.fail_json(msg=f"{name}: still waiting after {p['timeout']} s for {waiting}; the rollout stops here")


if __name__ == "__main__":
    main()
