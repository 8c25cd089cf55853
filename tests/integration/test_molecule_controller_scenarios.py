# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 15: `molecule test -s <scenario>` for the roles that run on the control node.

The platform of state_backend and golden_ami is the control node itself (`controller: true` in molecule.yml):
the shared create starts the scenario's own sandbox without the node service (the AWS emulator and MariaDB) and
destroy stops it. shared_rds_schemas runs on the control node too, but delegates its MySQL tasks to the
environment's bastion, so its platform is a booted bastion node (as in tests/integration/test_molecule_scenarios.py;
it skips, saying why, where nodes cannot boot). Each runs
destroy, syntax, create, (prepare,) check, converge, idempotence, verify, destroy. A role broken on purpose (a
task that changes on every run, in a copy of the collection) fails its scenario at idempotence, naming the task.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import test_sandbox_nodes as nodes

from sandbox.services import REPO_ROOT, Sandbox

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=410)]

VENV_BIN = Path(sys.executable).parent
ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
STEPS = ("destroy", "syntax", "create", "check", "converge", "idempotence", "verify")
STEPS_OF = {
    "shared_rds_schemas": ("destroy", "syntax", "create", "prepare", "check", "converge", "idempotence", "verify")
}
BROKEN_TASK = "Report a change on every run (broken on purpose by the test)"


def _molecule(scenario: str, extra_env: dict | None = None) -> tuple[subprocess.CompletedProcess, str, float]:
    if not (VENV_BIN / "molecule").exists():
        pytest.skip("molecule is not installed (make deps installs it)")
    state_dir = REPO_ROOT / ".work" / "molecule" / scenario
    if Sandbox(state_dir).status()["aws"]["running"]:
        pytest.skip(
            f"a sandbox already runs in {state_dir} (a manual `molecule create`): molecule destroy -s {scenario}"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOLECULE_", "ANSIBLE_"))}
    env |= {"PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1", **(extra_env or {})}
    started = time.monotonic()
    run = subprocess.run(
        [str(VENV_BIN / "molecule"), "test", "-s", scenario],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=1200, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    print(f"\nmolecule test -s {scenario}: {seconds:.1f} s wall")
    out = ANSI_RE.sub("", run.stdout + run.stderr)
    assert not Sandbox(state_dir).status()["aws"]["running"], "destroy left the scenario's sandbox running"
    shutil.rmtree(state_dir, ignore_errors=True)
    return run, out, seconds


@pytest.mark.parametrize("scenario", ["state_backend", "golden_ami", "shared_rds_schemas"])
def test_controller_scenario_passes_and_leaves_nothing(scenario):
    if scenario == "shared_rds_schemas" and nodes._why_not():
        pytest.skip(f"the shared_rds_schemas scenario boots a bastion node: {nodes._why_not()}")
    run, out, _ = _molecule(scenario)
    assert run.returncode == 0, out[-6000:]
    for step in STEPS_OF.get(scenario, STEPS):
        assert re.search(rf"{scenario} (?:➜|>) {step}: Executed: Successful", out), (
            f"{step} did not pass:\n{out[-4000:]}"
        )
    # The converge changed something (the role did its work); the plays run on the control node (the bastion
    # only takes delegated tasks, and has no recap line of its own).
    recaps = re.findall(r"^(\S+)\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", out, re.M)
    assert {host for host, _ in recaps} == {"localhost"}, recaps
    assert any(int(changed) > 0 for _, changed in recaps), recaps
    if scenario in ("golden_ami", "shared_rds_schemas"):
        assert "SIMULATED:" in out  # the simulated Packer build; the stand-in 60-db exports
    if scenario == "shared_rds_schemas":
        assert re.search(r"^changed: \[localhost -> i-[0-9a-f]{17}\]", out, re.M), "no MySQL task ran on the bastion"


def test_a_role_that_changes_on_every_run_fails_its_scenario_at_idempotence(tmp_path):
    """The same state_backend scenario against a copy of the collection whose role has one more task that
    reports a change every time: converge passes, idempotence fails and names that task."""
    copy = tmp_path / "ansible_collections" / "org" / "platform"
    shutil.copytree(REPO_ROOT / "collections" / "ansible_collections" / "org" / "platform", copy)
    tasks = copy / "roles" / "state_backend" / "tasks" / "main.yml"
    tasks.write_text(
        tasks.read_text() + f"\n- name: {BROKEN_TASK}\n  ansible.builtin.command: /bin/true\n  changed_when: true\n"
    )
    # ANSIBLE_COLLECTIONS_PATH replaces ansible.cfg's collections_path: the copy alone, then the virtualenv's
    # ansible package (found on sys.path) for amazon.aws and the others.
    run, out, _ = _molecule("state_backend", {"ANSIBLE_COLLECTIONS_PATH": str(tmp_path)})
    assert run.returncode != 0, out[-6000:]
    assert re.search(r"state_backend (?:➜|>) converge: Executed: Successful", out), out[-4000:]
    assert re.search(r"\[state_backend (?:➜|>) idempotence\] Executed: Failed", out), out[-4000:]
    assert "Idempotence test failed" in out, out[-4000:]
    assert f"org.platform.state_backend : {BROKEN_TASK}" in out.split("Idempotence test failed", 1)[1], out[-4000:]
