# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""awx/configure.yml against a stand-in of the AWX API on 127.0.0.1 (sandbox/awx_api.py; no AWX server runs here,
SIMULATED): the first apply creates every object, a second apply writes nothing and reports nothing changed, a rotation rewrites only the credentials, and pruning removes a marked object the code no
longer lists while an unmarked one made by hand stays."""

from __future__ import annotations

import os
import re
import subprocess
from collections import Counter

import pytest

from devtools import awx_check
from sandbox.awx_api import AwxStub
from sandbox.pytest_plugin import VENV_BIN
from sandbox.services import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=160)]
RECAP_RE = re.compile(r"localhost\s*:\s*ok=\d+\s+changed=(\d+)\s+unreachable=0\s+failed=0")


def apply(stub: AwxStub, *extra: str) -> tuple[int, list[tuple[str, str]]]:
    """One configure.yml run: (changed count of the recap, the writes it sent)."""
    before = len(stub.requests)
    env = os.environ | {
        "CONTROLLER_HOST": stub.url,
        "CONTROLLER_OAUTH_TOKEN": "stand-in-token",
        "AWX_PROJECT_SCM_URL": "https://git.example.com/platform/org-platform.git",
        "AWX_EE_IMAGE": "registry.example.com/org-platform-ee:1",
        "AWX_DRIFT_WEBHOOK_URL": "http://127.0.0.1:9/hook",
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
    }
    argv = [
        str(VENV_BIN / "ansible-playbook"),
        "awx/configure.yml",
        "-i",
        "localhost,",
        "-e",
        "@awx/secrets.example.yml",
    ]
    run = subprocess.run(
        [*argv, *extra], cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600, check=False
    )
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    match = RECAP_RE.search(run.stdout)
    assert match, run.stdout[-3000:]
    return int(match.group(1)), [r for r in stub.requests[before:] if r[0] != "GET"]


def test_a_second_apply_writes_nothing_and_pruning_takes_only_marked_objects():
    made = awx_check.objects()
    print("SIMULATED: awx/configure.yml against sandbox/awx_api.py, a stand-in of the AWX API (no AWX server here)")
    with AwxStub() as stub:
        changed, writes = apply(stub)
        assert changed > 0
        for kind, endpoint in (
            ("job_template", "job_templates"),
            ("credential", "credentials"),
            ("schedule", "schedules"),
        ):
            names = sorted(item["name"] for item in stub.objects[endpoint].values())
            assert names == sorted(item["name"] for item in made[kind]), kind
        assert Counter(method for method, _ in writes)["POST"] > 50

        # A second apply: nothing changed, and not one write (the survey and update_secrets traps handled).
        changed, writes = apply(stub)
        assert (changed, writes) == (0, [])

        # The stand-in keeps secrets as AWX does ($encrypted$ on read): a rotation rewrites every credential that
        # holds a secret (the AWS keys; the account ids are no secret), and nothing else.
        changed, writes = apply(stub, "-e", "awx_update_secrets=true")
        assert changed == 1, "only the credentials task"
        assert {(method, path.split("/")[3]) for method, path in writes} == {("PATCH", "credentials")}
        with_secrets = [c for c in made["credential"] if c["credential_type"] == "Amazon Web Services"]
        assert len(writes) == len(with_secrets) == 3

        # Pruning: a marked job template the code no longer lists goes; one made by hand (no marker) stays.
        marker = awx_check.load_config()["awx_marker"]
        org = next(iter(stub.objects["organizations"]))
        stub.create("job_templates", {"name": "old-report-dev", "description": f"gone {marker}", "organization": org})
        stub.create("job_templates", {"name": "made-by-hand", "description": "from the UI", "organization": org})
        changed, writes = apply(stub, "--check")
        assert writes == [], "check mode writes nothing"
        assert changed > 0
        changed, writes = apply(stub)
        names = {item["name"] for item in stub.objects["job_templates"].values()}
        assert "old-report-dev" not in names
        assert "made-by-hand" in names
        assert [method for method, _ in writes] == ["DELETE"]
