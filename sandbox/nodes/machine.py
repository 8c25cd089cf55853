"""One node: a systemd-nspawn machine booted on an overlay of the base image, in the node's namespace.

The overlay is mounted inside a private mount namespace (``unshare --mount``) that exists only as long as
the machine's ``systemd-nspawn`` process does, so no mount can outlive the machine, even after a killed
run. The upper layer (``<state>/nodes/<instance id>/upper``) survives a stop/start, as an EBS root
volume does, and is removed on terminate. Before boot the instance's own files go into the upper layer:
its hostname, the endpoint environment and the SSM agent stand-in unit.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from sandbox.nodes import endpoints

# Each machine gets a control group of its own. With --register=no --keep-unit, systemd-nspawn hands the
# container the cgroup it was started in; machines started by one node service would then share it, and each
# container's systemd would create and remove the other's units' cgroups (seen as "Failed to attach to cgroup
# /system.slice/...: No such file or directory" and a `degraded` boot). The groups live under this directory
# in every hierarchy systemd uses, and are removed when the machine stops.
CGROUP_PARENT = "org-platform-sandbox"
CGROUP_HIERARCHIES = ("/sys/fs/cgroup/systemd", "/sys/fs/cgroup/unified", "/sys/fs/cgroup")


def cgroup_dirs(name: str) -> list[Path]:
    """The machine's cgroup in each writable hierarchy that systemd manages (v1 name=systemd, v2)."""
    dirs = []
    for hierarchy in map(Path, CGROUP_HIERARCHIES):
        if (hierarchy / "cgroup.procs").exists() and os.access(hierarchy, os.W_OK):
            dirs.append(hierarchy / CGROUP_PARENT / name)
    return dirs


def cgroup_name(home: Path) -> str:
    """A machine's cgroup name: unique per sandbox state dir and instance (hostnames repeat across sandboxes)."""
    import hashlib

    return hashlib.sha256(str(Path(home).resolve()).encode()).hexdigest()[:16]


def remove_cgroups(name: str) -> None:
    """Remove the machine's cgroups, children first (they are empty once the machine has stopped)."""
    for directory in cgroup_dirs(name):
        if not directory.is_dir():
            continue
        for sub in sorted((p for p in directory.rglob("*") if p.is_dir()), key=lambda p: len(p.parts), reverse=True):
            with contextlib.suppress(OSError):
                sub.rmdir()
        with contextlib.suppress(OSError):
            directory.rmdir()
            directory.parent.rmdir()  # the shared parent goes with the last machine (busy otherwise)


AGENT_SOURCE = Path(__file__).with_name("agent.py")
AGENT_UNIT = """[Unit]
Description=SSM agent stand-in (sandbox: registers the instance with the emulator's SSM)
After=network.target

[Service]
EnvironmentFile=/etc/org-platform/endpoints.env
ExecStart=/usr/bin/python3 /usr/local/lib/org-platform/ssm_agent.py
Restart=always
RestartSec=2

[Install]
WantedBy=multi-user.target
"""


class MachineError(Exception):
    """A node could not be booted or stopped."""


