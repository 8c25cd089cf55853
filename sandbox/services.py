"""Loopback services that stand in for AWS and the shared RDS in the sandbox.

Two services, each on a free loopback port with its own state directory, PID file and log:

* ``aws``: the project's AWS emulator (moto server plus the rules in ``sandbox.emulator.rules``);
* ``mysql``: a MariaDB server with its own data directory and an ``admin`` account that plays
  the RDS master user.

``up`` is idempotent (a running, answering service is left alone), ``down`` leaves no process,
and ``down --purge`` also removes the state directory. The endpoints are written to
``<state_dir>/endpoints.json``, which ``inventories/sandbox`` and the tests read.
"""

from __future__ import annotations

import abc
import contextlib
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_STATE_DIR = REPO_ROOT / ".sandbox"
LOOPBACK = "127.0.0.1"
REGION = "us-east-1"
START_TIMEOUT_S = 60.0
STOP_TIMEOUT_S = 20.0


class SandboxError(Exception):
    """A sandbox service could not be started, reached or stopped."""


def state_dir_from_env() -> Path:
    return Path(os.environ.get("ORG_PLATFORM_SANDBOX_DIR", DEFAULT_STATE_DIR)).resolve()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie child still answers kill(0); treat it as gone.
    with contextlib.suppress(OSError):
        status = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
        return status != "Z"
    return True


def wait_until(predicate, timeout_s: float, what: str, interval_s: float = 0.1) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval_s)
    raise SandboxError(f"timed out after {timeout_s:.0f}s waiting for {what}")


@dataclass
class Service(abc.ABC):
    """One background process with a PID file, a log file and a port."""

    name: str
    state_dir: Path

    @property
    def home(self) -> Path:
        return self.state_dir / self.name

    @property
    def pid_file(self) -> Path:
        return self.home / "pid"

    @property
    def log_file(self) -> Path:
        return self.home / "service.log"

    @property
    def port_file(self) -> Path:
        return self.home / "port"

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if pid_alive(pid) else None

    def port(self) -> int | None:
        try:
            return int(self.port_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None

    @abc.abstractmethod
    def command(self, port: int) -> list[str]:
        """The argv that runs the service in the foreground on ``port``."""

    @abc.abstractmethod
    def ready(self, port: int) -> bool:
        """True once the service answers on ``port``."""

    def prepare(self) -> None:  # noqa: B027 - optional hook, most services need none
        """One-time set-up before the first start (data directories and the like)."""

    def after_start(self, port: int) -> None:  # noqa: B027 - optional hook
        """Set-up that needs the running service."""

    @abc.abstractmethod
    def endpoint(self) -> dict:
        """How clients reach the service (written to endpoints.json)."""

    def running(self) -> bool:
        pid, port = self.pid(), self.port()
        return pid is not None and port is not None and self.ready(port)

    def start(self) -> bool:
        """Start the service unless it already runs; True when it was started."""
        if self.running():
            return False
        self.stop()
        self.home.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.prepare()
        port = free_port()
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                self.command(port),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                cwd=self.home,
            )
        self.pid_file.write_text(f"{process.pid}\n")
        self.port_file.write_text(f"{port}\n")

        def answering() -> bool:
            if process.poll() is not None:
                tail = self.log_file.read_text(errors="replace")[-2000:]
                raise SandboxError(f"{self.name} exited with {process.returncode}; log tail:\n{tail}")
            return self.ready(port)

        wait_until(answering, getattr(self, "START_TIMEOUT_S", START_TIMEOUT_S), f"{self.name} on {LOOPBACK}:{port}")
        self.after_start(port)
        return True

    def stop(self) -> bool:
        """Stop the service's process group; True when something was stopped."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        try:
            wait_until(lambda: not pid_alive(pid), STOP_TIMEOUT_S, f"{self.name} (pid {pid}) to stop")
        except SandboxError:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pid, signal.SIGKILL)
            wait_until(lambda: not pid_alive(pid), 5, f"{self.name} (pid {pid}) to die")
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        self.pid_file.unlink(missing_ok=True)
        return True


class AwsEmulator(Service):
    """moto server with the project's own AWS rules (``python -m sandbox.emulator``)."""

    def __init__(self, state_dir: Path):
        super().__init__("aws", state_dir)

    def command(self, port: int) -> list[str]:
        return [sys.executable, "-m", "sandbox.emulator", "--host", LOOPBACK, "--port", str(port)]

    def ready(self, port: int) -> bool:
        try:
            with urllib.request.urlopen(f"http://{LOOPBACK}:{port}/moto-api/", timeout=1):
                return True
        except urllib.error.HTTPError:
            return True
        except OSError:
            return False

    def prepare(self) -> None:
        # The emulator imports `sandbox`, so it must run with the repository on its path.
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)

    def endpoint(self) -> dict:
        port = self.port()
        return {"endpoint_url": f"http://{LOOPBACK}:{port}", "region": REGION, "port": port}


