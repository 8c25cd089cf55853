# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 17 item 9: `molecule test -s <scenario>` from the repository root, on booted sandbox nodes.

The shared create/destroy pair (molecule/shared/) starts the scenario's own sandbox with the node service,
launches its platforms as golden-image instances in the emulator and reaches them through
inventories/sandbox/aws_ec2.yml and the real aws_ssm connection; destroy terminates them and stops the
sandbox. Offline (no Galaxy). Needs what tests/integration/test_sandbox_nodes.py needs (root, systemd-nspawn,
debootstrap); skips, saying why, without them.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time

import pytest
import test_sandbox_nodes as nodes

from sandbox.services import REPO_ROOT, Sandbox

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=270)]

ANSI_RE = re.compile(r"\x1b\[[0-9;]*m")
STEPS = ("destroy", "syntax", "create", "check", "converge", "idempotence", "verify")
STEPS_OF = {"rke2": ("destroy", "syntax", "create", "prepare", "check", "converge", "idempotence", "verify")}


def _why_not() -> str | None:
    return nodes._why_not() or (None if (nodes.VENV_BIN / "molecule").exists() else "molecule is not installed")


@pytest.mark.parametrize("scenario", ["ssm_nodes", "rke2"])
def test_molecule_scenario_passes_and_leaves_nothing(scenario):
    reason = _why_not()
    if not reason and scenario == "rke2" and not shutil.which("kubectl"):
        reason = "the rke2 scenario's verify runs kubectl on the controller (Debian kubernetes-client)"
    if reason:
        pytest.skip(reason)
    state_dir = REPO_ROOT / ".work" / "molecule" / scenario
    if Sandbox(state_dir).status()["aws"]["running"]:
        pytest.skip(
            f"a sandbox already runs in {state_dir} (a manual `molecule create`): molecule destroy -s {scenario}"
        )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOLECULE_", "ANSIBLE_"))}
    env |= {"PATH": f"{nodes.VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", "NO_COLOR": "1"}
    started = time.monotonic()
    run = subprocess.run(
        [str(nodes.VENV_BIN / "molecule"), "test", "-s", scenario],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=1200, check=False,
    )  # fmt: skip
    seconds = time.monotonic() - started
    print(f"\nmolecule test -s {scenario}: {seconds:.1f} s wall")
    out = ANSI_RE.sub("", run.stdout + run.stderr)
    left = nodes.no_leftovers(state_dir)
    shutil.rmtree(state_dir, ignore_errors=True)
    assert run.returncode == 0, out[-6000:]
    for step in STEPS_OF.get(scenario, STEPS):
        assert re.search(rf"{scenario} (?:➜|>) {step}: Executed: Successful", out), (
            f"{step} did not pass:\n{out[-4000:]}"
        )
    assert "SIMULATED:" in out
    # Both nodes ran the plays (a recap each). Molecule's idempotence step, which passed above, is what proves
    # that a second converge changed nothing; ssm_nodes is a wait role and changes nothing even the first time.
    recaps = re.findall(r"(i-[0-9a-f]{17})\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0", out)
    assert len({host for host, _ in recaps}) == 2, recaps
    if scenario == "ssm_nodes":
        assert {changed for _, changed in recaps} == {"0"}, recaps
    assert left == {"machines": [], "mounts": [], "netns": [], "links": []}, left
    assert not (state_dir / "endpoints.json").exists()


@pytest.mark.parametrize(
    ("sandbox_dir", "platforms"),
    [
        ("", [{"name": "node-1"}]),  # molecule.yml sets no state directory
        ("{tmp}/sandbox", [{"name": "node-1"}, {"name": "node-1"}]),  # two platforms, one name
        ("{tmp}/sandbox", []),  # no platform
    ],
)
def test_the_shared_create_refuses_bad_settings_before_starting_anything(tmp_path, sandbox_dir, platforms):
    state_dir = sandbox_dir.format(tmp=tmp_path)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOLECULE_", "ORG_PLATFORM_SANDBOX_DIR"))}
    env |= {
        **nodes.DUMMY,
        "PATH": f"{nodes.VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "MOLECULE_PROJECT_DIRECTORY": str(REPO_ROOT),
        "MOLECULE_SCENARIO_NAME": "bad",
        "AWS_CONFIG_FILE": f"{state_dir}/aws.config" if state_dir else "/dev/null",
    }
    if state_dir:
        env["ORG_PLATFORM_SANDBOX_DIR"] = state_dir
    molecule_vars = {
        "molecule_yml": {"platforms": platforms},
        "molecule_instance_config": str(tmp_path / "instance_config.yml"),
        "molecule_ephemeral_directory": str(tmp_path),
    }
    run = subprocess.run(
        [str(nodes.VENV_BIN / "ansible-playbook"), "-i", "inventories/sandbox", "molecule/shared/create.yml",
         "-e", json.dumps(molecule_vars)],
        capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300, check=False,
    )  # fmt: skip
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert "molecule/shared/create.yml needs ORG_PLATFORM_SANDBOX_DIR" in out, out
    assert "nothing was changed" in out
    assert not (tmp_path / "sandbox").exists()
    assert not (tmp_path / "instance_config.yml").exists()
