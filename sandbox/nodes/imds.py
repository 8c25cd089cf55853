"""Instance-metadata stand-in with the IMDSv2 token flow, served on the VPC endpoint address.

Nodes are configured with ``AWS_EC2_METADATA_SERVICE_ENDPOINT=http://<endpoint>:8775/`` (the address
169.254.169.254 is never used: on this machine it may belong to the machine itself). As on EC2:

* ``PUT /latest/api/token`` with ``X-aws-ec2-metadata-token-ttl-seconds`` (1..21600) returns a token;
* every ``GET`` needs a valid ``X-aws-ec2-metadata-token`` (IMDSv2 only, like the golden AMI's
  ``ImdsSupport v2.0``), else ``401``; a token works only from the address it was issued to;
* the caller is identified by its source address (the instance's private IP in the VPC).

Paths: ``meta-data/instance-id``, ``local-ipv4``, ``hostname``, ``placement/region``,
``placement/availability-zone``, ``iam/security-credentials/`` (the instance profile's role) and
``iam/security-credentials/<role>`` (temporary credentials from the emulator's STS, session name = the
instance id), ``dynamic/instance-identity/document``.
"""

from __future__ import annotations

import json
import secrets
import socket
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MAX_TTL_S = 21600


class MetadataServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(
        self,
        listener: socket.socket,
        lookup: Callable[[str], dict[str, Any] | None],
        credentials: Callable[[dict[str, Any]], dict[str, Any] | None],
    ):
        super().__init__(listener.getsockname(), _Handler, bind_and_activate=False)
        self.socket.close()
        self.socket = listener
        self.lookup = lookup
        self.credentials = credentials
        self.tokens: dict[str, tuple[str, float]] = {}
        self.lock = threading.Lock()

    def issue(self, client_ip: str, ttl: int) -> str:
        token = secrets.token_urlsafe(32)
        with self.lock:
            now = time.monotonic()
            self.tokens = {t: v for t, v in self.tokens.items() if v[1] > now}
            self.tokens[token] = (client_ip, now + ttl)
        return token

    def valid(self, client_ip: str, token: str | None) -> bool:
        with self.lock:
            entry = self.tokens.get(token or "")
        return bool(entry) and entry[0] == client_ip and entry[1] > time.monotonic()

    def start(self) -> MetadataServer:
        threading.Thread(target=self.serve_forever, name="imds", daemon=True).start()
        return self


class _Handler(BaseHTTPRequestHandler):
    server: MetadataServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        return

    def _send(self, status: int, body: str, content_type: str = "text/plain") -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_PUT(self) -> None:
        if self.path.rstrip("/") != "/latest/api/token":
            return self._send(404, "Not Found")
        raw = self.headers.get("X-aws-ec2-metadata-token-ttl-seconds", "")
        if not raw.isdigit() or not 1 <= int(raw) <= MAX_TTL_S:
            return self._send(400, "Bad Request: X-aws-ec2-metadata-token-ttl-seconds must be 1..21600")
        return self._send(200, self.server.issue(self.client_address[0], int(raw)))

    def do_GET(self) -> None:
        client_ip = self.client_address[0]
        if not self.server.valid(client_ip, self.headers.get("X-aws-ec2-metadata-token")):
            return self._send(401, "Unauthorized")
        instance = self.server.lookup(client_ip)
        if instance is None:
            return self._send(404, "Not Found")
        path = self.path.split("?")[0]
        for prefix in ("/latest/", "/2021-03-23/"):
            if path.startswith(prefix):
                path = path[len(prefix) :]
                break
        else:
            return self._send(404, "Not Found")
        answer = self._answer(path.rstrip("/") if path != "meta-data/iam/security-credentials/" else path, instance)
        if answer is None:
            return self._send(404, "Not Found")
        if isinstance(answer, dict):
            return self._send(200, json.dumps(answer, indent=2), "application/json")
        return self._send(200, answer)

    def _answer(self, path: str, instance: dict[str, Any]) -> str | dict | None:
        role = instance.get("role")
        simple = {
            "meta-data/instance-id": instance["instance_id"],
            "meta-data/local-ipv4": instance["private_ip"],
            "meta-data/hostname": instance["hostname"],
            "meta-data/local-hostname": instance["hostname"],
            "meta-data/ami-id": instance["image_id"],
            "meta-data/instance-type": instance["instance_type"],
            "meta-data/placement/region": instance["region"],
            "meta-data/placement/availability-zone": instance["availability_zone"],
        }
        if path in simple:
            return simple[path]
        if path == "meta-data":
            return "\n".join(sorted({p.split("/")[1] for p in simple} | ({"iam"} if role else set())))
        if path == "dynamic/instance-identity/document":
            return {
                "instanceId": instance["instance_id"],
                "imageId": instance["image_id"],
                "instanceType": instance["instance_type"],
                "privateIp": instance["private_ip"],
                "region": instance["region"],
                "availabilityZone": instance["availability_zone"],
                "accountId": instance["account_id"],
            }
        if not role:
            return None
        if path in ("meta-data/iam/security-credentials/", "meta-data/iam/security-credentials"):
            return role
        if path == f"meta-data/iam/security-credentials/{role}":
            return self.server.credentials(instance)
        return None
