# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stack runner's pure parts: validation before anything runs, fingerprints, state ids, simulated twins."""

from __future__ import annotations

from pathlib import Path

import pytest
from ansible_collections.org.platform.plugins.module_utils.stack_graph import graph_from_contract, graph_from_list
from ansible_collections.org.platform.plugins.module_utils.stack_runner import (
    BackendConfig,
    StackRunner,
    StackRunnerError,
    config_fingerprint,
    is_simulated,
    state_ids,
)
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import TerraformEngine

CONTRACT = {
    "version": 1,
    "common_variables": {"environment": {"type": "string"}},
    "stacks": {
        "net": {
            "variables": {"cidr": {"type": "string"}, "azs": {"type": "list(string)", "default": ["a", "b"]}},
            "outputs": {"vpc_id": {"type": "string", "example": "vpc-1"}},
        },
        "sec": {"depends_on": ["net"], "variables": {"vpc_id": {"type": "string", "from": "net.vpc_id"}}},
    },
}


@pytest.fixture
def stacks_root(tmp_path) -> Path:
    for name in ("net", "sec"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "main.tf").write_text('terraform {\n  backend "s3" {}\n}\n')
    return tmp_path


def runner(tmp_path, graph, values, common=None) -> StackRunner:
    return StackRunner(
        graph=graph,
        engine=TerraformEngine(log_dir=tmp_path / "logs", environment="dev", binary_path="/nonexistent/terraform"),
        environment="dev",
        backend=BackendConfig(bucket="b", region="r"),
        work_dir=tmp_path / "work",
        common_values=common if common is not None else {"environment": "dev"},
        stack_values=values,
    )


def test_valid_input_builds_a_runner(tmp_path, stacks_root):
    graph = graph_from_contract(CONTRACT, stacks_root)
    assert runner(tmp_path, graph, {"net": {"cidr": "10.0.0.0/16"}}).graph is graph


@pytest.mark.parametrize(
    ("values", "common", "message"),
    [
        ({"ghost": {}}, None, "variables given for unknown stack 'ghost'"),
        ({"net": {"cidr": "x", "nope": 1}}, None, "declares no variable 'nope'"),
        ({"net": {}}, None, "no value for required variable(s) cidr"),
        ({"net": {"cidr": "x"}}, {}, "no value for required variable(s) environment"),
        ({"net": {"cidr": "x", "azs": "a"}}, None, "variable 'azs': expected list"),
        ({"net": {"cidr": "x"}, "sec": {"vpc_id": "vpc-9"}}, None, "comes from net.vpc_id"),
        ({"net": {"cidr": "x"}}, {"environment": ["dev"]}, "variable 'environment': expected string"),
    ],
)
def test_bad_values_are_refused_before_anything_runs(tmp_path, stacks_root, values, common, message):
    graph = graph_from_contract(CONTRACT, stacks_root)
    with pytest.raises(StackRunnerError, match=message.replace("(", r"\(").replace(")", r"\)")):
        runner(tmp_path, graph, values, common)
    assert not (tmp_path / "logs").exists()


def test_missing_directory_and_empty_directory_are_refused(tmp_path, stacks_root):
    missing = graph_from_list([{"name": "x", "path": str(tmp_path / "nowhere")}])
    with pytest.raises(StackRunnerError, match="does not exist"):
        runner(tmp_path, missing, {})
    (tmp_path / "empty").mkdir()
    empty = graph_from_list([{"name": "x", "path": str(tmp_path / "empty")}])
    with pytest.raises(StackRunnerError, match="no Terraform files"):
        runner(tmp_path, empty, {})


def test_unknown_state_is_refused(tmp_path, stacks_root):
    graph = graph_from_contract(CONTRACT, stacks_root)
    with pytest.raises(StackRunnerError, match="state must be one of"):
        runner(tmp_path, graph, {"net": {"cidr": "x"}}).run("applied")


def test_fingerprint_changes_with_files_backend_and_engine(stacks_root):
    base = config_fingerprint(stacks_root / "net", "bucket = 1", "engine")
    assert base == config_fingerprint(stacks_root / "net", "bucket = 1", "engine")
    assert base != config_fingerprint(stacks_root / "net", "bucket = 2", "engine")
    assert base != config_fingerprint(stacks_root / "net", "bucket = 1", "tofu")
    (stacks_root / "net" / "extra.tf").write_text("# more\n")
    assert base != config_fingerprint(stacks_root / "net", "bucket = 1", "engine")
    (stacks_root / "net" / "notes.md").write_text("not Terraform")
    changed = config_fingerprint(stacks_root / "net", "bucket = 1", "engine")
    (stacks_root / "net" / "notes.md").write_text("still not Terraform")
    assert changed == config_fingerprint(stacks_root / "net", "bucket = 1", "engine")


def test_state_ids_walks_modules_and_skips_data_and_sensitive():
    module = {
        "resources": [
            {"mode": "managed", "values": {"id": "sg-1", "arn": "arn:aws:ec2:sg/sg-1"}},
            {"mode": "data", "values": {"id": "ami-ignored"}},
            {"mode": "managed", "values": {"id": "secret-id"}, "sensitive_values": {"id": True}},
            {"mode": "managed", "values": {"id": None, "arn": ""}},
        ],
        "child_modules": [{"resources": [{"mode": "managed", "values": {"id": "i-123"}}]}],
    }
    assert state_ids(module) == ["sg-1", "arn:aws:ec2:sg/sg-1", "i-123"]


def test_simulated_twins_are_recognised(tmp_path, stacks_root):
    graph = graph_from_contract(CONTRACT, stacks_root)
    assert not is_simulated(graph["net"])
    (stacks_root / "net" / "main.tf").write_text("# SIMULATED contract twin\n")
    assert is_simulated(graph["net"])
