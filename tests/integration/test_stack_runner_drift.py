# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""state: drift against the real engine and the S3 backend on the emulator (fixtures/gate: keep -> after).

ENGINE-MADE cases: clean after apply; pending after an inventory change; pending after the state was edited
out of band (the stored attribute no longer matches the code); error for a stack whose state lock is held,
while the other stack is still classified. Through all of them no state object changes (serial and lineage
read from S3). Resource drift proper (``resource_drift``) cannot be made here: terraform_data, the only
built-in resource, reads back its own state; its classification runs on hand-made plan JSON in the
collection's unit tests (test_stack_drift.py).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import boto3
import pytest
from ansible_collections.org.platform.plugins.module_utils._terraform.backend import BackendConfig
from ansible_collections.org.platform.plugins.module_utils.stack_graph import graph_from_list
from ansible_collections.org.platform.plugins.module_utils.stack_runner import StackRunner
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import TerraformEngine

from sandbox.pytest_plugin import create_state_backend

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parent / "fixtures" / "gate"
BUCKET = "drift-terraform-state-123456789012"
TABLE = "terraform-state-lock"
GRAPH = [{"name": "keep"}, {"name": "after", "depends_on": ["keep"], "inputs": {"from_keep": "keep.name"}}]


@pytest.fixture
def backend(aws) -> BackendConfig:
    create_state_backend(BUCKET, TABLE)
    return BackendConfig(bucket=BUCKET, region=aws.region, dynamodb_table=TABLE, endpoint_url=aws.aws_endpoint_url)


def runner(tmp_path, backend, note="first") -> StackRunner:
    return StackRunner(
        graph=graph_from_list(GRAPH, FIXTURES),
        engine=TerraformEngine(log_dir=tmp_path / "logs", environment="test"),
        environment="test",
        backend=backend,
        work_dir=tmp_path / "work",
        stack_values={"keep": {"seed": "one", "note": note}},
        lock_timeout="1s",
        drift_dir=tmp_path / "drift",
    )


def key(stack: str) -> str:
    return f"test/{stack}/terraform.tfstate"


def serials() -> dict[str, tuple[int, str]]:
    s3 = boto3.client("s3")
    found = {}
    for stack in ("keep", "after"):
        state = json.loads(s3.get_object(Bucket=BUCKET, Key=key(stack))["Body"].read())
        found[stack] = (state["serial"], state["lineage"])
    return found


def test_drift_classifies_each_stack_and_never_writes_state(tmp_path, backend):
    assert runner(tmp_path, backend).run("present").ok
    before = serials()

    clean = runner(tmp_path, backend).run("drift")
    assert clean.ok, clean.failure_message()
    assert [clean.results[n].drift["status"] for n in ("keep", "after")] == ["clean", "clean"]
    assert not clean.changed
    json_file, md_file = (Path(p) for p in clean.drift_files)
    assert json_file.name.endswith("_drift_test.json")
    assert json_file.parent == tmp_path / "drift"
    assert json.loads(json_file.read_text())["status"] == "clean"
    assert "| keep | clean |" in md_file.read_text()
    assert serials() == before

    # The inventory changed (keep's note) but was not applied: keep is pending, after is clean; the run fails.
    pending = runner(tmp_path, backend, note="second").run("drift")
    assert not pending.ok
    assert pending.results["keep"].drift["status"] == "pending"
    assert pending.results["keep"].drift["pending"]["resources"] == {"update": ["terraform_data.keep"]}
    assert pending.results["after"].drift["status"] == "clean"
    assert "keep: pending" in pending.failure_message()
    assert "after" not in pending.failure_message().split("; report")[0]
    assert serials() == before

    # after's stored attribute edited out of band (the state says something the code does not).
    s3 = boto3.client("s3")
    state = json.loads(s3.get_object(Bucket=BUCKET, Key=key("after"))["Body"].read())
    attributes = state["resources"][0]["instances"][0]["attributes"]
    assert attributes["input"] == {"type": "string", "value": "keep-one"}  # a dynamic value: typed in state
    attributes["input"]["value"] = "edited-out-of-band"
    state["serial"] += 1
    body = json.dumps(state).encode()
    s3.put_object(Bucket=BUCKET, Key=key("after"), Body=body)
    # The S3 backend checks the state against the MD5 digest it keeps in the lock table: keep them in step.
    digest = {"LockID": {"S": f"{BUCKET}/{key('after')}-md5"}, "Digest": {"S": hashlib.md5(body).hexdigest()}}  # noqa: S324
    boto3.client("dynamodb").put_item(TableName=TABLE, Item=digest)
    # keep's lock is held by someone else: keep is an error, and that hides nothing about after.
    info = {"ID": "5f3c8a52-1111-2222-3333-444455556666", "Operation": "OperationTypeApply", "Who": "alice@host"}
    info |= {"Info": "", "Version": "1.15.5", "Created": "2026-11-22T01:02:03Z", "Path": f"{BUCKET}/{key('keep')}"}
    boto3.client("dynamodb").put_item(
        TableName=TABLE, Item={"LockID": {"S": f"{BUCKET}/{key('keep')}"}, "Info": {"S": json.dumps(info)}}
    )
    edited = serials()
    mixed = runner(tmp_path, backend).run("drift")
    assert not mixed.ok
    assert mixed.results["keep"].drift["status"] == "error"
    assert "alice@host" in mixed.results["keep"].drift["error"]
    assert mixed.results["after"].drift["status"] == "pending"
    assert mixed.results["after"].drift["pending"]["resources"] == {"update": ["terraform_data.after"]}
    report = json.loads(Path(mixed.drift_files[0]).read_text())
    assert report["status"] == "error"
    assert {n: s["status"] for n, s in report["stacks"].items()} == {"keep": "error", "after": "pending"}
    assert serials() == edited, "a drift run writes no state"
    assert not list((tmp_path / "work").rglob("*.tfplan")), "no saved plan is left behind"
