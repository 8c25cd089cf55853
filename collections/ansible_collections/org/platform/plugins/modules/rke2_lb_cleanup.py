#!/usr/bin/python
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The graceful phase of a teardown, on an RKE2 server in one round trip: let the controllers delete their LBs."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: rke2_lb_cleanup
short_description: Delete the cluster's LoadBalancer Services and Ingresses and wait until their LBs are gone
description:
  - Runs on an RKE2 server (as root) against its Kubernetes API with the admin client certificate of the local
    kubeconfig, so it needs no kubectl and costs one SSM round trip, the wait included.
  - Deletes every Ingress (C(networking.k8s.io/v1); the load balancer controller then deletes its ALB) and every
    Service of type C(LoadBalancer) (the cloud provider then deletes its ELB or NLB), then polls until none is
    left. A Service stays listed until its C(service.kubernetes.io/load-balancer-cleanup) finalizer is removed,
    that is until its load balancer was deleted, so an empty list means the controllers are done.
  - An API that serves no Ingress kind (HTTP 404 on the group) has none to delete.
  - Fails, naming what is left, when O(timeout) passes or the API does not answer; the teardown's AWS path then
    removes what is left.
version_added: 0.4.0
author: Platform team (@org-platform)
attributes:
  check_mode:
    support: full
    details: Lists what it would delete and deletes nothing.
    description: Changes nothing in check mode.
  diff_mode:
    support: none
    description: No diff.
options:
  timeout:
    description: Seconds for the whole phase, the deletions and the wait (at least 1).
    type: int
    default: 300
  poll_interval:
    description: Seconds between two listings while waiting.
    type: float
    default: 5
  kubeconfig:
    description: The server's admin kubeconfig.
    type: path
    default: /etc/rancher/rke2/rke2.yaml
  api_url:
    description: The Kubernetes API (the server's own by default).
    type: str
    default: https://127.0.0.1:6443
"""

EXAMPLES = r"""
- name: Let the controllers delete their load balancers
  org.platform.rke2_lb_cleanup:
    timeout: 170
  become: true
"""

RETURN = r"""
deleted:
  description: The Ingresses and LoadBalancer Services deleted (or that would be, in check mode), as kind/namespace/name.
  returned: always
  type: list
  elements: str
  sample: [Ingress/shop/web, Service/shop/web-nlb]
waited_s:
  description: Seconds from the first deletion until none was left.
  returned: always
  type: float
  sample: 42.5
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.org.platform.plugins.module_utils.rke2_api import admin_tls, request

INGRESSES = "/apis/networking.k8s.io/v1/ingresses"
# Where each kind lives: its list over all namespaces, the prefix of a namespace's objects, its plural.
KINDS = {
    "Ingress": {"all": INGRESSES, "namespaces": "/apis/networking.k8s.io/v1/namespaces", "plural": "ingresses"},
    "Service": {"all": "/api/v1/services", "namespaces": "/api/v1/namespaces", "plural": "services"},
}


def _request_timeout(deadline: float) -> float:
    """One API request: at most 10 s, within what is left of the deadline (at least 1 s)."""
    return max(1.0, min(10.0, deadline - time.monotonic()))


def _listing(module, tls: dict, api: str, deadline: float) -> list[tuple[str, str, str]]:
    """(kind, namespace, name) of every Ingress and LoadBalancer Service."""
    found = []
    for kind, where in KINDS.items():
        path, plural = where["all"], where["plural"]
        status, body = request("GET", path, tls, api=api, timeout=_request_timeout(deadline))
        if kind == "Ingress" and status == 404:
            continue  # this API serves no Ingress kind
        if status != 200 or not isinstance(body, dict):
            module.fail_json(msg=f"listing {plural} failed ({status or 'no answer'}): {str(body)[:300]}", deleted=[])
        for item in body.get("items", []):
            if kind == "Service" and item.get("spec", {}).get("type") != "LoadBalancer":
                continue
            meta = item["metadata"]
            found.append((kind, meta["namespace"], meta["name"]))
    return found


def main():
    module = AnsibleModule(
        argument_spec={
            "timeout": {"type": "int", "default": 300},
            "poll_interval": {"type": "float", "default": 5},
            "kubeconfig": {"type": "path", "default": "/etc/rancher/rke2/rke2.yaml"},
            "api_url": {"type": "str", "default": "https://127.0.0.1:6443"},
        },
        supports_check_mode=True,
    )
    p = module.params
    if p["timeout"] < 1:
        module.fail_json(msg=f"timeout must be at least 1 second, not {p['timeout']}", deleted=[])
    deadline = time.monotonic() + p["timeout"]
    with admin_tls(p["kubeconfig"]) as tls:
        if tls is None:
            module.fail_json(msg=f"{p['kubeconfig']} is missing or holds no admin certificate", deleted=[])
        api = p["api_url"].rstrip("/")
        found = _listing(module, tls, api, deadline)
        deleted = [f"{kind}/{namespace}/{name}" for kind, namespace, name in found]
        if module.check_mode or not found:
            module.exit_json(changed=bool(found), deleted=deleted, waited_s=0.0)
        started = time.monotonic()
        for kind, namespace, name in found:
            path = f"{KINDS[kind]['namespaces']}/{namespace}/{KINDS[kind]['plural']}/{name}"
            status, body = request("DELETE", path, tls, api=api, timeout=_request_timeout(deadline))
            if status not in (200, 202, 404):
                module.fail_json(
                    msg=f"deleting {kind} {namespace}/{name} failed ({status}): {str(body)[:300]}", deleted=deleted
                )
        left = found
        while left:
            if time.monotonic() + p["poll_interval"] > deadline:
                names = ", ".join(f"{kind}/{namespace}/{name}" for kind, namespace, name in left)
                module.fail_json(msg=f"still there after {p['timeout']} s: {names}", deleted=deleted)
            time.sleep(p["poll_interval"])
            left = _listing(module, tls, api, deadline)
        module.exit_json(changed=True, deleted=deleted, waited_s=round(time.monotonic() - started, 1))


if __name__ == "__main__":
    main()