class MariaDB(Service):
    """A MariaDB server with its own datadir; ``admin`` plays the RDS master user."""

    ADMIN_USER = "admin"

    def __init__(self, state_dir: Path):
        super().__init__("mysql", state_dir)

    @property
    def datadir(self) -> Path:
        return self.home / "data"

    @property
    def socket_path(self) -> Path:
        return self.home / "mysqld.sock"

    @property
    def tmpdir(self) -> Path:
        """Private temporary files: two servers bootstrapping at once in a shared /tmp can take the same
        temporary table names (seen with two test workers: mariadb-install-db aborted with error 1051)."""
        return self.home / "tmp"

    @property
    def password_file(self) -> Path:
        return self.home / "admin-password"

    def _mysqld(self) -> str:
        for name in ("mariadbd", "mysqld"):
            found = shutil.which(name) or shutil.which(name, path="/usr/sbin:/usr/local/sbin")
            if found:
                return found
        raise SandboxError("MariaDB is not installed (Debian package mariadb-server); run `make deps` as root")

    def prepare(self) -> None:
        self.tmpdir.mkdir(parents=True, exist_ok=True)
        if (self.datadir / "mysql").is_dir():
            return
        installer = shutil.which("mariadb-install-db") or shutil.which("mysql_install_db")
        if not installer:
            raise SandboxError("mariadb-install-db not found (Debian package mariadb-server)")
        self.datadir.mkdir(parents=True, exist_ok=True)
        result = subprocess.run(
            [
                installer,
                "--no-defaults",
                f"--datadir={self.datadir}",
                f"--user={_os_user()}",
                "--auth-root-authentication-method=socket",
                "--skip-test-db",
                f"--tmpdir={self.tmpdir}",
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            shutil.rmtree(self.datadir, ignore_errors=True)
            raise SandboxError(f"mariadb-install-db failed: {result.stderr[-2000:]}")

    def command(self, port: int) -> list[str]:
        return [
            self._mysqld(),
            "--no-defaults",
            f"--datadir={self.datadir}",
            f"--port={port}",
            f"--bind-address={LOOPBACK}",
            f"--socket={self.socket_path}",
            f"--tmpdir={self.tmpdir}",
            f"--pid-file={self.home / 'mysqld.pid'}",
            f"--user={_os_user()}",
            "--skip-name-resolve",
            "--character-set-server=utf8mb4",
            "--collation-server=utf8mb4_unicode_ci",
            "--innodb-buffer-pool-size=64M",
            "--performance-schema=OFF",
        ]

    def ready(self, port: int) -> bool:
        try:
            with socket.create_connection((LOOPBACK, port), timeout=1) as sock:
                return bool(sock.recv(4))  # the server greeting
        except OSError:
            return False

    def after_start(self, port: int) -> None:
        import pymysql  # installed with the project's requirements

        if self.password_file.exists():
            return
        password = secrets.token_urlsafe(24)
        conn = pymysql.connect(unix_socket=str(self.socket_path), user="root")
        try:
            with conn.cursor() as cur:
                cur.execute("CREATE USER IF NOT EXISTS %s@'%%' IDENTIFIED BY %s", (self.ADMIN_USER, password))
                cur.execute(f"GRANT ALL PRIVILEGES ON *.* TO `{self.ADMIN_USER}`@'%' WITH GRANT OPTION")
            conn.commit()
        finally:
            conn.close()
        fd = os.open(self.password_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(password)

    def endpoint(self) -> dict:
        return {
            "host": LOOPBACK,
            "port": self.port(),
            "admin_user": self.ADMIN_USER,
            "admin_password_file": str(self.password_file),
        }


class Nodes(Service):
    """The node service (``python -m sandbox.nodes serve``): EC2 instances of golden images become machines.

    Needs root, ``systemd-nspawn`` (Debian package systemd-container) and ``debootstrap``; the first start
    builds the base image (about a minute, then cached).
    """

    START_TIMEOUT_S = 600.0

    def __init__(self, state_dir: Path, aws: AwsEmulator, mysql: MariaDB):
        super().__init__("nodes", state_dir)
        self.aws = aws
        self.mysql = mysql

    def prepare(self) -> None:
        missing = [tool for tool in ("systemd-nspawn", "debootstrap", "nsenter", "ip") if not shutil.which(tool)]
        if missing:
            raise SandboxError(
                f"sandbox nodes need {', '.join(missing)} (Debian: systemd-container debootstrap iproute2)"
            )
        if os.geteuid() != 0:
            raise SandboxError("sandbox nodes need root (network namespaces and systemd-nspawn)")
        os.environ["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO_ROOT), os.environ.get("PYTHONPATH", "")) if p)

    def command(self, port: int) -> list[str]:
        return [
            sys.executable, "-m", "sandbox.nodes", "serve", "--state-dir", str(self.state_dir),
            "--aws-port", str(self.aws.port()), "--mysql-port", str(self.mysql.port() or 0),
        ]  # fmt: skip

    def ready(self, port: int) -> bool:
        try:
            url = f"http://{LOOPBACK}:{self.aws.port()}/_org_platform/nodes"
            with urllib.request.urlopen(url, timeout=2) as response:
                return bool(json.loads(response.read()).get("attached"))
        except (OSError, ValueError):
            return False

    def endpoint(self) -> dict:
        return {"state_dir": str(self.state_dir / "nodes"), "running": self.pid() is not None}

    def stop(self) -> bool:
        stopped = super().stop()
        from sandbox.nodes.service import cleanup

        left = cleanup(self.state_dir)
        return stopped or bool(left["machines"] or left["netns"] or left["links"])


def _os_user() -> str:
    import pwd

    return pwd.getpwuid(os.getuid()).pw_name


class Sandbox:
    """All sandbox services under one state directory."""

    def __init__(self, state_dir: Path | None = None, nodes: bool = False):
        self.state_dir = (state_dir or state_dir_from_env()).resolve()
        aws, mysql = AwsEmulator(self.state_dir), MariaDB(self.state_dir)
        self.nodes = Nodes(self.state_dir, aws, mysql)
        self.services: list[Service] = [aws, mysql] + ([self.nodes] if nodes else [])

    @property
    def endpoints_file(self) -> Path:
        return self.state_dir / "endpoints.json"

    def up(self) -> dict:
        self.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        started = [service.name for service in self.services if service.start()]
        endpoints = self.endpoints()
        self.endpoints_file.write_text(json.dumps(endpoints, indent=2, sort_keys=True) + "\n")
        return {"started": started, "endpoints": endpoints}

    def down(self, purge: bool = False) -> dict:
        # The node service first (its machines talk to the others); it also runs even when this Sandbox
        # was made without nodes, so a killed `up --nodes` leaves nothing behind either.
        services = [self.nodes] + [s for s in self.services if s is not self.nodes]
        stopped = [service.name for service in services if service.stop()]
        self.endpoints_file.unlink(missing_ok=True)
        if purge:
            shutil.rmtree(self.state_dir, ignore_errors=True)
        return {"stopped": stopped, "purged": purge}

    def status(self) -> dict:
        services = self.services + ([self.nodes] if self.nodes not in self.services and self.nodes.pid() else [])
        return {
            service.name: {"running": service.running(), "pid": service.pid(), "port": service.port()}
            for service in services
        }

    def endpoints(self) -> dict:
        return {"state_dir": str(self.state_dir)} | {s.name: s.endpoint() for s in self.services}
