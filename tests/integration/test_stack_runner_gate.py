# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan gate inside the stack runner: real engine, S3 backend on the emulator, the repository's policy/.

fixtures/gate: ``keep`` (terraform_data.keep, replaced when its seed changes; the run marks it protected)
and ``after`` (depends on keep). A deny stops keep before apply and skips after, leaving the state as it was;
a warn-only plan (the protected replace under an explicit override) applies; check mode reports the gate.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import boto3
import pytest
from ansible_collections.org.platform.plugins.module_utils._terraform.backend import BackendConfig
from ansible_collections.org.platform.plugins.module_utils._terraform.errors import StackRunnerError
from ansible_collections.org.platform.plugins.module_utils._terraform.gate import RunGate
from ansible_collections.org.platform.plugins.module_utils.stack_graph import graph_from_list
from ansible_collections.org.platform.plugins.module_utils.stack_runner import StackRunner
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import TerraformEngine

from sandbox.pytest_plugin import REPO_ROOT, create_state_backend

pytestmark = pytest.mark.integration

FIXTURES = Path(__file__).parent / "fixtures" / "gate"
BUCKET = "gate-terraform-state-123456789012"
GRAPH = [{"name": "keep"}, {"name": "after", "depends_on": ["keep"], "inputs": {"from_keep": "keep.name"}}]
PROTECTED = {"keep": ["terraform_data.keep"]}


@pytest.fixture
def backend(aws) -> BackendConfig:
    create_state_backend(BUCKET)
    return BackendConfig(bucket=BUCKET, region=aws.region, endpoint_url=aws.aws_endpoint_url)


def runner(tmp_path, backend, seed, policy_dir=REPO_ROOT / "policy", **gate_options) -> StackRunner:
    gate = RunGate(policy_dir, environment="test", protected_addresses=PROTECTED, **gate_options)
    return StackRunner(
        graph=graph_from_list(GRAPH, FIXTURES),
        engine=TerraformEngine(log_dir=tmp_path / "logs", environment="test"),
        environment="test",
        backend=backend,
        work_dir=tmp_path / "work",
        stack_values={"keep": {"seed": seed}},
        lock_timeout="2s",
        gate=gate,
    )


def states() -> dict[str, str]:
    s3 = boto3.client("s3")
    return {o["Key"]: o["ETag"] for o in s3.list_objects_v2(Bucket=BUCKET).get("Contents", [])}


def test_a_denied_plan_is_not_applied_nor_are_its_dependents(tmp_path, backend):
    first = runner(tmp_path, backend, "one").run("present")
    assert first.ok, first.failure_message()
    assert first.results["keep"].gate["passed"] is True
    assert first.results["keep"].gate["mode"] == "enforce"
    assert "gate passed" in first.summary()
    applied = states()
    assert sorted(applied) == ["test/after/terraform.tfstate", "test/keep/terraform.tfstate"]

    # Check mode: the replace of the protected resource is reported as a deny, nothing is written, the run
    # is not ok (the apply would be refused), and the dependent is still planned.
    planned = runner(tmp_path, backend, "two").run("present", check=True)
    keep = planned.results["keep"]
    assert keep.status == "planned"
    assert keep.gate["passed"] is False
    assert [(d["rule"], d["address"]) for d in keep.gate["deny"]] == [("protected", "terraform_data.keep")]
    assert not planned.ok
    assert "keep (plan gate would deny the apply: [protected] terraform_data.keep:" in planned.failure_message()
    assert planned.results["after"].status == "planned"
    assert states() == applied

    denied = runner(tmp_path, backend, "two").run("present")
    keep = denied.results["keep"]
    assert keep.status == "failed"
    assert "plan gate denied the plan, nothing applied: [protected] terraform_data.keep:" in keep.error
    assert "delete,create" in keep.error or "create,delete" in keep.error
    assert (denied.results["after"].status, denied.results["after"].blocked_by) == ("skipped", "keep")
    assert "gate DENIED, 1 deny" in denied.summary()
    assert states() == applied, "a denied plan must change no state"
    assert not list((tmp_path / "work").rglob("plan.tfplan")), "the saved plan is removed after the run"

    # gate=warn reports the same deny and applies; so does an explicit override (a warning, not a deny).
    overridden = runner(tmp_path, backend, "two", protected_overrides=["terraform_data.keep"]).run("present")
    assert overridden.ok, overridden.failure_message()
    keep = overridden.results["keep"]
    assert keep.status == "changed"
    assert keep.gate["passed"] is True
    assert [(w["rule"], w["address"]) for w in keep.gate["warn"]] == [("protected", "terraform_data.keep")]
    assert overridden.results["after"].status == "changed"
    assert states()["test/keep/terraform.tfstate"] != applied["test/keep/terraform.tfstate"]

    warned = runner(tmp_path, backend, "three", mode="warn").run("present")
    assert warned.ok, warned.failure_message()
    assert warned.results["keep"].status == "changed"
    assert warned.results["keep"].gate["passed"] is False
    assert warned.results["keep"].gate["mode"] == "warn"


def test_an_expired_waiver_denies(tmp_path, backend):
    assert runner(tmp_path, backend, "one").run("present").ok
    policy = tmp_path / "policy"
    shutil.copytree(REPO_ROOT / "policy", policy)
    (policy / "waivers.yml").write_text(
        "waivers:\n  - rule: protected\n    address: terraform_data.keep\n    reason: a one-off rebuild\n"
        "    owner: ops@example.com\n    expires: 2020-01-31\n"
    )
    before = states()
    report = runner(tmp_path, backend, "two", policy_dir=policy).run("present")
    keep = report.results["keep"]
    assert keep.status == "failed"
    assert [(d["rule"], d["address"]) for d in keep.gate["deny"]] == [("waiver-expired", "terraform_data.keep")]
    assert "expired on 2020-01-31" in keep.error
    assert report.results["after"].status == "skipped"
    assert states() == before


def test_bad_gate_options_are_refused(tmp_path):
    with pytest.raises(StackRunnerError, match="is not a directory"):
        RunGate(tmp_path / "nope")
    with pytest.raises(StackRunnerError, match="gate must be one of enforce, warn, off"):
        RunGate(REPO_ROOT / "policy", mode="maybe")
    with pytest.raises(StackRunnerError, match="cost_warn_percent"):
        RunGate(REPO_ROOT / "policy", cost_warn_percent=50, cost_deny_percent=10)
    broken = tmp_path / "policy"
    broken.mkdir()
    (broken / "bad.rego").write_text("package main\n\ndeny contains x if {\n")
    with pytest.raises(StackRunnerError, match=r"plan gate: .*bad\.rego"):
        RunGate(broken)
