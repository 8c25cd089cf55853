"""The sandbox nodes' base image: a debootstrap Debian bookworm root with systemd, built once and cached.

The image stands in for the golden AMI's root volume. It is keyed by a hash of its recipe (suite, mirror,
package list and the configuration script below), so changing any of them builds a new image next to the
old one; an unchanged recipe reuses the cached tree. Nodes never write to it: each node boots on an
overlay whose upper layer is its own (see ``sandbox.nodes.machine``).

Cache directory: ``$ORG_PLATFORM_SANDBOX_CACHE`` or ``~/.cache/org-platform/sandbox``. Build:
``python -m sandbox.nodes image`` (the node service builds it on first use).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import subprocess
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

SUITE = "bookworm"
MIRROR = "http://deb.debian.org/debian"
PACKAGES = (
    "systemd",
    "systemd-sysv",
    "dbus",
    "python3",
    # PyMySQL: the shared-RDS role's community.mysql tasks run on the bastion (delegate_to).
    "python3-pymysql",
    "curl",
    "ca-certificates",
    "iptables",
    "iproute2",
    "sudo",
    "procps",
    "less",
)
# Runs in the chroot once debootstrap is done. The SSM agent's default user is ssm-user with passwordless
# sudo; its login shell is bash (as sh is on AL2023) with a plain prompt (Debian's skeleton .bashrc sets
# an xterm title that breaks the aws_ssm plugin's prompt handling). Units that
# make no sense in a container without consoles or hardware are masked so boot is quick and `running`.
CONFIGURE_SCRIPT = r"""
set -eu
echo sandbox-node > /etc/hostname
useradd --create-home --shell /bin/bash --comment "SSM session user" ssm-user
cat > /home/ssm-user/.bashrc <<'RC'
[ -z "$PS1" ] && return
PS1='[\u@\h \W]\$ '
RC
chown ssm-user:ssm-user /home/ssm-user/.bashrc
printf 'ssm-user ALL=(ALL) NOPASSWD:ALL\n' > /etc/sudoers.d/ssm-agent-users
chmod 0440 /etc/sudoers.d/ssm-agent-users
for unit in getty.target console-getty.service systemd-timesyncd.service apt-daily.timer \
            apt-daily-upgrade.timer e2scrub_all.timer fstrim.timer systemd-networkd.service \
            systemd-resolved.service systemd-networkd-wait-online.service; do
  ln -sf /dev/null "/etc/systemd/system/$unit"
done
apt-get clean
rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/*.log
"""


class ImageError(Exception):
    """The base image could not be built."""


@dataclass(frozen=True)
class Recipe:
    suite: str = SUITE
    mirror: str = MIRROR
    variant: str = "minbase"
    packages: tuple[str, ...] = field(default=PACKAGES)
    configure: str = CONFIGURE_SCRIPT

    def digest(self) -> str:
        data = json.dumps(asdict(self), sort_keys=True).encode()
        return hashlib.sha256(data).hexdigest()[:16]


def cache_dir() -> Path:
    default = Path.home() / ".cache" / "org-platform" / "sandbox"
    return Path(os.environ.get("ORG_PLATFORM_SANDBOX_CACHE", default)).resolve()


def image_path(recipe: Recipe | None = None, cache: Path | None = None) -> Path:
    recipe = recipe or Recipe()
    return (cache or cache_dir()) / "images" / f"{recipe.suite}-{recipe.digest()}"


def is_built(path: Path) -> bool:
    return (path / ".org-platform-image.json").is_file()


def ensure_image(recipe: Recipe | None = None, cache: Path | None = None, log=print) -> Path:
    """The image's root directory; built first if the cache has none for this recipe."""
    recipe = recipe or Recipe()
    cache = cache or cache_dir()
    target = image_path(recipe, cache)
    if is_built(target):
        return target
    cache.mkdir(parents=True, exist_ok=True)
    with (cache / "images.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; others wait and reuse its result
        if is_built(target):
            return target
        _build(recipe, cache, target, log)
    return target


def _build(recipe: Recipe, cache: Path, target: Path, log) -> None:
    if shutil.which("debootstrap") is None:
        raise ImageError("debootstrap is not installed (Debian package debootstrap; `make deps` as root)")
    target.parent.mkdir(parents=True, exist_ok=True)
    work = target.with_name(target.name + ".building")
    shutil.rmtree(work, ignore_errors=True)
    debs = cache / "debs"
    debs.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    log(f"sandbox image: building {target.name} (debootstrap {recipe.suite}, takes minutes once)")
    command = [
        "debootstrap",
        f"--variant={recipe.variant}",
        f"--include={','.join(recipe.packages)}",
        f"--cache-dir={debs}",
        recipe.suite,
        str(work),
        recipe.mirror,
    ]
    build_log = target.with_name(target.name + ".build.log")
    with build_log.open("w") as out:
        result = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, check=False)
        if result.returncode == 0:
            result = subprocess.run(
                ["chroot", str(work), "/bin/sh", "-c", recipe.configure],
                stdout=out,
                stderr=subprocess.STDOUT,
                check=False,
                env={"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL": "C"},
            )
    if result.returncode != 0:
        tail = build_log.read_text(errors="replace")[-1500:]
        shutil.rmtree(work, ignore_errors=True)
        raise ImageError(f"building the sandbox image failed (log {build_log}):\n{tail}")
    meta = asdict(recipe) | {"digest": recipe.digest(), "build_seconds": round(time.monotonic() - started, 1)}
    (work / ".org-platform-image.json").write_text(json.dumps(meta, indent=2) + "\n")
    with contextlib.suppress(FileNotFoundError):
        shutil.rmtree(target)
    work.rename(target)
    log(f"sandbox image: {target} built in {meta['build_seconds']}s")
