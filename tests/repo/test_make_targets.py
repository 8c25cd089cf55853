# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The operator make targets: thin wrappers over the playbooks, clear errors, a confirmed destroy."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest

from sandbox.pytest_plugin import REPO_ROOT


@pytest.fixture
def fake_bin(tmp_path) -> Path:
    """A BIN whose ansible-playbook only prints its arguments (and the credentials it was given)."""
    fake = tmp_path / "bin"
    fake.mkdir()
    script = fake / "ansible-playbook"
    script.write_text(
        '#!/bin/sh\necho "FAKE-PLAYBOOK key=${AWS_ACCESS_KEY_ID:-none} $* (state dir ${ORG_PLATFORM_SANDBOX_DIR:-none})"\n'
    )
    script.chmod(0o755)
    return fake


def make(*args: str, stdin: int | None = subprocess.DEVNULL) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ORG_PLATFORM_SANDBOX_DIR"))}
    return subprocess.run(
        ["make", "--no-print-directory", *args],
        cwd=REPO_ROOT,
        env=env,
        stdin=stdin,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_the_operator_targets():
    run = make("help")
    assert run.returncode == 0, run.stderr
    for target in ("make init ENV=dev", "make plan ENV=dev", "make apply ENV=dev", "make drift ENV=dev"):
        assert target in run.stdout
    assert "make destroy ENV=dev" in run.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("plan",), "ENV is required, e.g. make plan ENV=dev"),
        (("apply", "ENV=nope"), "ENV=nope: no inventory inventories/nope"),
        (("init", "ENV=../etc"), "ENV=../etc: only letters, digits"),
    ],
)
def test_bad_env_is_refused_before_anything_runs(fake_bin, args, message):
    run = make(*args, f"BIN={fake_bin}")
    assert run.returncode == 2
    assert message in run.stderr
    assert "FAKE-PLAYBOOK" not in run.stdout


@pytest.mark.parametrize(
    ("target", "env", "expected"),
    [
        ("init", "sandbox", "key=emulator-dummy-access-key -i inventories/sandbox init.yml"),
        ("plan", "sandbox", "key=emulator-dummy-access-key -i inventories/sandbox site.yml --check --diff"),
        ("apply", "sandbox", "key=emulator-dummy-access-key -i inventories/sandbox sandbox/site.yml"),
        ("apply", "dev", "key=none -i inventories/dev site.yml"),
        ("plan", "dev", "key=none -i inventories/dev site.yml --check --diff"),
        ("drift", "sandbox", "key=emulator-dummy-access-key -i inventories/sandbox playbooks/drift.yml"),
    ],
)
def test_targets_are_thin_wrappers_over_the_playbooks(fake_bin, target, env, expected):
    run = make(target, f"ENV={env}", f"BIN={fake_bin}")
    assert run.returncode == 0, run.stderr
    assert f"FAKE-PLAYBOOK {expected}" in run.stdout
    # The sandbox's state directory on absolute (aws_ec2.yml resolves a relative one against the playbook).
    assert f"(state dir {REPO_ROOT / '.sandbox' if env == 'sandbox' else 'none'})" in run.stdout


def test_destroy_with_confirm_runs_destroy_yml(fake_bin):
    run = make("destroy", "ENV=sandbox", "CONFIRM=sandbox", f"BIN={fake_bin}", "ARGS=-v")
    assert run.returncode == 0, run.stderr
    assert "FAKE-PLAYBOOK key=emulator-dummy-access-key -i inventories/sandbox sandbox/destroy.yml" in run.stdout
    assert "-e confirm_destroy=sandbox -v" in run.stdout


@pytest.mark.parametrize(
    ("confirm", "message"),
    [("dev", "Confirmation 'dev' is not 'sandbox'; nothing was changed."), ("", "pass CONFIRM=sandbox")],
)
def test_destroy_refuses_without_the_right_confirmation(fake_bin, confirm, message):
    run = make("destroy", "ENV=sandbox", f"CONFIRM={confirm}", f"BIN={fake_bin}")
    assert run.returncode == 2
    assert message in run.stderr
    assert "FAKE-PLAYBOOK" not in run.stdout


@pytest.mark.parametrize(("answer", "runs"), [("sandbox", True), ("sandbx", False)])
def test_destroy_asks_for_the_environment_name_on_a_terminal(fake_bin, answer, runs):
    leader, follower = pty.openpty()
    try:
        os.write(leader, f"{answer}\n".encode())
        run = make("destroy", "ENV=sandbox", f"BIN={fake_bin}", stdin=follower)
    finally:
        os.close(follower)
        os.close(leader)
    assert ("FAKE-PLAYBOOK" in run.stdout) is runs, run.stdout + run.stderr
    assert run.returncode == (0 if runs else 2)


@pytest.mark.parametrize(
    ("given", "expected"),
    [(None, REPO_ROOT / ".sandbox"), ("rel/state", REPO_ROOT / "rel/state"), ("/srv/sbx", Path("/srv/sbx"))],
)
def test_make_sandbox_passes_the_state_directory_on_absolute(given, expected):
    # inventories/sandbox/aws_ec2.yml finds endpoints.json through ORG_PLATFORM_SANDBOX_DIR; a relative path
    # resolves against the playbook's directory when playbooks/nodes_ready.yml re-reads the inventory, so the
    # nodes vanished from it and the shared RDS role found no bastion host (make sandbox failed).
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ORG_PLATFORM_SANDBOX_DIR"))}
    if given is not None:
        env["ORG_PLATFORM_SANDBOX_DIR"] = given
    run = subprocess.run(
        ["make", "--no-print-directory", "-n", "sandbox"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert f"export ORG_PLATFORM_SANDBOX_DIR={expected};" in run.stdout
    # A failed `sandbox up` stops there (the trap still runs `sandbox down`), not in the playbooks.
    assert "-m sandbox up --nodes && \\" in run.stdout
