# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""org.platform.terraform_stacks through ansible-playbook: bad input is refused before anything runs."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import boto3
import pytest

from sandbox.pytest_plugin import create_state_backend
from sandbox.services import REPO_ROOT

pytestmark = [pytest.mark.integration, pytest.mark.slow(seconds=65)]

DIAMOND = Path(__file__).parent / "fixtures" / "diamond"
BUCKET = "module-test-state"


@pytest.fixture
def state_bucket(aws):
    create_state_backend(BUCKET)
    return aws


def run_module(playbook, tmp_path, sandbox, args: dict, check=False, diff=False, dirs=True):
    """Run the module once from a throwaway play; return (PlaybookRun, the task result)."""
    base = {
        "environment": "test",
        "backend": {"bucket": BUCKET, "region": sandbox.region, "endpoint_url": sandbox.aws_endpoint_url},
    }
    if dirs:
        base |= {"work_dir": str(tmp_path / "work"), "log_dir": str(tmp_path / "logs")}
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
    run = playbook(path, inventory=inventory, check=check, diff=diff)
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
        ({"stacks": stacks_list(), "variables": GOOD_VARS, "policy_dir": "/nonexistent/policy"}, "is not a directory"),
        (
            {"stacks": stacks_list(), "variables": GOOD_VARS, "policy_dir": str(REPO_ROOT / "policy"), "gate": "maybe"},
            "value of gate must be one of: enforce, warn, off",
        ),
        (
            {
                "stacks": stacks_list(),
                "variables": GOOD_VARS,
                "policy_dir": str(REPO_ROOT / "policy"),
                "protected_addresses": {"zz": ["terraform_data.a"]},
            },
            "protected_addresses names unknown stack(s): zz",
        ),
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
    args = {"stacks": stacks_list(), "variables": GOOD_VARS, "policy_dir": str(REPO_ROOT / "policy")}
    _, result = run_module(playbook, tmp_path, state_bucket, args, check=True)
    assert result.get("failed") is not True, result["msg"]
    assert result["changed"] is True
    assert [s["status"] for s in result["stacks"]] == ["planned", "planned"]
    assert result["stacks"][0]["counts"] == {"create": 1}
    # Check mode reports the plan gate's verdict per stack (both plans pass the repository's policies).
    assert [(s["gate"]["passed"], s["gate"]["mode"]) for s in result["stacks"]] == [(True, "enforce")] * 2
    assert "gate passed" in result["msg"]
    assert "pw-xyz-123" not in json.dumps(result)
    assert "Contents" not in boto3.client("s3").list_objects_v2(Bucket=BUCKET)

    _, applied = run_module(playbook, tmp_path, state_bucket, args)
    assert applied["changed"] is True
    assert applied["outputs"]["a"]["db_password"] == "(sensitive value)"
    assert "pw-xyz-123" not in json.dumps(applied)
    _, again = run_module(playbook, tmp_path, state_bucket, args)
    assert again["changed"] is False
    assert [s["status"] for s in again["stacks"]] == ["ok", "ok"]


# ----------------------------------------------------------------------------------------------- issue 18


