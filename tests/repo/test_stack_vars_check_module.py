# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin stack_vars_check module: real inventories pass, bad values fail with every problem listed."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.org.platform.plugins.modules import stack_vars_check

from sandbox.pytest_plugin import REPO_ROOT

CONTRACT = REPO_ROOT / "terraform" / "stacks.yml"
INVENTORIES = REPO_ROOT / "inventories"


def run_module(args: dict, capsys) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        stack_vars_check.main()
    return json.loads(capsys.readouterr().out)


def inventory_args(environment: str) -> dict:
    group_vars = INVENTORIES / environment / "group_vars" / "all"
    main = yaml.safe_load((group_vars / "main.yml").read_text())
    stacks = yaml.safe_load((group_vars / "stacks.yml").read_text())
    return {
        "contract_path": str(CONTRACT),
        "environment": main["platform_env"],
        "aws_region": main["platform_region"],
        "tags": main["platform_tags"],
        "stack_vars": stacks["terraform_stack_vars"],
        "inventories_dir": str(INVENTORIES),
    }


@pytest.mark.parametrize("environment", ["dev", "stg", "prod"])
def test_inventory_passes(environment: str, capsys) -> None:
    result = run_module(inventory_args(environment), capsys)
    assert result.get("failed") is not True, result
    assert result["changed"] is False
    assert result["stacks"]["00-network"]["environment"] == environment
    assert environment not in result["peer_vpc_cidrs"]
    assert {"dev", "stg", "prod"} - {environment} <= set(result["peer_vpc_cidrs"])


def test_overlap_with_another_environment_fails(capsys) -> None:
    args = inventory_args("stg")
    args["stack_vars"]["00-network"]["vpc_cidr"] = "10.0.0.0/16"  # dev's
    result = run_module(args, capsys)
    assert result["failed"] is True
    assert "overlap across environments" in result["msg"]
    assert "dev 10.0.0.0/16 overlaps stg 10.0.0.0/16" in result["msg"]


def test_bad_values_fail_with_all_problems(capsys) -> None:
    args = inventory_args("dev")
    args["stack_vars"]["00-network"]["azs"] = ["ap-northeast-2a"]
    args["stack_vars"]["00-network"]["nat_mode"] = "gateway"
    result = run_module(args, capsys)
    assert result["failed"] is True
    assert len(result["problems"]) == 2
    assert "at least 2 are required" in result["msg"]
    assert "nat_mode 'gateway' is unknown" in result["msg"]


def test_missing_contract_fails(capsys, tmp_path: Path) -> None:
    args = inventory_args("dev")
    args["contract_path"] = str(tmp_path / "missing.yml")
    result = run_module(args, capsys)
    assert result["failed"] is True
    assert "missing.yml" in result["msg"]
