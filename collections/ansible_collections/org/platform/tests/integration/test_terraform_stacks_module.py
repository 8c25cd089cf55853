# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""org.platform.terraform_stacks through ansible-playbook: bad input is refused before anything runs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import boto3
import pytest
from conftest import create_state_backend

from sandbox.services import REPO_ROOT

pytestmark = pytest.mark.integration

DIAMOND = Path(__file__).parent / "fixtures" / "diamond"
BUCKET = "module-test-state"


@pytest.fixture
def state_bucket(aws):
    create_state_backend(BUCKET)
    return aws


def run_module(playbook, tmp_path, sandbox, args: dict, check=False):
    """Run the module once from a throwaway play; return (PlaybookRun, the task result)."""
    base = {
        "environment": "test",
        "backend": {"bucket": BUCKET, "region": sandbox.region, "endpoint_url": sandbox.aws_endpoint_url},
        "work_dir": str(tmp_path / "work"),
        "log_dir": str(tmp_path / "logs"),
    }
    play = [
        {
            "name": "Run terraform_stacks",
            "hosts": "localhost",
            "gather_facts": False,
            "tasks": [
                {
                    "name": "Run the module",
                    "org.platform.terraform_stacks": base | args,
                    "register": "result",
                    "ignore_errors": True,
                },
                {"name": "Show the result", "ansible.builtin.debug": {"msg": "RESULT={{ result | to_json }}"}},
            ],
        }
    ]
    path = tmp_path / "play.yml"
    path.write_text(json.dumps(play))
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        textwrap.dedent(
            """
            all:
              hosts:
                localhost:
                  ansible_connection: local
                  ansible_python_interpreter: "{{ ansible_playbook_python }}"
            """
        )
    )
    run = playbook(path, inventory=inventory, check=check)
    marker = next(line for line in run.stdout.splitlines() if "RESULT=" in line)
    payload = marker.split("RESULT=", 1)[1].rstrip('"').encode().decode("unicode_escape")
    return run, json.loads(payload)


def stacks_list(**overrides):
    stacks = [
        {"name": "a", "path": str(DIAMOND / "a")},
        {"name": "b", "path": str(DIAMOND / "b"), "depends_on": ["a"], "inputs": {"from_a": "a.name"}},
    ]
    for stack in stacks:
        stack.update(overrides.get(stack["name"], {}))
    return stacks


GOOD_VARS = {"a": {"seed": "s", "db_password": "pw-xyz-123"}, "b": {"zones": ["z1"]}}


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"stacks": stacks_list(), "variables": GOOD_VARS, "only": ["nope"]}, "unknown stack 'nope'"),
        (
            {"stacks": stacks_list(a={"depends_on": ["b"]}), "variables": GOOD_VARS},
            "dependency cycle: a -> b -> a",
        ),
        (
            {"stacks": stacks_list(b={"path": "/nonexistent/stack"}), "variables": GOOD_VARS},
            "directory /nonexistent/stack does not exist",
        ),
        ({"stacks": stacks_list(), "variables": {"zz": {"x": 1}}}, "variables given for unknown stack 'zz'"),
        ({"stacks": stacks_list(), "variables": {"a": "not-a-mapping"}}, "must map each stack name"),
        ({"stacks": stacks_list(), "variables": GOOD_VARS, "environment": "Prod!"}, "environment 'Prod!'"),
        ({"stacks": stacks_list(), "variables": GOOD_VARS, "lock_timeout": "soon"}, "lock_timeout 'soon'"),
        (
            {
                "graph_file": str(REPO_ROOT / "terraform" / "stacks.yml"),
                "stacks_root": str(REPO_ROOT / "terraform" / "sandbox"),
                "variables": {"00-network": {"vpc_cidr": ["not", "a", "string"], "azs": ["a", "b"]}},
                "common_variables": {"environment": "test", "aws_region": "us-east-1", "tags": {}},
            },
            "variable 'vpc_cidr': expected string",
        ),
        (
            {
                "graph_file": str(REPO_ROOT / "terraform" / "stacks.yml"),
                "stacks_root": str(REPO_ROOT / "terraform" / "sandbox"),
                "variables": {"00-network": {"vpc_cidr": "10.0.0.0/16", "azs": ["a"], "bogus": 1}},
                "common_variables": {"environment": "test", "aws_region": "us-east-1", "tags": {}},
            },
            "declares no variable 'bogus'",
        ),
    ],
)
def test_bad_input_fails_clearly_and_changes_nothing(playbook, tmp_path, state_bucket, args, message):
    _, result = run_module(playbook, tmp_path, state_bucket, args)
    assert result["failed"] is True
    assert message in result["msg"]
    assert result["changed"] is False
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=BUCKET)
    assert not (tmp_path / "logs").exists(), "no Terraform command may run on bad input"


def test_check_mode_plans_and_reports_without_writing_state(playbook, tmp_path, state_bucket):
    args = {"stacks": stacks_list(), "variables": GOOD_VARS}
    _, result = run_module(playbook, tmp_path, state_bucket, args, check=True)
    assert result.get("failed") is not True, result["msg"]
    assert result["changed"] is True
    assert [s["status"] for s in result["stacks"]] == ["planned", "planned"]
    assert result["stacks"][0]["counts"] == {"create": 1}
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=BUCKET)

    _, applied = run_module(playbook, tmp_path, state_bucket, args)
    assert applied["changed"] is True
    assert applied["outputs"]["a"]["db_password"] == "(sensitive value)"
    assert "pw-xyz-123" not in json.dumps(applied)
    _, again = run_module(playbook, tmp_path, state_bucket, args)
    assert again["changed"] is False
    assert [s["status"] for s in again["stacks"]] == ["ok", "ok"]