def test_check_mode_destroy_plans_destroy_and_the_diff_lists_deletions(playbook, tmp_path, state_bucket):
    args = {"stacks": stacks_list(), "variables": GOOD_VARS}
    _, applied = run_module(playbook, tmp_path, state_bucket, args)
    assert applied["changed"] is True, applied["msg"]
    before = [o["ETag"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    _, planned = run_module(playbook, tmp_path, state_bucket, args | {"state": "absent"}, check=True, diff=True)
    assert planned.get("failed") is not True, planned["msg"]
    assert planned["changed"] is True
    assert [(s["name"], s["action"], s["status"]) for s in planned["stacks"]] == [
        ("b", "plan-destroy", "planned"),
        ("a", "plan-destroy", "planned"),
    ]
    assert [s["counts"] for s in planned["stacks"]] == [{"delete": 1}, {"delete": 1}]
    prepared = [entry["prepared"] for entry in planned["diff"]]
    assert prepared == [
        "# stack b (plan-destroy)\n- terraform_data.b  (delete)\n",
        "# stack a (plan-destroy)\n- terraform_data.a  (delete)\n",
    ]
    after = [o["ETag"] for o in boto3.client("s3").list_objects_v2(Bucket=BUCKET)["Contents"]]
    assert before == after, "check mode changes nothing"


def test_diff_shows_changed_attributes_with_sensitive_values_masked(playbook, tmp_path, state_bucket):
    args = {"stacks": stacks_list(), "variables": GOOD_VARS}
    run_module(playbook, tmp_path, state_bucket, args)
    changed = {"a": GOOD_VARS["a"] | {"seed": "t"}, "b": GOOD_VARS["b"]}
    run, planned = run_module(playbook, tmp_path, state_bucket, args | {"variables": changed}, check=True, diff=True)
    assert planned.get("failed") is not True, planned["msg"]
    first = planned["diff"][0]["prepared"]
    assert first.startswith("# stack a (plan)\n~ terraform_data.a  (update)\n")
    assert '~ input: "s" -> "t"' in first
    assert "pw-xyz-123" not in run.output


def test_a_stack_stopped_by_an_unreadable_upstream_fails_the_task(playbook, tmp_path, state_bucket):
    edge = Path(__file__).parent / "fixtures" / "edge"
    stacks = [
        {"name": "broken", "path": str(edge / "broken")},
        {
            "name": "consumer",
            "path": str(edge / "consumer"),
            "depends_on": ["broken"],
            "inputs": {"value": "broken.name"},
        },
    ]
    _, result = run_module(playbook, tmp_path, state_bucket, {"stacks": stacks, "only": ["consumer"]})
    assert result["failed"] is True
    assert result["msg"].startswith("stack(s) failed: reading broken's outputs failed (init failed")
    assert result["msg"].endswith("not run because of that: consumer (by broken)")
    assert result["stacks"][0]["status"] == "skipped"


def test_work_and_log_dirs_default_inside_the_repository_and_are_required_outside(playbook, tmp_path, state_bucket):
    import shutil

    env = "t18dirs"
    try:
        _, result = run_module(
            playbook,
            tmp_path,
            state_bucket,
            {"stacks": stacks_list(), "variables": GOOD_VARS, "environment": env},
            check=True,
            dirs=False,
        )
        assert result.get("failed") is not True, result["msg"]
        assert (REPO_ROOT / ".work" / env / "a" / ".terraform").is_dir()
        assert list((REPO_ROOT / "logs" / "terraform").glob(f"*_a_plan_{env}.log"))
    finally:
        shutil.rmtree(REPO_ROOT / ".work" / env, ignore_errors=True)
        for log in (REPO_ROOT / "logs" / "terraform").glob(f"*_{env}.log"):
            log.unlink()

    outside = tmp_path / "elsewhere"
    shutil.copytree(DIAMOND / "a", outside / "a")
    _, refused = run_module(
        playbook,
        tmp_path,
        state_bucket,
        {"stacks": [{"name": "a", "path": str(outside / "a")}], "variables": {"a": GOOD_VARS["a"]}},
        dirs=False,
    )
    assert refused["failed"] is True
    assert (
        "work_dir and log_dir are required when the stacks are not inside the org.platform repository" in refused["msg"]
    )


def test_force_unlock_releases_exactly_that_lock(playbook, tmp_path, state_bucket):
    args = {"stacks": stacks_list(), "variables": GOOD_VARS}
    run_module(playbook, tmp_path, state_bucket, args)
    lock_id = "5f3c8a52-1111-2222-3333-444455556666"
    key = f"{BUCKET}/test/a/terraform.tfstate"
    info = {"ID": lock_id, "Operation": "OperationTypeApply", "Who": "me@here", "Path": key, "Version": "1.15.5"}
    dynamodb = boto3.client("dynamodb")
    dynamodb.put_item(TableName="terraform-state-lock", Item={"LockID": {"S": key}, "Info": {"S": json.dumps(info)}})

    wrong = "00000000-0000-0000-0000-000000000000"
    _, refused = run_module(playbook, tmp_path, state_bucket, args | {"force_unlock": {"stack": "a", "lock_id": wrong}})
    assert refused["failed"] is True
    assert f"force-unlock of lock {wrong} on a refused" in refused["msg"]
    item = dynamodb.get_item(TableName="terraform-state-lock", Key={"LockID": {"S": key}})
    assert json.loads(item["Item"]["Info"]["S"])["ID"] == lock_id

    _, released = run_module(
        playbook, tmp_path, state_bucket, args | {"force_unlock": {"stack": "a", "lock_id": lock_id}}
    )
    assert released.get("failed") is not True, released["msg"]
    assert released["changed"] is True
    assert "Info" not in dynamodb.get_item(TableName="terraform-state-lock", Key={"LockID": {"S": key}}).get("Item", {})
    unlock_logs = sorted((tmp_path / "logs").rglob("*force-unlock*.log"))
    assert len(unlock_logs) == 2, unlock_logs
    coloured = [log.name for log in (tmp_path / "logs").rglob("*.log") if b"\x1b[" in log.read_bytes()]
    assert not coloured, f"ANSI colour codes in the Terraform logs: {coloured}"
    _, again = run_module(playbook, tmp_path, state_bucket, args)
    assert again["changed"] is False, "the stacks are untouched by the unlock"
