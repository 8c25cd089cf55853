# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""org.platform.rke2_lb_cleanup (the teardown's graceful phase) against a small Kubernetes API on loopback.

The sandbox's RKE2 stand-in has no LoadBalancer Service, so the deleting path is tested here: an HTTPS API
(verified TLS, a throwaway CA) that lists an Ingress, a LoadBalancer Service and a ClusterIP Service, and keeps
a deleted object listed for a few polls, as the load-balancer-cleanup finalizer keeps a Service until its
controller has deleted the load balancer. The module runs as Ansible runs it (``ansible localhost -m``).
"""

from __future__ import annotations

import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from sandbox.pytest_plugin import throwaway_kubeconfig

REPO_ROOT = Path(__file__).resolve().parents[2]
ANSIBLE = str(Path(sys.executable).parent / "ansible")


class FakeApi(http.server.ThreadingHTTPServer):
    """Objects by path; a DELETE marks one, and it stays listed for `linger` more listings (or forever)."""

    def __init__(self, linger: int | None):
        self.linger = linger
        self.objects = {
            "/apis/networking.k8s.io/v1/namespaces/shop/ingresses/web": {"kind": "Ingress"},
            "/api/v1/namespaces/shop/services/web-nlb": {"kind": "Service", "spec": {"type": "LoadBalancer"}},
            "/api/v1/namespaces/default/services/kubernetes": {"kind": "Service", "spec": {"type": "ClusterIP"}},
        }
        self.deleting: dict[str, int] = {}
        self.calls: list[str] = []
        super().__init__(("127.0.0.1", 0), Handler)


class Handler(http.server.BaseHTTPRequestHandler):
    server: FakeApi

    def log_message(self, format, *args):
        pass

    def _send(self, status: int, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        api = self.server
        api.calls.append(f"GET {self.path}")
        prefix = {"/apis/networking.k8s.io/v1/ingresses": "/apis/networking.k8s.io/v1/",
                  "/api/v1/services": "/api/v1/"}.get(self.path)  # fmt: skip
        if prefix is None:
            return self._send(404, {"kind": "Status", "code": 404})
        items = []
        for path, obj in list(api.objects.items()):
            if not path.startswith(prefix) or path.rsplit("/", 2)[1] != self.path.rsplit("/", 1)[1]:
                continue
            if path in api.deleting and api.linger is not None:
                api.deleting[path] -= 1
                if api.deleting[path] < 0:
                    del api.objects[path]
                    continue
            namespace, name = path.split("/")[-3], path.split("/")[-1]
            items.append(obj | {"metadata": {"namespace": namespace, "name": name}})
        return self._send(200, {"items": items})

    def do_DELETE(self):
        api = self.server
        api.calls.append(f"DELETE {self.path}")
        if self.path not in api.objects:
            return self._send(404, {"kind": "Status", "code": 404})
        api.deleting.setdefault(self.path, api.linger or 0)
        return self._send(200, {"kind": "Status", "status": "Success"})


@pytest.fixture
def pki(tmp_path):
    return throwaway_kubeconfig(tmp_path, "https://127.0.0.1:6443")


def _serve(pki, linger):
    cert, key, _ = pki
    api = FakeApi(linger)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    api.socket = context.wrap_socket(api.socket, server_side=True)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    return api


def _module(api, kubeconfig: Path, *args: str, check: bool = False) -> tuple[int, dict]:
    argv = [ANSIBLE, "localhost", *(["--check"] if check else []), "-o", "-m", "org.platform.rke2_lb_cleanup", "-a",
            " ".join([f"api_url=https://127.0.0.1:{api.server_address[1]}", f"kubeconfig={kubeconfig}",
                      "poll_interval=0.2", *args])]  # fmt: skip
    env = {**os.environ, "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"), "ANSIBLE_LOAD_CALLBACK_PLUGINS": "0"}
    done = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120, check=False)
    result = json.loads(done.stdout.split("=>", 1)[1]) if "=>" in done.stdout else {"stdout": done.stdout}
    return done.returncode, result


def test_it_deletes_the_ingress_and_the_lb_service_and_waits_until_they_are_gone(pki):
    api = _serve(pki, linger=2)
    try:
        rc, result = _module(api, pki[2], "timeout=30")
    finally:
        api.shutdown()
    assert rc == 0, result
    assert result["changed"] is True
    assert result["deleted"] == ["Ingress/shop/web", "Service/shop/web-nlb"]
    assert "DELETE /apis/networking.k8s.io/v1/namespaces/shop/ingresses/web" in api.calls
    assert "DELETE /api/v1/namespaces/shop/services/web-nlb" in api.calls
    assert not any("kubernetes" in call for call in api.calls if call.startswith("DELETE"))  # ClusterIP kept
    assert sum(call == "GET /api/v1/services" for call in api.calls) >= 3  # it waited for the finalizers
    assert list(api.objects) == ["/api/v1/namespaces/default/services/kubernetes"]


def test_check_mode_deletes_nothing(pki):
    api = _serve(pki, linger=0)
    try:
        rc, result = _module(api, pki[2], "timeout=30", check=True)
    finally:
        api.shutdown()
    assert rc == 0, result
    assert result["deleted"] == ["Ingress/shop/web", "Service/shop/web-nlb"]
    assert not [call for call in api.calls if call.startswith("DELETE")]


def test_a_load_balancer_that_never_goes_fails_naming_it_at_the_deadline(pki):
    api = _serve(pki, linger=None)  # the controller never removes the finalizer
    try:
        rc, result = _module(api, pki[2], "timeout=3")
    finally:
        api.shutdown()
    assert rc != 0, result
    assert "still there after 3 s: Ingress/shop/web, Service/shop/web-nlb" in result["msg"], result
