# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Server-side helpers of the RKE2 modules: the local Kubernetes API with the admin kubeconfig's certificate.

Runs on an RKE2 server (as root), where ``/etc/rancher/rke2/rke2.yaml`` holds the cluster CA and the admin
client certificate inline (``*-data`` fields). The API is reached at ``https://127.0.0.1:6443`` with verified
TLS; the key material is written to 0600 files in a private directory the caller removes. No kubectl, no
client library: the golden image has Python 3 only, and the few calls (nodes, pods, evictions) are plain REST
(https://kubernetes.io/docs/reference/kubernetes-api/).
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import re
import shutil
import ssl
import tempfile
import urllib.error
from collections.abc import Iterator

from ansible.module_utils.urls import open_url

API = "https://127.0.0.1:6443"
KUBECONFIG = "/etc/rancher/rke2/rke2.yaml"


def kubeconfig_tls(path: str, workdir: str) -> dict | None:
    """The kubeconfig's CA and admin client certificate as 0600 files in workdir (open_url's arguments)."""
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


@contextlib.contextmanager
def admin_tls(path: str) -> Iterator[dict | None]:
    """kubeconfig_tls in a private directory that is removed afterwards (None: no admin kubeconfig at path)."""
    workdir = tempfile.mkdtemp(prefix="rke2-api-")
    try:
        yield kubeconfig_tls(path, workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def request(
    method: str,
    path: str,
    tls: dict,
    body: dict | None = None,
    content_type: str = "application/json",
    api: str = API,
    timeout: float = 10,
):
    """(status, decoded JSON or text); status 0 with the reason when the API does not answer in time."""
    data = json.dumps(body).encode() if body is not None else None
    headers = {"Accept": "application/json"} | ({"Content-Type": content_type} if data is not None else {})
    try:
        with open_url(
            api + path, data=data, method=method, headers=headers, timeout=timeout, use_proxy=False, **tls
        ) as answer:
            raw = answer.read().decode()
            status = answer.status
    except urllib.error.HTTPError as exc:
        raw, status = exc.read().decode(errors="replace"), exc.code
    except (urllib.error.URLError, OSError, ssl.SSLError, TimeoutError) as exc:
        return 0, str(getattr(exc, "reason", exc))
    try:
        return status, json.loads(raw) if raw[:1] in "[{" else raw
    except ValueError:
        return status, raw


def node_summary(item: dict) -> dict:
    """What the role needs of a Node object: name, InternalIP, kubelet version, Ready, cordoned."""
    status = item.get("status", {})
    addresses = {a.get("type"): a.get("address") for a in status.get("addresses", [])}
    ready = any(c.get("type") == "Ready" and c.get("status") == "True" for c in status.get("conditions", []))
    return {
        "name": item["metadata"]["name"],
        "internal_ip": addresses.get("InternalIP", ""),
        "version": status.get("nodeInfo", {}).get("kubeletVersion", ""),
        "ready": ready,
        "unschedulable": bool(item.get("spec", {}).get("unschedulable", False)),
    }
