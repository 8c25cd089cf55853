#!/usr/bin/env python3
# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""SIMULATED ``rke2``: the stand-in shipped as ``bin/rke2`` in the sandbox's release-shaped tarball.

Python 3 standard library plus the ``openssl`` command. It implements the observable contract that the
roles rely on and nothing more; the contract is written down once, in ``sandbox/rke2/README.md``. In short:
``rke2 server`` / ``rke2 agent`` read ``/etc/rancher/rke2/config.yaml`` (+ ``config.yaml.d/*.yaml``) and the
token file, refuse unknown keys and wrong tokens, write the token files and the kubeconfig, serve the
supervisor (``:9345``) and a small Kubernetes API (``:6443``) with real TLS from their own CAs and
client-certificate authentication, register nodes (Ready while they heartbeat) and tell systemd they are
ready (``Type=notify``). No containers, kubelet or etcd run: every start says so in a ``SIMULATED:`` line.
"""

from __future__ import annotations

import base64
import calendar
import contextlib
import hashlib
import hmac
import http.server
import json
import os
import re
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

VERSION = "@RKE2_VERSION@"  # the builder writes the release version here
ARCH = "@RKE2_ARCH@"
DEFAULT_CONFIG = "/etc/rancher/rke2/config.yaml"
DEFAULT_DATA_DIR = "/var/lib/rancher/rke2"
DEFAULT_KUBECONFIG = "/etc/rancher/rke2/rke2.yaml"
HEARTBEAT_S = 10.0
GRACE_S = 40.0  # kube-controller-manager's node-monitor-grace-period: Ready becomes Unknown after it
STARTED = time.time()

# Real RKE2 options (rke2-docs docs/reference/server_config.md and agent_config.md) the stand-in accepts in a
# config file. It acts on the ones in ACTED_ON; the others are accepted and only logged, as SIMULATED.
AGENT_KEYS = frozenset(
    [
        "token",
        "token-file",
        "server",
        "data-dir",
        "node-name",
        "with-node-id",
        "node-label",
        "node-taint",
        "node-ip",
        "node-external-ip",
        "image-credential-provider-bin-dir",
        "image-credential-provider-config",
        "resolv-conf",
        "kubelet-arg",
        "kube-proxy-arg",
        "protect-kernel-defaults",
        "selinux",
        "lb-server-port",
        "profile",
        "cloud-provider-name",
        "cloud-provider-config",
        "node-name-from-cloud-provider-metadata",
        "system-default-registry",
        "private-registry",
        "debug",
        "snapshotter",
        "container-runtime-endpoint",
        "kubelet-path",
        "pause-image",
        "runtime-image",
        "disable-default-registry-endpoint",
        "enable-pprof",
        "airgap-extra-registry",
    ]
)
SERVER_KEYS = AGENT_KEYS | frozenset(
    [
        "agent-token",
        "agent-token-file",
        "bind-address",
        "advertise-address",
        "tls-san",
        "tls-san-security",
        "cluster-cidr",
        "service-cidr",
        "service-node-port-range",
        "cluster-dns",
        "cluster-domain",
        "egress-selector-mode",
        "servicelb-namespace",
        "write-kubeconfig",
        "write-kubeconfig-mode",
        "write-kubeconfig-group",
        "helm-job-image",
        "cni",
        "enable-servicelb",
        "ingress-controller",
        "kube-apiserver-arg",
        "kube-scheduler-arg",
        "kube-controller-manager-arg",
        "kube-cloud-controller-manager-arg",
        "etcd-arg",
        "etcd-expose-metrics",
        "etcd-disable-snapshots",
        "etcd-snapshot-name",
        "etcd-snapshot-schedule-cron",
        "etcd-snapshot-retention",
        "etcd-snapshot-dir",
        "etcd-snapshot-compress",
        "etcd-s3",
        "disable",
        "disable-scheduler",
        "disable-cloud-controller",
        "disable-kube-proxy",
        "disable-apiserver",
        "disable-controller-manager",
        "disable-etcd",
        "cluster-reset",
        "cluster-reset-restore-path",
        "secrets-encryption",
        "secrets-encryption-provider",
        "audit-policy-file",
        "pod-security-admission-config-file",
        "control-plane-resource-requests",
        "control-plane-resource-limits",
        "embedded-registry",
        "supervisor-metrics",
        "kube-apiserver-image",
        "kube-controller-manager-image",
        "kube-scheduler-image",
        "etcd-image",
        "kube-proxy-image",
        "cloud-controller-manager-image",
    ]
)
LIST_KEYS = frozenset(
    [
        "tls-san",
        "node-label",
        "node-taint",
        "node-ip",
        "node-external-ip",
        "kubelet-arg",
        "kube-proxy-arg",
        "kube-apiserver-arg",
        "kube-scheduler-arg",
        "kube-controller-manager-arg",
        "kube-cloud-controller-manager-arg",
        "etcd-arg",
        "disable",
        "cni",
        "ingress-controller",
        "cluster-cidr",
        "service-cidr",
        "cluster-dns",
        "control-plane-resource-requests",
        "control-plane-resource-limits",
    ]
)
BOOL_KEYS = frozenset(
    [
        "tls-san-security",
        "with-node-id",
        "protect-kernel-defaults",
        "selinux",
        "node-name-from-cloud-provider-metadata",
        "debug",
        "enable-servicelb",
        "etcd-expose-metrics",
        "etcd-disable-snapshots",
        "etcd-snapshot-compress",
        "etcd-s3",
        "disable-scheduler",
        "disable-cloud-controller",
        "disable-kube-proxy",
        "disable-apiserver",
        "disable-controller-manager",
        "disable-etcd",
        "cluster-reset",
        "secrets-encryption",
        "embedded-registry",
        "supervisor-metrics",
        "disable-default-registry-endpoint",
        "enable-pprof",
    ]
)
ACTED_ON = frozenset(
    [
        "token",
        "token-file",
        "agent-token",
        "agent-token-file",
        "server",
        "data-dir",
        "node-name",
        "node-label",
        "node-taint",
        "node-ip",
        "bind-address",
        "advertise-address",
        "tls-san",
        "write-kubeconfig",
        "write-kubeconfig-mode",
        "cni",
        "ingress-controller",
        "profile",
        "cloud-provider-name",
        "disable-cloud-controller",
        "node-name-from-cloud-provider-metadata",
        "system-default-registry",
        "private-registry",
        "debug",
        "tls-san-security",
    ]
)
CNIS = ("canal", "cilium", "calico", "flannel", "multus", "none")
INGRESS = ("none", "traefik", "ingress-nginx")
CIS_SYSCTLS = {"vm.panic_on_oom": "0", "vm.overcommit_memory": "1", "kernel.panic": "10", "kernel.panic_on_oops": "1"}


class Fatal(Exception):
    """The stand-in stops, as rke2 does, with ``level=fatal`` in the journal and exit status 1."""


def log(level: str, message: str) -> None:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    sys.stderr.write(f'time="{stamp}" level={level} msg={json.dumps(message)}\n')
    sys.stderr.flush()


# -- config --------------------------------------------------------------------------------------------
def _strip_comment(line: str) -> str:
    quote = None
    for index, char in enumerate(line):
        if quote:
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "#" and (index == 0 or line[index - 1] in " \t"):
            return line[:index].rstrip()
    return line.rstrip()


def _scalar(text: str, where: str) -> Any:
    text = text.strip()
    if text.startswith('"'):
        try:
            return json.loads(text)
        except ValueError:
            raise Fatal(f"{where}: bad double-quoted string {text}") from None
    if text.startswith("'"):
        if len(text) < 2 or not text.endswith("'"):
            raise Fatal(f"{where}: bad single-quoted string {text}")
        return text[1:-1].replace("''", "'")
    if text in ("true", "True", "TRUE"):
        return True
    if text in ("false", "False", "FALSE"):
        return False
    if text in ("", "~", "null", "Null", "NULL"):
        return None
    if text[0] in "{&*!|>%@`":
        raise Fatal(f"{where}: unsupported YAML value {text!r} (the stand-in reads scalars and lists only)")
    return text


def _flow_list(text: str, where: str) -> list[Any]:
    inner = text.strip()[1:-1].strip()
    items, current, quote = [], "", None
    for char in inner:
        if quote:
            quote = None if char == quote else quote
        elif char in "\"'":
            quote = char
        elif char == ",":
            items.append(current)
            current = ""
            continue
        current += char
    if current.strip() or items:
        items.append(current)
    return [_scalar(item, where) for item in items]


def parse_yaml(text: str, source: str) -> dict[str, Any]:
    """The YAML subset of RKE2 config files: ``key: scalar``, ``key: [a, b]`` and block lists of scalars."""
    result: dict[str, Any] = {}
    open_list: str | None = None
    for number, raw in enumerate(text.splitlines(), 1):
        where = f"{source}:{number}"
        line = _strip_comment(raw)
        if not line.strip() or (line.strip() == "---" and not result):
            continue
        if line[0] in " \t-":
            item = line.strip()
            if open_list is None or not (item == "-" or item.startswith("- ")):
                raise Fatal(f"{where}: unexpected indentation (the stand-in reads a flat mapping)")
            result[open_list].append(_scalar(item[1:], where))
            continue
        match = re.fullmatch(r"""("[^"]+"|'[^']+'|[A-Za-z0-9][A-Za-z0-9_.+-]*)\s*:(?:\s+(.*))?""", line)
        if not match:
            raise Fatal(f"{where}: not a 'key: value' line: {line!r}")
        key, value = match.group(1).strip("\"'"), (match.group(2) or "").strip()
        if key in result:
            raise Fatal(f"{where}: duplicate key {key!r}")
        open_list = None
        if not value:
            result[key] = []
            open_list = key
        elif value.startswith("["):
            if not value.endswith("]"):
                raise Fatal(f"{where}: a flow list must close on its line: {value!r}")
            result[key] = _flow_list(value, where)
        else:
            result[key] = _scalar(value, where)
    return result


def load_config(path: Path, role: str) -> dict[str, Any]:
    """``config.yaml`` then ``config.yaml.d/*.yaml`` in name order; ``key+:`` in a drop-in appends."""
    allowed = SERVER_KEYS if role == "server" else AGENT_KEYS
    merged: dict[str, Any] = {}
    files = [path] if path.is_file() else []
    dropins = path.with_name(path.name + ".d")
    if dropins.is_dir():
        files += sorted(p for p in dropins.iterdir() if p.suffix in (".yaml", ".yml") and p.is_file())
    for file in files:
        for raw_key, value in parse_yaml(file.read_text(), str(file)).items():
            append = raw_key.endswith("+")
            key = raw_key.rstrip("+")
            if key not in allowed:
                other = " (a server option)" if key in SERVER_KEYS else ""
                raise Fatal(f"{file}: unknown key {key!r} for rke2 {role}{other}; see the stand-in's allow-list")
            value = _normalise(key, value, str(file))
            if append and key in merged and isinstance(merged[key], list):
                merged[key] = merged[key] + value
            else:
                merged[key] = value
    return merged


def _normalise(key: str, value: Any, where: str) -> Any:
    if value == [] or value is None:
        raise Fatal(f"{where}: {key!r} has no value")
    if key in LIST_KEYS:
        items = value if isinstance(value, list) else [value]
        out = []
        for item in items:
            if isinstance(item, (dict, list)) or item is None:
                raise Fatal(f"{where}: {key!r} takes strings")
            out += [part.strip() for part in str(item).split(",") if part.strip()]
        return out
    if isinstance(value, list):
        raise Fatal(f"{where}: {key!r} takes one value, not a list")
    if key in BOOL_KEYS:
        if isinstance(value, bool):
            return value
        if str(value).lower() in ("true", "false"):
            return str(value).lower() == "true"
        raise Fatal(f"{where}: {key!r} takes true or false, not {value!r}")
    return value if isinstance(value, str) else str(value).lower() if isinstance(value, bool) else str(value)


def version_minor(version: str | None = None) -> int:
    match = re.match(r"v1\.(\d+)\.", version or VERSION)
    return int(match.group(1)) if match else 0


def validate(config: dict[str, Any], role: str) -> None:
    """Value checks the real rke2 makes before it starts anything (the ones the roles can get wrong)."""
    if "token" in config and "token-file" in config:
        raise Fatal("both token and token-file are set; use one (the roles use token-file)")
    if role == "agent" and "server" not in config:
        raise Fatal("--server is required for rke2 agent (config key 'server')")
    if "server" in config and not re.fullmatch(r"https://[^/\s]+:\d+/?", config["server"]):
        raise Fatal(f"server {config['server']!r} is not https://<host>:<port>")
    for item in config.get("cni", []):
        if item not in CNIS:
            raise Fatal(f"invalid cni {item!r}: one of {', '.join(CNIS)}")
    if len(config.get("cni", [])) > 1 and config["cni"][0] != "multus":
        raise Fatal("only multus can be combined with another cni, and it must come first")
    ingress = config.get("ingress-controller", [])
    for item in ingress:
        if item not in INGRESS:
            raise Fatal(f"invalid ingress-controller {item!r}: one of {', '.join(INGRESS)}")
    if version_minor() >= 37 and ingress == ["ingress-nginx"]:
        raise Fatal(
            f"ingress-controller ingress-nginx alone is no longer supported in {VERSION}; use traefik,ingress-nginx to migrate"
        )
    if "profile" in config and config["profile"] not in ("cis", "etcd"):
        raise Fatal(f"invalid profile {config['profile']!r}: cis or etcd")
    mode = config.get("write-kubeconfig-mode")
    if mode is not None and not re.fullmatch(r"0?[0-7]{3}", mode):
        raise Fatal(f"write-kubeconfig-mode {mode!r} is not an octal file mode")
    provider = config.get("cloud-provider-name", "")
    if provider not in ("", "external", "aws", "rancher-vsphere", "harvester"):
        raise Fatal(f"unsupported cloud-provider-name {provider!r}")
    for taint in config.get("node-taint", []):
        if not re.fullmatch(r"[A-Za-z0-9./-]+(=[A-Za-z0-9._-]*)?:(NoSchedule|PreferNoSchedule|NoExecute)", taint):
            raise Fatal(f"invalid node-taint {taint!r} (key[=value]:Effect)")
    for label in config.get("node-label", []):
        if not re.fullmatch(r"[A-Za-z0-9./-]+=[A-Za-z0-9._-]*", label):
            raise Fatal(f"invalid node-label {label!r} (key=value)")


def check_cis(config: dict[str, Any]) -> None:
    if config.get("profile") != "cis":
        return
    users = Path(os.environ.get("RKE2_STANDIN_PASSWD", "/etc/passwd")).read_text()
    if not re.search(r"^etcd:", users, re.M):
        raise Fatal("missing required: user: unknown user etcd (profile cis needs an etcd system user in /etc/passwd)")
    wrong = []
    for key, wanted in CIS_SYSCTLS.items():
        with contextlib.suppress(OSError):
            if Path("/proc/sys", *key.split(".")).read_text().strip() != wanted:
                wrong.append(f"{key}={wanted}")
    if wrong:
        log(
            "warning",
            f"SIMULATED: profile cis would refuse kernel parameters other than {', '.join(wrong)}; not checked (a container cannot set them)",
        )


def read_token(config: dict[str, Any], key: str = "token") -> str | None:
    if config.get(key):
        return config[key].strip()
    path = config.get(f"{key}-file")
    if path is None:
        return None
    try:
        token = Path(path).read_text().strip()
    except OSError as exc:
        raise Fatal(f"cannot read {key}-file {path}: {exc.strerror}") from None
    if not token:
        raise Fatal(f"{key}-file {path} is empty")
    return token


def split_token(token: str) -> tuple[str | None, str]:
    """(CA hash or None, password) of a ``K10<hash>::<user>:<password>`` or short token."""
    if token.startswith("K10") and "::" in token:
        ca_hash, _, creds = token[3:].partition("::")
        return ca_hash, creds.split(":", 1)[1] if ":" in creds else creds
    return None, token


def has_default_route(table: str = "/proc/net/route") -> bool:
    with contextlib.suppress(OSError):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if len(fields) > 7 and fields[1] == "00000000" and fields[7] == "00000000":
                return True
    return False


def node_ip(config: dict[str, Any]) -> str:
    if config.get("node-ip"):
        return config["node-ip"][0]
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True, check=False
    )
    for line in out.stdout.splitlines():
        return line.split()[3].split("/")[0]
    raise Fatal("no IPv4 address to use as node-ip (set node-ip)")


def node_name(config: dict[str, Any]) -> str:
    name = config.get("node-name") or socket.gethostname().split(".")[0].lower()
    if config.get("with-node-id"):
        name += "-" + hashlib.sha256(name.encode()).hexdigest()[:8]
    return name


def readiness(config: dict[str, Any], data_dir: Path) -> tuple[bool, str, str]:
    """The node's own Ready condition: the images an airgapped node needs, iptables for the CNI."""
    cni = [c for c in config.get("cni", ["canal"]) if c != "multus"] or ["canal"]
    if not config.get("system-default-registry") and not config.get("private-registry"):
        images = data_dir / "agent" / "images"
        present = (
            {p.name.split(".linux-")[0] for p in images.glob("rke2-images*.linux-*.tar.*")}
            if images.is_dir()
            else set()
        )
        need = {"core": {"rke2-images", "rke2-images-core"}}
        for name in cni:
            if name != "none":
                need[name] = {"rke2-images-" + name} | ({"rke2-images"} if name == "canal" else set())
        missing = [what for what, names in need.items() if not names & present]
        if missing:
            return (
                False,
                "KubeletNotReady",
                f"SIMULATED: no image archive for {', '.join(missing)} in {images} (airgap: the pods cannot start)",
            )
    if cni != ["none"] and not shutil.which("iptables", path=os.environ.get("PATH", "") + ":/usr/sbin:/sbin"):
        return False, "KubeletNotReady", f"network plugin not ready: {cni[0]} needs iptables, which is not installed"
    return True, "KubeletReady", "kubelet is posting ready status (SIMULATED: no kubelet runs)"


# -- certificates (openssl CLI) ------------------------------------------------------------------------
def openssl(*argv: str) -> None:
    result = subprocess.run(["openssl", *argv], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise Fatal(f"openssl {argv[0]} failed: {result.stderr.strip()[-400:]}")


def make_ca(tls: Path, name: str) -> None:
    if (tls / f"{name}.crt").is_file() and (tls / f"{name}.key").is_file():
        return
    openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "3650",
        "-keyout", str(tls / f"{name}.key"), "-out", str(tls / f"{name}.crt"),
        "-subj", f"/CN=rke2-{name}@{int(time.time())}",
        "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    )  # fmt: skip


def make_leaf(tls: Path, ca: str, name: str, subject: str, usage: str, sans: list[str] | None = None) -> None:
    with tempfile.TemporaryDirectory(dir=tls) as scratch:
        csr, ext = Path(scratch, "req.csr"), Path(scratch, "ext.cnf")
        lines = [
            "basicConstraints=CA:FALSE",
            "keyUsage=critical,digitalSignature,keyEncipherment",
            f"extendedKeyUsage={usage}",
        ]
        if sans:
            entries = [("IP:" if re.fullmatch(r"[0-9.]+|[0-9a-fA-F:]*:[0-9a-fA-F:]*", s) else "DNS:") + s for s in sans]
            lines.append("subjectAltName=" + ",".join(dict.fromkeys(entries)))
        ext.write_text("\n".join(lines) + "\n")
        openssl(
            "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", str(tls / f"{name}.key"), "-out", str(csr), "-subj", subject,
        )  # fmt: skip
        openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(tls / f"{ca}.crt"), "-CAkey", str(tls / f"{ca}.key"),
            "-set_serial", str(secrets.randbits(63)), "-days", "365", "-extfile", str(ext), "-out", str(tls / f"{name}.crt"),
        )  # fmt: skip


def write_private(path: Path, text: str, mode: int = 0o600) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def sd_notify(message: str) -> None:
    address = os.environ.get("NOTIFY_SOCKET")
    if not address:
        return
    if address.startswith("@"):
        address = "\0" + address[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.connect(address)
        sock.sendall(message.encode())


# -- HTTP (both listeners) -----------------------------------------------------------------------------
class TLSServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type, context: ssl.SSLContext, node: Node):
        self.context = context
        self.node = node
        super().__init__(address, handler)

    def handle_error(self, request: Any, client_address: Any) -> None:
        if self.node.debug:
            log("debug", f"connection from {client_address[0]} failed: {sys.exc_info()[1]}")


class Handler(http.server.BaseHTTPRequestHandler):
    server: TLSServer
    protocol_version = "HTTP/1.1"
    raw_body = b""

    def setup(self) -> None:
        self.request.settimeout(30)
        self.request = self.server.context.wrap_socket(self.request, server_side=True)
        super().setup()

    def log_message(self, format: str, *args: Any) -> None:
        if self.server.node.debug:
            log("debug", f"{self.client_address[0]} {format % args}")

    def send(self, status: int, body: Any, content_type: str = "application/json") -> None:
        data = (
            body
            if isinstance(body, bytes)
            else (json.dumps(body) if content_type == "application/json" else body).encode()
        )
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self) -> dict[str, Any]:
        return json.loads(self.raw_body or b"{}")

    def basic_user(self) -> tuple[str, str] | None:
        header = self.headers.get("Authorization", "")
        if not header.startswith("Basic "):
            return None
        with contextlib.suppress(ValueError):
            user, _, password = base64.b64decode(header[6:]).decode().partition(":")
            return user, password
        return None

    def do_GET(self) -> None:
        self.route("GET")

    def do_POST(self) -> None:
        self.route("POST")

    def do_PATCH(self) -> None:
        self.route("PATCH")

    def do_DELETE(self) -> None:
        self.route("DELETE")

    def route(self, method: str) -> None:
        # The body is read before any answer: closing a socket with unread data resets the connection, and
        # the client would lose the answer (a 401 seen as "Remote end closed connection without response").
        length = int(self.headers.get("Content-Length") or 0)
        if length > 1 << 20:
            self.close_connection = True
            return self.send(413, {"error": "request too large"})
        self.raw_body = self.rfile.read(length) if length else b""
        try:
            self.server.node.handle(self, method)
        except (ValueError, KeyError) as exc:
            self.send(400, {"error": f"bad request: {exc}"})
        except (urllib.error.URLError, OSError) as exc:
            self.send(503, {"error": f"the datastore (first server) does not answer: {exc}"})


def https_json(
    url: str, context: ssl.SSLContext, method: str = "GET", auth: tuple[str, str] | None = None, payload: Any = None
) -> Any:
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(url, data=data, method=method)  # noqa: S310 - https to the cluster
    if data is not None:
        request.add_header("Content-Type", "application/json")
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(f"{auth[0]}:{auth[1]}".encode()).decode())
    with urllib.request.urlopen(request, timeout=10, context=context) as answer:  # noqa: S310
        raw = answer.read()
    return json.loads(raw) if raw and raw[:1] in b"[{" else raw.decode()


# -- a node: server or agent ---------------------------------------------------------------------------
class Node:
    def __init__(self, role: str, config: dict[str, Any]):
        self.role = role
        self.config = config
        self.debug = bool(config.get("debug"))
        self.data_dir = Path(config.get("data-dir", DEFAULT_DATA_DIR))
        self.name = node_name(config)
        self.ip = node_ip(config)
        self.stop = threading.Event()
        self.registry: dict[str, dict[str, Any]] = {}
        self.lock = threading.Lock()
        self.datastore: str | None = None  # a joined server's first server (its "etcd")
        self.password = ""
        self.ca_pem = ""
        self.cni: list[str] = config.get("cni", ["canal"])  # an agent learns the cluster's CNI when it joins
        self.agent_password = ""
        self.trust: ssl.SSLContext | None = None
        self.servers: list[TLSServer] = []
        self.supervisor_port = int(os.environ.get("RKE2_STANDIN_SUPERVISOR_PORT", "9345"))
        self.api_port = int(os.environ.get("RKE2_STANDIN_API_PORT", "6443"))

    # ---- node document sent to the datastore
    def me(self) -> dict[str, Any]:
        ready, reason, message = readiness(self.config | {"cni": self.cni}, self.data_dir)
        labels = dict(item.split("=", 1) for item in self.config.get("node-label", []))
        if self.role == "server":
            labels |= {f"node-role.kubernetes.io/{r}": "true" for r in ("control-plane", "etcd", "master")}
        return {
            "name": self.name, "role": self.role, "address": self.ip, "labels": labels,
            "taints": self.config.get("node-taint", []), "ready": ready, "reason": reason, "message": message,
            "os_image": _os_image(), "kernel": os.uname().release, "version": VERSION,
        }  # fmt: skip

    def record(self, doc: dict[str, Any]) -> None:
        if not isinstance(doc.get("name"), str) or not re.fullmatch(
            r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", doc["name"]
        ):
            raise ValueError(f"invalid node name {doc.get('name')!r}")
        with self.lock:
            previous = self.registry.get(doc["name"], {})
            kept = {
                "created": previous.get("created", time.time()),
                "unschedulable": previous.get("unschedulable", False),
            }
            self.registry[doc["name"]] = doc | {"seen": time.time()} | kept
            self.save_registry()

    @property
    def registry_file(self) -> Path:
        return self.data_dir / "server" / "db" / "registry.json"

    def load_registry(self) -> None:
        """The first server's nodes survive its restart, as Node objects do in etcd (their heartbeats go stale)."""
        with contextlib.suppress(FileNotFoundError, ValueError), self.lock:
            self.registry = json.loads(self.registry_file.read_text())

    def save_registry(self) -> None:
        """Called with the lock held."""
        self.registry_file.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        write_private(self.registry_file, json.dumps(self.registry))

    def update(self, name: str, unschedulable: bool | None) -> bool:
        """Cordon or uncordon (unschedulable) or delete (None) a node of this datastore; False: no such node."""
        with self.lock:
            if name not in self.registry:
                return False
            if unschedulable is None:
                del self.registry[name]
            else:
                self.registry[name]["unschedulable"] = unschedulable
            self.save_registry()
            return True

    def nodes(self) -> list[dict[str, Any]]:
        if self.datastore:
            return https_json(f"{self.datastore}/v1-rke2/nodes", self.trust, auth=("server", self.password))  # type: ignore[arg-type]
        with self.lock:
            return [dict(n) for n in self.registry.values()]

    # ---- start
    def run(self) -> int:
        log(
            "info",
            f"Starting rke2 {VERSION} ({self.role}) -- SIMULATED: sandbox stand-in for rke2 (no containerd, kubelet or etcd run; see sandbox/rke2/README.md)",
        )
        for key in sorted(set(self.config) - ACTED_ON):
            log("info", f"SIMULATED: option {key} accepted, not acted on by the stand-in")
        if self.config.get("cloud-provider-name") == "aws":
            log(
                "warning",
                "cloud-provider-name=aws is deprecated due to removal of the in-tree aws cloud provider; use node-name-from-cloud-provider-metadata",
            )
        if not has_default_route():
            raise Fatal(
                "unable to find a default route: RKE2 needs one even when airgapped (a black-hole route will do: ip route add blackhole default)"
            )
        check_cis(self.config)
        self.log_images()
        if self.role == "server":
            self.start_server()
        else:
            self.start_agent()
        sd_notify("READY=1\nSTATUS=SIMULATED rke2 stand-in running")
        log("info", f"rke2 {self.role} is up (node {self.name}, {self.ip}); SIMULATED")
        self.stop.wait()
        for server in self.servers:
            server.shutdown()
        log("info", "Shutting down (SIGTERM)")
        return 0

    def log_images(self) -> None:
        images = self.data_dir / "agent" / "images"
        names = sorted(p.name for p in images.glob("*")) if images.is_dir() else []
        log("info", f"SIMULATED: image archives not imported (no containerd): {', '.join(names) or 'none'} in {images}")

    def start_server(self) -> None:
        server_dir = self.data_dir / "server"
        tls = server_dir / "tls"
        tls.mkdir(parents=True, exist_ok=True, mode=0o700)
        token = read_token(self.config)
        stored = (server_dir / "token").read_text().strip() if (server_dir / "token").is_file() else None
        if "server" in self.config:
            if token is None:
                raise Fatal("token is required to join a server (token-file)")
            self.join_as_server(token, tls, server_dir, stored)
        else:
            if token is None:
                token = stored or secrets.token_hex(16)
                if stored is None:
                    log("info", "SIMULATED: no token given, generated one (the roles always give token-file)")
            make_ca(tls, "server-ca")
            make_ca(tls, "client-ca")
            ca_hash, password = split_token(token)
            if ca_hash is not None and ca_hash != self.ca_hash(tls):
                raise Fatal(
                    "token CA hash does not match the Cluster CA certificate hash (a fresh first server takes the short token format)"
                )
            self.check_stored(stored, password)
            self.password = password
        agent_token = read_token(self.config, "agent-token")
        self.agent_password = split_token(agent_token)[1] if agent_token else self.password
        full = f"K10{self.ca_hash(tls)}::server:{self.password}"
        write_private(server_dir / "token", full + "\n")
        with contextlib.suppress(FileNotFoundError):
            (server_dir / "node-token").unlink()
        (server_dir / "node-token").symlink_to("token")
        if agent_token:
            write_private(server_dir / "agent-token", f"K10{self.ca_hash(tls)}::node:{self.agent_password}\n")
        elif not (server_dir / "agent-token").is_symlink():
            with contextlib.suppress(FileNotFoundError):
                (server_dir / "agent-token").unlink()
            (server_dir / "agent-token").symlink_to("token")
        sans = ["localhost", "127.0.0.1", self.ip, self.name, "kubernetes", "kubernetes.default", "kubernetes.default.svc",
                "kubernetes.default.svc.cluster.local", "10.43.0.1", *self.config.get("tls-san", [])]  # fmt: skip
        if self.config.get("advertise-address"):
            sans.append(self.config["advertise-address"])
        make_leaf(tls, "server-ca", "serving-kube-apiserver", "/CN=kube-apiserver", "serverAuth", sans)
        make_leaf(tls, "client-ca", "client-admin", "/O=system:masters/CN=system:admin", "clientAuth")
        self.write_kubeconfig(tls)
        self.trust = ssl.create_default_context(cafile=str(tls / "server-ca.crt"))
        bind = self.config.get("bind-address", "0.0.0.0")  # noqa: S104 - the node's own listeners, as rke2's
        for port, client_ca in ((self.supervisor_port, None), (self.api_port, tls / "client-ca.crt")):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(tls / "serving-kube-apiserver.crt", tls / "serving-kube-apiserver.key")
            if client_ca:
                context.verify_mode = ssl.CERT_OPTIONAL
                context.load_verify_locations(cafile=str(client_ca))
            try:
                server = TLSServer((bind, port), Handler, context, self)
            except OSError as exc:
                raise Fatal(f"cannot listen on {bind}:{port}: {exc.strerror}") from None
            threading.Thread(target=server.serve_forever, daemon=True).start()
            self.servers.append(server)
        if self.datastore:
            self.heartbeat_loop(self.datastore, ("server", self.password))
        else:
            self.load_registry()
            self.record(self.me())
            threading.Thread(target=self.self_heartbeat, daemon=True).start()

    def check_stored(self, stored: str | None, password: str) -> None:
        if stored is not None and not hmac.compare_digest(split_token(stored)[1], password):
            raise Fatal("bootstrap data already found and encrypted with different token")

    def join_as_server(self, token: str, tls: Path, server_dir: Path, stored: str | None) -> None:
        url = self.config["server"].rstrip("/")
        ca_hash, password = split_token(token)
        self.check_stored(stored, password)
        trust = self.fetch_ca(url, ca_hash)
        try:
            boot = https_json(f"{url}/v1-rke2/bootstrap", trust, auth=("server", password))
        except urllib.error.HTTPError as exc:
            raise Fatal(
                f"failed to join {url} as a server: {exc.code} {exc.reason}: the token is not valid for this cluster"
            ) from None
        for name, text in boot["files"].items():
            if re.fullmatch(r"(server|client)-ca\.(crt|key)", name):
                write_private(tls / name, text)
        self.password = password
        self.datastore = boot["datastore"]
        self.trust = trust
        (server_dir / "datastore").write_text(self.datastore + "\n")
        log(
            "info",
            f"joined the cluster through {url}; SIMULATED: datastore is the first server's registry ({self.datastore})",
        )

    def ca_hash(self, tls: Path) -> str:
        return hashlib.sha256((tls / "server-ca.crt").read_bytes()).hexdigest()

    def write_kubeconfig(self, tls: Path) -> None:
        def b64(name: str) -> str:
            return base64.b64encode((tls / name).read_bytes()).decode()

        text = (
            "apiVersion: v1\nkind: Config\nclusters:\n- cluster:\n"
            f"    certificate-authority-data: {b64('server-ca.crt')}\n    server: https://127.0.0.1:{self.api_port}\n"
            "  name: default\ncontexts:\n- context:\n    cluster: default\n    user: default\n  name: default\n"
            "current-context: default\npreferences: {}\nusers:\n- name: default\n  user:\n"
            f"    client-certificate-data: {b64('client-admin.crt')}\n    client-key-data: {b64('client-admin.key')}\n"
        )
        mode = int(self.config.get("write-kubeconfig-mode", "0600"), 8)
        path = Path(self.config.get("write-kubeconfig", DEFAULT_KUBECONFIG))
        write_private(path, text, mode)
        os.chmod(path, mode)
        log("info", f"Wrote kubeconfig {path} (mode {mode:04o})")

    def self_heartbeat(self) -> None:
        while not self.stop.wait(HEARTBEAT_S):
            self.record(self.me())

    # ---- agent
    def fetch_ca(self, url: str, ca_hash: str | None) -> ssl.SSLContext:
        insecure = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        insecure.check_hostname = False
        insecure.verify_mode = ssl.CERT_NONE
        delay = 1.0
        while True:
            try:
                pem = https_json(f"{url}/cacerts", insecure)
                break
            except (urllib.error.URLError, OSError) as exc:
                if isinstance(exc, urllib.error.HTTPError):
                    raise Fatal(f"failed to get CA certs from {url}: {exc.code} {exc.reason}") from None
                log("info", f"Waiting to retrieve CA certs from {url}: server is not ready ({exc})")
                if self.stop.wait(delay):
                    raise Fatal("stopped while waiting for the server") from None
                delay = min(delay * 2, 5.0)
        if ca_hash is not None and not hmac.compare_digest(hashlib.sha256(pem.encode()).hexdigest(), ca_hash):
            raise Fatal(f"token CA hash does not match the Cluster CA certificate hash of {url}")
        self.ca_pem = pem
        return ssl.create_default_context(cadata=pem)

    def start_agent(self) -> None:
        token = read_token(self.config)
        if token is None:
            raise Fatal("token is required for rke2 agent (token-file)")
        url = self.config["server"].rstrip("/")
        ca_hash, password = split_token(token)
        self.trust = self.fetch_ca(url, ca_hash)
        self.heartbeat_loop(url, ("node", password))
        write_private(self.data_dir / "agent" / "server-ca.crt", self.ca_pem, 0o644)

    def heartbeat_loop(self, url: str, auth: tuple[str, str]) -> None:
        delay = 1.0
        while True:
            try:
                answer = https_json(f"{url}/v1-rke2/join", self.trust, "POST", auth, self.me())  # type: ignore[arg-type]
                break
            except urllib.error.HTTPError as exc:
                if exc.code in (401, 403):
                    message = f"failed to join {url}: {exc.code} {exc.reason}: the token is not valid for this cluster"
                    raise Fatal(message) from None
                log("info", f"Waiting to join {url}: {exc.code} {exc.reason}")
                if self.stop.wait(delay):
                    raise Fatal("stopped while waiting to join the server") from None
                delay = min(delay * 2, 5.0)
            except (urllib.error.URLError, OSError) as exc:  # the server is not ready yet: rke2 retries too
                log("info", f"Waiting to join {url}: {exc}")
                if self.stop.wait(delay):
                    raise Fatal("stopped while waiting to join the server") from None
                delay = min(delay * 2, 5.0)
        if self.role == "agent" and answer.get("cni"):
            self.cni = answer["cni"]
            https_json(f"{url}/v1-rke2/heartbeat", self.trust, "POST", auth, self.me())  # type: ignore[arg-type]
        log("info", f"Node {self.name} registered with {url}")

        def beat() -> None:
            while not self.stop.wait(HEARTBEAT_S):
                try:
                    https_json(f"{url}/v1-rke2/heartbeat", self.trust, "POST", auth, self.me())  # type: ignore[arg-type]
                except (urllib.error.URLError, OSError) as exc:
                    log("error", f"failed to post node status to {url}: {exc}")

        threading.Thread(target=beat, daemon=True).start()

    # ---- requests
    def handle(self, request: Handler, method: str) -> None:
        parsed = urllib.parse.urlsplit(request.path)
        port = request.server.server_address[1]
        if port == self.supervisor_port:
            self.supervisor(request, method, parsed.path)
        else:
            api(self, request, method, parsed.path, urllib.parse.parse_qs(parsed.query))

    def supervisor(self, request: Handler, method: str, path: str) -> None:
        if path == "/ping" and method == "GET":
            return request.send(200, "pong", "text/plain")
        if path == "/cacerts" and method == "GET":
            tls = self.data_dir / "server" / "tls"
            return request.send(200, (tls / "server-ca.crt").read_bytes(), "text/plain")
        creds = request.basic_user()
        user = creds[0] if creds else None
        ok_server = bool(creds) and user == "server" and hmac.compare_digest(creds[1], self.password)  # type: ignore[index]
        ok_node = ok_server or (bool(creds) and user == "node" and hmac.compare_digest(creds[1], self.agent_password))  # type: ignore[index]
        if not ok_node:
            log("warning", f"Unauthorized {method} {path} from {request.client_address[0]}: the token is not valid")
            return request.send(401, {"error": "Unauthorized"})
        if path == "/v1-rke2/readyz" and method == "GET":
            return request.send(200, "ok", "text/plain")
        if path in ("/v1-rke2/join", "/v1-rke2/heartbeat") and method == "POST":
            doc = request.body()
            if user == "node":
                doc["role"] = "agent"
            if self.datastore:  # a joined server relays to the first server, as its etcd would replicate
                https_json(f"{self.datastore}{path}", self.trust, "POST", ("server", self.password), doc)  # type: ignore[arg-type]
            else:
                self.record(doc)
            if path.endswith("join"):
                log("info", f"Node {doc.get('name')} ({doc.get('role')}) joined from {request.client_address[0]}")
            return request.send(200, {"node": doc.get("name"), "cni": self.cni})
        if not ok_server:
            return request.send(403, {"error": "Forbidden: server token required"})
        if path == "/v1-rke2/bootstrap" and method == "GET":
            tls = self.data_dir / "server" / "tls"
            files = {
                n: (tls / n).read_text() for n in ("server-ca.crt", "server-ca.key", "client-ca.crt", "client-ca.key")
            }
            me = self.datastore or f"https://{self.ip}:{self.supervisor_port}"
            return request.send(200, {"files": files, "datastore": me})
        if path == "/v1-rke2/nodes" and method == "GET":
            return request.send(200, self.nodes())
        return request.send(404, {"error": "not found"})


def _os_image() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/etc/os-release").read_text().splitlines():
            if line.startswith("PRETTY_NAME="):
                return line.split("=", 1)[1].strip('"')
    return "Linux"


# -- the Kubernetes API subset -------------------------------------------------------------------------
def _status(code: int, reason: str, message: str) -> dict[str, Any]:
    return {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "code": code,
    }


def _age(created: float) -> str:
    seconds = int(time.time() - created)
    if seconds < 120:
        return f"{seconds}s"
    minutes = seconds // 60
    if minutes < 10:
        return f"{minutes}m{seconds % 60}s"
    if minutes < 180:
        return f"{minutes}m"
    hours = minutes // 60
    return f"{hours}h{minutes % 60}m" if hours < 8 else f"{hours}h" if hours < 48 else f"{hours // 24}d"


def _stamp(epoch: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(epoch))


def node_object(doc: dict[str, Any]) -> dict[str, Any]:
    fresh = time.time() - doc["seen"] < GRACE_S
    if fresh:
        ready = {"status": "True" if doc["ready"] else "False", "reason": doc["reason"], "message": doc["message"]}
    else:
        ready = {"status": "Unknown", "reason": "NodeStatusUnknown", "message": "Kubelet stopped posting node status."}
    labels = {"kubernetes.io/hostname": doc["name"], "kubernetes.io/os": "linux", "kubernetes.io/arch": ARCH,
              "beta.kubernetes.io/os": "linux", "beta.kubernetes.io/arch": ARCH, **doc.get("labels", {})}  # fmt: skip
    taints = []
    for taint in doc.get("taints", []) + (
        ["node.kubernetes.io/unschedulable:NoSchedule"] if doc.get("unschedulable") else []
    ):
        key_value, _, effect = taint.rpartition(":")
        key, _, value = key_value.partition("=")
        taints.append({"key": key, "value": value, "effect": effect} if value else {"key": key, "effect": effect})
    return {
        "kind": "Node", "apiVersion": "v1",
        "metadata": {"name": doc["name"], "uid": str(uuid_for(doc["name"])), "resourceVersion": str(int(doc["seen"])),
                     "creationTimestamp": _stamp(doc["created"]), "labels": labels,
                     "annotations": {"rke2.io/simulated": "sandbox stand-in node (no kubelet)"}},
        "spec": ({"taints": taints} if taints else {}) | ({"unschedulable": True} if doc.get("unschedulable") else {}),
        "status": {
            "conditions": [{"type": "Ready", **ready, "lastHeartbeatTime": _stamp(doc["seen"]), "lastTransitionTime": _stamp(doc["created"])}],
            "addresses": [{"type": "InternalIP", "address": doc["address"]}, {"type": "Hostname", "address": doc["name"]}],
            "nodeInfo": {"kubeletVersion": doc.get("version", VERSION), "kubeProxyVersion": doc.get("version", VERSION), "osImage": doc.get("os_image", "Linux"),
                         "kernelVersion": doc.get("kernel", ""), "containerRuntimeVersion": "containerd://SIMULATED",
                         "operatingSystem": "linux", "architecture": ARCH},
        },
    }  # fmt: skip


def uuid_for(name: str) -> str:
    digest = hashlib.sha256(name.encode()).hexdigest()
    return f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-{digest[20:32]}"


SERVICES = (
    ("default", "kubernetes", "10.43.0.1", [{"name": "https", "port": 443, "protocol": "TCP", "targetPort": 6443}]),
    ("kube-system", "rke2-coredns-rke2-coredns", "10.43.0.10",
     [{"name": "udp-53", "port": 53, "protocol": "UDP", "targetPort": 53}, {"name": "tcp-53", "port": 53, "protocol": "TCP", "targetPort": 53}]),
)  # fmt: skip
NAMESPACES = ("default", "kube-system", "kube-public", "kube-node-lease")


def service_object(namespace: str, name: str, ip: str, ports: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "kind": "Service", "apiVersion": "v1",
        "metadata": {"name": name, "namespace": namespace, "uid": uuid_for(namespace + "/" + name),
                     "creationTimestamp": _stamp(STARTED), "annotations": {"rke2.io/simulated": "sandbox stand-in"}},
        "spec": {"type": "ClusterIP", "clusterIP": ip, "clusterIPs": [ip], "ports": ports},
        "status": {"loadBalancer": {}},
    }  # fmt: skip


def _selected(obj: dict[str, Any], selector: str) -> bool:
    labels = obj["metadata"].get("labels", {})
    for term in filter(None, (t.strip() for t in selector.split(","))):
        if "!=" in term:
            key, value = term.split("!=", 1)
            if labels.get(key) == value:
                return False
        elif "=" in term:
            key, value = term.replace("==", "=").split("=", 1)
            if labels.get(key) != value:
                return False
        elif term.startswith("!"):
            if term[1:] in labels:
                return False
        elif term not in labels:
            return False
    return True


def _table(request: Handler, kind: str, items: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    include = query.get("includeObject", ["Metadata"])[0]
    if kind == "Node":
        columns = [("Name", "string", "name", 0), ("Status", "string", "", 0), ("Roles", "string", "", 0),
                   ("Age", "string", "", 0), ("Version", "string", "", 0), ("Internal-IP", "string", "", 1),
                   ("External-IP", "string", "", 1), ("OS-Image", "string", "", 1), ("Kernel-Version", "string", "", 1),
                   ("Container-Runtime", "string", "", 1)]  # fmt: skip
    else:
        columns = [("Name", "string", "name", 0), ("Type", "string", "", 0), ("Cluster-IP", "string", "", 0),
                   ("External-IP", "string", "", 0), ("Port(s)", "string", "", 0), ("Age", "string", "", 0),
                   ("Selector", "string", "", 1)]  # fmt: skip
    rows = []
    for obj in items:
        meta = obj["metadata"]
        created = calendar.timegm(time.strptime(meta["creationTimestamp"], "%Y-%m-%dT%H:%M:%SZ"))
        if kind == "Node":
            status = obj["status"]
            ready = status["conditions"][0]["status"]
            state = {"True": "Ready", "False": "NotReady", "Unknown": "NotReady"}[ready]
            state += ",SchedulingDisabled" if obj["spec"].get("unschedulable") else ""
            roles = (
                ",".join(k.split("/", 1)[1] for k in sorted(meta["labels"]) if k.startswith("node-role.kubernetes.io/"))
                or "<none>"
            )
            info = status["nodeInfo"]
            cells = [meta["name"], state, roles, _age(created), info["kubeletVersion"], status["addresses"][0]["address"],
                     "<none>", info["osImage"], info["kernelVersion"], info["containerRuntimeVersion"]]  # fmt: skip
        else:
            spec = obj["spec"]
            ports = ",".join(f"{p['port']}/{p['protocol']}" for p in spec["ports"])
            cells = [meta["name"], spec["type"], spec["clusterIP"], "<none>", ports, _age(created), "<none>"]
        row: dict[str, Any] = {"cells": cells}
        if include == "Object":
            row["object"] = obj
        elif include == "Metadata":
            row["object"] = {"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": meta}
        rows.append(row)
    return {
        "kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": {"resourceVersion": str(int(time.time()))},
        "columnDefinitions": [{"name": n, "type": t, "format": f, "description": "", "priority": p} for n, t, f, p in columns],
        "rows": rows,
    }  # fmt: skip


API_RESOURCES = {
    "kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "v1",
    "resources": [
        {"name": "nodes", "singularName": "node", "namespaced": False, "kind": "Node", "verbs": ["get", "list", "patch", "delete"], "shortNames": ["no"]},
        {"name": "pods", "singularName": "pod", "namespaced": True, "kind": "Pod", "verbs": ["get", "list"], "shortNames": ["po"]},
        {"name": "services", "singularName": "service", "namespaced": True, "kind": "Service", "verbs": ["get", "list"], "shortNames": ["svc"]},
        {"name": "namespaces", "singularName": "namespace", "namespaced": False, "kind": "Namespace", "verbs": ["get", "list"], "shortNames": ["ns"]},
    ],
}  # fmt: skip


def node_write(node: Node, request: Handler, method: str, name: str) -> None:
    """PATCH spec.unschedulable (cordon/uncordon) or DELETE a Node, on the server that holds the registry."""
    if node.datastore:
        return request.send(
            405, _status(405, "MethodNotAllowed", "SIMULATED: node writes go to the first server (the stand-in's etcd)")
        )
    if method == "DELETE":
        found = node.update(name, None)
        log("info", f"Node {name} deleted from the cluster" if found else f"DELETE node {name}: not found")
    else:
        spec = request.body().get("spec", {})
        if set(spec) != {"unschedulable"} or not isinstance(spec["unschedulable"], bool):
            return request.send(
                422,
                _status(422, "Invalid", "SIMULATED: the stand-in patches only spec.unschedulable (cordon/uncordon)"),
            )
        found = node.update(name, spec["unschedulable"])
        if found:
            log("info", f"Node {name} {'cordoned' if spec['unschedulable'] else 'uncordoned'}")
    if not found:
        return request.send(404, _status(404, "NotFound", f'nodes "{name}" not found'))
    if method == "DELETE":
        return request.send(200, _status(200, "Success", f"node {name} deleted") | {"status": "Success"})
    doc = next(d for d in node.nodes() if d["name"] == name)
    return request.send(200, node_object(doc))


def api(node: Node, request: Handler, method: str, path: str, query: dict[str, list[str]]) -> None:
    path = path.rstrip("/") or "/"
    if path in ("/healthz", "/readyz", "/livez"):
        return request.send(200, "ok", "text/plain")
    if path == "/version":
        minor = str(version_minor())
        return request.send(
            200,
            {
                "major": "1",
                "minor": minor,
                "gitVersion": VERSION,
                "platform": f"linux/{ARCH}",
                "goVersion": "SIMULATED",
            },
        )
    cert = request.connection.getpeercert()  # type: ignore[attr-defined]
    subject = {k: v for part in (cert or {}).get("subject", ()) for k, v in part}
    if not subject.get("commonName"):
        return request.send(401, _status(401, "Unauthorized", "Unauthorized"))
    if method in ("PATCH", "DELETE") and path.startswith("/api/v1/nodes/") and path.count("/") == 4:
        return node_write(node, request, method, path.rsplit("/", 1)[1])
    if method != "GET":
        return request.send(
            405, _status(405, "MethodNotAllowed", f"SIMULATED: the stand-in API is read-only ({method} {path})")
        )
    if query.get("watch", ["false"])[0] in ("true", "1"):
        return request.send(405, _status(405, "MethodNotAllowed", "SIMULATED: the stand-in API does not watch"))
    if path == "/api":
        address = f"{node.ip}:{node.api_port}"
        return request.send(
            200,
            {
                "kind": "APIVersions",
                "versions": ["v1"],
                "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": address}],
            },
        )
    if path == "/apis":
        return request.send(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
    if path == "/api/v1":
        return request.send(200, API_RESOURCES)
    table = "as=Table" in request.headers.get("Accept", "")
    parts = path.split("/")[3:]
    namespace = None
    if len(parts) >= 2 and parts[0] == "namespaces" and len(parts) != 2:
        namespace, parts = parts[1], parts[2:]
    if parts and parts[0] == "nodes" and namespace is None:
        try:
            items = [node_object(doc) for doc in sorted(node.nodes(), key=lambda d: d["name"])]
        except (urllib.error.URLError, OSError) as exc:
            return request.send(
                503,
                _status(503, "ServiceUnavailable", f"SIMULATED: the datastore (first server) does not answer: {exc}"),
            )
        kind = "Node"
    elif parts and parts[0] == "pods" and len(parts) == 1:
        items, kind = [], "Pod"  # SIMULATED: no kubelet, so no pod runs anywhere
    elif parts and parts[0] == "services":
        items = [service_object(*s) for s in SERVICES if namespace in (None, s[0])]
        kind = "Service"
    elif parts and parts[0] == "namespaces" and namespace is None:
        items = [{"kind": "Namespace", "apiVersion": "v1", "metadata": {"name": n, "creationTimestamp": _stamp(STARTED)},
                  "status": {"phase": "Active"}} for n in NAMESPACES]  # fmt: skip
        kind = "Namespace"
    else:
        return request.send(404, _status(404, "NotFound", f"the server could not find the requested resource ({path})"))
    selector = query.get("labelSelector", [""])[0]
    items = [i for i in items if _selected(i, selector)]
    if len(parts) == 2:
        found = [i for i in items if i["metadata"]["name"] == parts[1]]
        if not found:
            return request.send(404, _status(404, "NotFound", f'{kind.lower()}s "{parts[1]}" not found'))
        if table and kind != "Namespace":
            return request.send(200, _table(request, kind, found, query))
        return request.send(200, found[0])
    if len(parts) != 1:
        return request.send(404, _status(404, "NotFound", f"the server could not find the requested resource ({path})"))
    if table and kind != "Namespace":
        return request.send(200, _table(request, kind, items, query))
    return request.send(
        200,
        {
            "kind": f"{kind}List",
            "apiVersion": "v1",
            "metadata": {"resourceVersion": str(int(time.time()))},
            "items": items,
        },
    )


# -- command line --------------------------------------------------------------------------------------
USAGE = "usage: rke2 {server | agent} [--config FILE] [--debug] | rke2 --version"


def main(argv: list[str]) -> int:
    if argv[:1] in (["--version"], ["-v"], ["version"]):
        print(f"rke2 version {VERSION} (SIMULATED: sandbox stand-in)\ngo version SIMULATED")
        return 0
    if not argv or argv[0] not in ("server", "agent"):
        print(USAGE, file=sys.stderr)
        return 2
    role, rest = argv[0], argv[1:]
    config_path = Path(os.environ.get("RKE2_CONFIG_FILE", DEFAULT_CONFIG))
    debug = False
    while rest:
        flag = rest.pop(0)
        if flag in ("--config", "-c") and rest:
            config_path = Path(rest.pop(0))
        elif flag.startswith("--config="):
            config_path = Path(flag.split("=", 1)[1])
        elif flag == "--debug":
            debug = True
        else:
            log("fatal", f"flag {flag!r} is not accepted by the stand-in: put options in {config_path}")
            return 1
    try:
        config = load_config(config_path, role)
        if debug:
            config["debug"] = True
        validate(config, role)
        node = Node(role, config)
        signal.signal(signal.SIGTERM, lambda *_: node.stop.set())
        signal.signal(signal.SIGINT, lambda *_: node.stop.set())
        return node.run()
    except Fatal as exc:
        log("fatal", str(exc))
        return 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