@dataclass
class Machine:
    instance_id: str
    home: Path
    image: Path
    netns: str
    private_ip: str
    endpoint: str
    region: str

    @property
    def upper(self) -> Path:
        return self.home / "upper"

    @property
    def pid_file(self) -> Path:
        return self.home / "pid"

    @property
    def log_file(self) -> Path:
        return self.home / "console.log"

    @property
    def hostname(self) -> str:
        return "ip-" + self.private_ip.replace(".", "-")

    def environment(self) -> dict[str, str]:
        aws = f"http://{self.endpoint}:{endpoints.AWS_PORT}"
        return {
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EC2_METADATA_SERVICE_ENDPOINT": f"http://{self.endpoint}:{endpoints.IMDS_PORT}/",
            "AWS_EC2_METADATA_SERVICE_ENDPOINT_MODE": "IPv4",
            "AWS_ENDPOINT_URL": aws,
            "AWS_ENDPOINT_URL_SSM": aws,
            "AWS_ENDPOINT_URL_S3": aws,
            "NODE_PRIVATE_IP": self.private_ip,
            "SANDBOX_ENDPOINT_ADDRESS": self.endpoint,
            "SANDBOX_MYSQL_PORT": str(endpoints.MYSQL_PORT),
        }

    def write_instance_files(self) -> None:
        root = self.upper
        for sub in ("etc/org-platform", "usr/local/lib/org-platform", "etc/systemd/system/multi-user.target.wants"):
            (root / sub).mkdir(parents=True, exist_ok=True)
        (root / "etc/hostname").write_text(self.hostname + "\n")
        (root / "etc/hosts").write_text(f"127.0.0.1 localhost\n{self.private_ip} {self.hostname}\n")
        env = "".join(f"{k}={v}\n" for k, v in sorted(self.environment().items()))
        (root / "etc/org-platform/endpoints.env").write_text(env)
        # Login shells (ssm-user's sessions, Ansible's modules) see the endpoints as on an instance whose
        # AWS CLI is configured for the VPC endpoints.
        profile = root / "etc/profile.d"
        profile.mkdir(parents=True, exist_ok=True)
        (profile / "org-platform-endpoints.sh").write_text(
            "".join(f"export {k}={v}\n" for k, v in sorted(self.environment().items()))
        )
        shutil.copyfile(AGENT_SOURCE, root / "usr/local/lib/org-platform/ssm_agent.py")
        (root / "etc/systemd/system/amazon-ssm-agent.service").write_text(AGENT_UNIT)
        wants = root / "etc/systemd/system/multi-user.target.wants/amazon-ssm-agent.service"
        if not wants.is_symlink():
            wants.symlink_to("/etc/systemd/system/amazon-ssm-agent.service")

    def pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        return pid if _alive(pid) else None

    def leader(self) -> int | None:
        """PID of the machine's init (systemd), the child of systemd-nspawn."""
        pid = self.pid()
        if pid is None:
            return None
        return leader_of(pid)

    def boot(self) -> int:
        """Start the machine (returns at once; see ``state()``)."""
        if self.pid() is not None:
            return self.pid()  # type: ignore[return-value]
        for sub in ("upper", "work", "root"):
            (self.home / sub).mkdir(parents=True, exist_ok=True)
        self.write_instance_files()
        # The shell moves itself into the machine's own cgroups (best effort) before it becomes nspawn.
        script = (
            'for group in $NODE_CGROUPS; do mkdir -p "$group" && echo $$ > "$group/cgroup.procs"; done 2>/dev/null; '
            'mount -t overlay overlay -o "lowerdir=$1,upperdir=$2,workdir=$3" "$4" && '
            'exec systemd-nspawn --quiet --boot --register=no --keep-unit --directory="$4" '
            '--machine="$5" --hostname="$5" --network-namespace-path="/run/netns/$6" --console=read-only'
        )
        command = [
            "unshare", "--mount", "--propagation", "private", "--", "sh", "-c", script, "node",
            str(self.image), str(self.upper), str(self.home / "work"), str(self.home / "root"),
            self.hostname, self.netns,
        ]  # fmt: skip
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                command,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env={
                    "PATH": "/usr/sbin:/usr/bin:/sbin:/bin",
                    "SYSTEMD_NSPAWN_TMPFS_TMP": "1",
                    "NODE_CGROUPS": " ".join(map(str, cgroup_dirs(cgroup_name(self.home)))),
                },
            )
        self.pid_file.write_text(f"{process.pid}\n")
        self._process = process
        return process.pid

    def system_state(self) -> str | None:
        """``systemctl is-system-running`` inside the machine, or None while it has no init yet."""
        leader = self.leader()
        if leader is None:
            return None
        try:
            result = subprocess.run(
                ["nsenter", "-t", str(leader), "-m", "-u", "-i", "-p", "-n", "systemctl", "is-system-running"],
                capture_output=True,
                text=True,
                check=False,
                timeout=10,
            )
        except subprocess.TimeoutExpired:
            return None  # a busy machine answers later
        return result.stdout.strip() or None

    def booted(self) -> bool:
        return self.system_state() in ("running", "degraded")

    def stop(self, timeout_s: float = 20.0) -> bool:
        """Orderly poweroff (SIGTERM to systemd-nspawn), SIGKILL after ``timeout_s``; True if it ran."""
        pid = self.pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        stop_process(pid, timeout_s)
        self.pid_file.unlink(missing_ok=True)
        remove_cgroups(cgroup_name(self.home))
        return True

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.home, ignore_errors=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    with contextlib.suppress(OSError):
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    return True


def leader_of(pid: int) -> int | None:
    with contextlib.suppress(OSError, ValueError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            children = (task / "children").read_text().split()
            if children:
                return int(children[0])
    return None


def stop_process(pid: int, timeout_s: float) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and _alive(pid):
        with contextlib.suppress(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
        time.sleep(0.1)
    if _alive(pid):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        end = time.monotonic() + 5
        while time.monotonic() < end and _alive(pid):
            time.sleep(0.05)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def machine_processes(state_dir: Path) -> list[int]:
    """systemd-nspawn/unshare processes whose command line points into ``state_dir`` (for cleanup)."""
    marker = str(Path(state_dir).resolve()) + "/"
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            argv = proc.joinpath("cmdline").read_bytes().split(b"\0")
            name = Path(argv[0].decode(errors="replace")).name if argv else ""
            ours = any(marker.encode() in a for a in argv) and b"systemd-nspawn" in b" ".join(argv)
            if name in ("systemd-nspawn", "unshare", "sh") and ours:
                found.append(int(proc.name))
    return found
