# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 9 item 10: no secret reaches a command line (or -vvv output) during the sandbox lifecycle.

sandbox/site.yml (at -vvv) and sandbox/destroy.yml run against the sandbox while a thread samples every process's
/proc/<pid>/cmdline every few milliseconds. The test fails if the dummy AWS secret key, the MariaDB admin
password or any service password appears on a sampled command line or in the runs' output. It also fails if the
sampler saw no Ansible module process at all (a sampler that sees nothing proves nothing). Only this test's
own processes (descendants of the pytest process: the playbooks, their modules, the sandbox services) are
looked at, so other work on the machine cannot make it fail.
"""

from __future__ import annotations

import json
import os
import threading
import time
from pathlib import Path

import boto3
import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DUMMY_SECRET_KEY = "emulator-dummy-secret-access-key-0000"  # the sandbox's published dummy key
SERVICES = ("fileflow", "authhub", "crawler")  # inventories/sandbox/group_vars/all/shared_rds.yml


class CommandLineSampler:
    """Collects every distinct command line of every process until stopped."""

    def __init__(self, interval: float = 0.005) -> None:
        self.interval = interval
        self.command_lines: set[str] = set()
        self.samples = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @staticmethod
    def _parents() -> dict[int, int]:
        parents = {}
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    stat = Path("/proc", entry, "stat").read_text()
                except OSError:  # the process ended meanwhile
                    continue
                # pid (comm) state ppid ...; comm may contain spaces and parentheses
                parents[int(entry)] = int(stat[stat.rindex(")") + 2 :].split()[1])
        return parents

    def _run(self) -> None:
        root = os.getpid()
        while not self._stop.is_set():
            parents = self._parents()
            for pid in parents:
                ancestor, hops = pid, 0
                while ancestor not in (root, 0, 1) and hops < 64:
                    ancestor, hops = parents.get(ancestor, 0), hops + 1
                if ancestor != root or pid == root:
                    continue
                try:
                    raw = Path("/proc", str(pid), "cmdline").read_bytes()
                except OSError:
                    continue
                if raw:
                    self.command_lines.add(raw.replace(b"\0", b" ").decode(errors="replace"))
            self.samples += 1
            time.sleep(self.interval)

    def __enter__(self) -> CommandLineSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(timeout=10)


def test_lifecycle_keeps_secrets_off_command_lines(sandbox, aws, playbook):
    env = {"ORG_PLATFORM_SANDBOX_DIR": str(sandbox.state_dir)}
    with CommandLineSampler() as sampler:
        built = playbook("sandbox/site.yml", inventory="inventories/sandbox", env=env | {"ANSIBLE_VERBOSITY": "3"})
        assert built.rc == 0, built.output[-4000:]
        secrets = boto3.client("secretsmanager")
        passwords = {
            json.loads(secrets.get_secret_value(SecretId=f"/sandbox/{service}/db-credentials")["SecretString"])[
                "password"
            ]
            for service in SERVICES
        }
        destroyed = playbook(
            "sandbox/destroy.yml", inventory="inventories/sandbox", env=env, extra_vars={"confirm_destroy": "sandbox"}
        )
        assert destroyed.rc == 0, destroyed.output[-4000:]
    secret_values = {DUMMY_SECRET_KEY, os.environ["AWS_SECRET_ACCESS_KEY"], sandbox.mysql_admin_password} | passwords
    assert all(len(value) >= 16 for value in secret_values)

    modules = [line for line in sampler.command_lines if "AnsiballZ_" in line]
    print(
        f"sampled /proc {sampler.samples} times: {len(sampler.command_lines)} distinct command lines, "
        f"{len(modules)} of them Ansible modules"
    )
    assert sampler.samples > 100, "the sampler did not run"
    assert len(modules) >= 20, f"the sampler saw only {len(modules)} module command lines"
    leaked = [line for line in sampler.command_lines if any(value in line for value in secret_values)]
    assert leaked == [], f"secrets on {len(leaked)} command lines, e.g. {leaked[0][:300]!r}".replace(
        DUMMY_SECRET_KEY, "<dummy secret key>"
    )
    # -vvv prints every module's command line; none carries a credential.
    assert "EXEC /bin/sh -c" in built.stdout
    for run in (built, destroyed):
        assert not any(value in run.output for value in secret_values), "a secret appears in the run's output"
