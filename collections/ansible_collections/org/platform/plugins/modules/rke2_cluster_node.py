#!/usr/bin/python
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Cordon, drain, uncordon or delete cluster nodes from an RKE2 server, in one round trip."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rke2_cluster_node
short_description: Cordon, drain, uncordon or remove RKE2 nodes through a server's local API
description:
  - Runs on an RKE2 server (as root) and talks to its Kubernetes API (C(https://127.0.0.1:6443)) with the
    admin client certificate of the local kubeconfig, so it needs no kubectl and costs one SSM round trip for
    all the O(nodes) whatever the wait.
  - C(drained) cordons each node (C(spec.unschedulable)), evicts its pods through the Eviction API (a
    PodDisruptionBudget that refuses is retried until O(timeout)), skipping DaemonSet pods, mirror pods and
    finished pods as C(kubectl drain --ignore-daemonsets) does, and waits until they are gone.
  - C(schedulable) uncordons; C(absent) deletes the Node objects (after the node was uninstalled).
  - With O(unless_version), nodes whose kubelet already runs that version are left alone, and so are nodes not
    in the cluster yet (on a server not installed yet, there is no cluster at all). So a server can drain
    itself before an upgrade without knowing its version first, and a fresh install drains nothing.
  - Fails naming the node and the pods still there when O(timeout) passes; nodes after it are not touched.
version_added: 0.4.0
author: Platform team (@org-platform)
attributes:
  check_mode:
    support: full
    details: Reads the nodes and pods and reports what it would do.
    description: Changes nothing in check mode.
  diff_mode:
    support: none
    description: No diff.
options:
  nodes:
    description: The nodes, each by its name or its InternalIP address (the inventory's C(private_ip_address)).
    type: list
    elements: str
    required: true
  state:
    description: What the nodes should be.
    type: str
    choices: [cordoned, drained, schedulable, absent]
    required: true
  unless_version:
    description: Skip nodes whose C(status.nodeInfo.kubeletVersion) is this (e.g. C(v1.33.5+rke2r1)).
    type: str
    default: ""
  ignore_missing:
    description: A node that is not in the cluster is nothing to do (always so for C(absent), C(schedulable) and with O(unless_version)).
    type: bool
    default: false
  timeout:
    description: Seconds the evictions may take in all (at least 1).
    type: int
    default: 180
  kubeconfig:
    description: The server's admin kubeconfig.
    type: path
    default: /etc/rancher/rke2/rke2.yaml
"""

EXAMPLES = r"""
- name: Drain an agent before its upgrade
  org.platform.rke2_cluster_node:
    nodes: [ip-10-61-20-7]
    state: drained
    unless_version: v1.33.6+rke2r1
  become: true
  delegate_to: "{{ groups['rke2_servers'][0] }}"
"""

RETURN = r"""
done:
  description: The nodes acted on, each with what was done.
  returned: always
  type: list
  elements: dict
  sample: [{name: ip-10-61-20-7, actions: [cordon, "evict kube-system/coredns-5d7f"]}]
"""

import time
import urllib.parse

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.org.platform.plugins.module_utils.rke2_api import admin_tls, node_summary, request

MERGE_PATCH = "application/merge-patch+json"


def _evictable(pod: dict) -> bool:
    meta = pod.get("metadata", {})
    if "kubernetes.io/config.mirror" in meta.get("annotations", {}):
        return False
    if any(owner.get("kind") == "DaemonSet" for owner in meta.get("ownerReferences", [])):
        return False
    return pod.get("status", {}).get("phase") not in ("Succeeded", "Failed")


def _pods_on(module, tls: dict, name: str) -> list[dict]:
    selector = urllib.parse.quote(f"spec.nodeName={name}")
    status, body = request("GET", f"/api/v1/pods?fieldSelector={selector}", tls)
    if status != 200:
        module.fail_json(msg=f"{name}: listing its pods failed (HTTP {status}): {str(body)[:300]}")
    return [pod for pod in body.get("items", []) if _evictable(pod)]


def _drain(module, tls: dict, name: str, deadline: float) -> list[str]:
    actions = []
    pods = _pods_on(module, tls, name)
    while pods:
        for pod in pods:
            meta = pod["metadata"]
            where = f"{meta['namespace']}/{meta['name']}"
            if module.check_mode:
                actions.append(f"evict {where}")
                continue
            eviction = {
                "apiVersion": "policy/v1",
                "kind": "Eviction",
                "metadata": {"name": meta["name"], "namespace": meta["namespace"]},
            }
            path = f"/api/v1/namespaces/{meta['namespace']}/pods/{meta['name']}/eviction"
            status, body = request("POST", path, tls, eviction)
            if status not in (200, 201, 404, 429):  # 404: gone already; 429: a disruption budget says not yet
                module.fail_json(msg=f"{name}: evicting {where} failed (HTTP {status}): {str(body)[:300]}")
            if status in (200, 201) and f"evict {where}" not in actions:
                actions.append(f"evict {where}")
        if module.check_mode:
            return actions
        if time.monotonic() > deadline:
            left = ", ".join(f"{p['metadata']['namespace']}/{p['metadata']['name']}" for p in pods)
            module.fail_json(msg=f"{name}: pods still on the node after the drain timeout: {left}; stopped here")
        time.sleep(2)
        pods = _pods_on(module, tls, name)
    return actions


def main():
    module = AnsibleModule(
        argument_spec={
            "nodes": {"type": "list", "elements": "str", "required": True},
            "state": {"type": "str", "choices": ["cordoned", "drained", "schedulable", "absent"], "required": True},
            "unless_version": {"type": "str", "default": ""},
            "ignore_missing": {"type": "bool", "default": False},
            "timeout": {"type": "int", "default": 180},
            "kubeconfig": {"type": "path", "default": "/etc/rancher/rke2/rke2.yaml"},
        },
        supports_check_mode=True,
    )
    p = module.params
    if p["timeout"] < 1:
        module.fail_json(msg=f"timeout must be at least 1 second, not {p['timeout']}")
    deadline = time.monotonic() + p["timeout"]
    done = []
    with admin_tls(p["kubeconfig"]) as tls:
        if tls is None and p["unless_version"]:
            module.exit_json(changed=False, done=[], msg="no cluster on this server yet: nothing to drain")
        if tls is None:
            module.fail_json(msg=f"{p['kubeconfig']} is missing or holds no admin certificate: run this on a server")
        status, body = request("GET", "/api/v1/nodes", tls)
        if status != 200:
            module.fail_json(msg=f"listing the nodes failed (HTTP {status}): {str(body)[:300]}")
        known = {}
        for item in body.get("items", []):
            summary = node_summary(item)
            known[summary["name"]] = known[summary["internal_ip"]] = summary
        for wanted in p["nodes"]:
            node = known.get(wanted)
            if node is None:
                if p["state"] in ("absent", "schedulable") or p["unless_version"] or p["ignore_missing"]:
                    continue  # nothing to remove or uncordon; a node not in the cluster yet has nothing to drain
                module.fail_json(msg=f"{wanted}: no such node in the cluster; nothing was changed on it")
            name = node["name"]
            path = f"/api/v1/nodes/{urllib.parse.quote(name)}"
            if p["unless_version"] and node["version"] == p["unless_version"]:
                continue
            actions = []
            if p["state"] == "absent":
                actions.append("delete")
                if not module.check_mode:
                    status, body = request("DELETE", path, tls)
                    if status not in (200, 202, 404):
                        module.fail_json(msg=f"{name}: deleting the node failed (HTTP {status}): {str(body)[:300]}")
            else:
                cordon = p["state"] != "schedulable"
                if node["unschedulable"] != cordon:
                    actions.append("cordon" if cordon else "uncordon")
                    if not module.check_mode:
                        status, body = request("PATCH", path, tls, {"spec": {"unschedulable": cordon}}, MERGE_PATCH)
                        if status != 200:
                            module.fail_json(msg=f"{name}: {actions[-1]} failed (HTTP {status}): {str(body)[:300]}")
                if p["state"] == "drained":
                    actions += _drain(module, tls, name, deadline)
            if actions:
                done.append({"name": name, "actions": actions})
    module.exit_json(changed=bool(done), done=done)


if __name__ == "__main__":
    main()
