# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stack runner's pure parts: validation before anything runs, fingerprints, state ids, simulated twins."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ansible_collections.org.platform.plugins.module_utils._terraform.backend import BackendConfig
from ansible_collections.org.platform.plugins.module_utils._terraform.errors import StackRunnerError
from ansible_collections.org.platform.plugins.module_utils._terraform.workspace import (
    config_fingerprint,
    is_simulated,
    state_ids,
)
from ansible_collections.org.platform.plugins.module_utils.stack_graph import graph_from_contract, graph_from_list
from ansible_collections.org.platform.plugins.module_utils.stack_runner import StackRunner
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


BACKEND = 'terraform {\n  backend "s3" {}\n}\n'
SOURCES = {
    "net": BACKEND
    + 'variable "environment" {}\nvariable "cidr" {}\nvariable "azs" {}\noutput "vpc_id" {\n  value = "vpc-1"\n}\n',
    "sec": BACKEND + 'variable "environment" {}\nvariable "vpc_id" {}\n',
}


@pytest.fixture
def stacks_root(tmp_path) -> Path:
    for name, text in SOURCES.items():
        (tmp_path / name).mkdir()
        (tmp_path / name / "main.tf").write_text(text)
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
    # Terraform's JSON syntax (the contract twins are main.tf.json) is Terraform too.
    (stacks_root / "net" / "main.tf.json").write_text('{"//": "SIMULATED"}')
    assert changed != config_fingerprint(stacks_root / "net", "bucket = 1", "engine")


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
    (stacks_root / "net" / "main.tf").write_text("# SIMULATED contract twin\n" + SOURCES["net"])
    assert is_simulated(graph["net"])


# ------------------------------------------------------------------- issue 18: refused before Terraform runs


def inline(tmp_path, sources: dict[str, str]) -> Path:
    root = tmp_path / "inline"
    for name, text in sources.items():
        (root / name).mkdir(parents=True)
        (root / name / "main.tf").write_text(text)
    return root


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ('variable "seed" {}\n', "stack 'a' has no backend block, so Terraform would keep its state in a local"),
        (
            'terraform {\n  required_version = ">= 1.5"\n}\nvariable "seed" {}\n',
            'add `terraform { backend "s3" {} }`',
        ),
        (
            'terraform {\n  backend "local" {\n    path = "x.tfstate"\n  }\n}\nvariable "seed" {}\n',
            "stack 'a' declares backend \"local\"; the runner keeps every stack's state in the S3 backend "
            "(b/dev/a/terraform.tfstate)",
        ),
        ('terraform {\n  cloud {\n    organization = "o"\n  }\n}\nvariable "seed" {}\n', 'declares backend "cloud"'),
    ],
)
def test_a_stack_without_an_s3_backend_is_refused_before_terraform_runs(tmp_path, source, message):
    root = inline(tmp_path, {"a": source})
    graph = graph_from_list([{"name": "a"}], root)
    with pytest.raises(StackRunnerError, match=re.escape(message)):
        runner(tmp_path, graph, {"a": {"seed": "x"}})
    assert not (tmp_path / "logs").exists()
    assert not (tmp_path / "work").exists()
    assert not list(root.rglob("*.tfstate"))


def test_a_backend_in_tf_json_counts(tmp_path):
    root = tmp_path / "json"
    (root / "a").mkdir(parents=True)
    (root / "a" / "main.tf.json").write_text(
        json.dumps({"terraform": {"backend": {"s3": {}}}, "variable": {"seed": {}}, "output": {"name": {"value": 1}}})
    )
    graph = graph_from_list([{"name": "a"}], root)
    assert runner(tmp_path, graph, {"a": {"seed": "x"}}).declarations["a"].outputs == {"name"}
    (root / "a" / "main.tf.json").write_text(json.dumps({"variable": {"seed": {}}}))
    with pytest.raises(StackRunnerError, match="has no backend block"):
        runner(tmp_path, graph, {"a": {"seed": "x"}})


UPSTREAM = BACKEND + 'variable "seed" {}\noutput "name" {\n  value = var.seed\n}\n'
DOWNSTREAM = BACKEND + 'variable "from_a" {}\nvariable "zones" {}\n'


def test_an_input_wired_from_an_undeclared_output_is_refused(tmp_path):
    root = inline(tmp_path, {"a": UPSTREAM, "b": DOWNSTREAM})
    graph = graph_from_list([{"name": "a"}, {"name": "b", "depends_on": ["a"], "inputs": {"from_a": "a.nmae"}}], root)
    with pytest.raises(StackRunnerError) as caught:
        runner(tmp_path, graph, {"a": {"seed": "x"}, "b": {"zones": []}})
    assert str(caught.value) == (
        "stack 'b' variable 'from_a' comes from a.nmae, but stack 'a' declares no output 'nmae' (its outputs: name)"
    )
    assert not (tmp_path / "logs").exists()


@pytest.mark.parametrize(
    ("values", "inputs", "message"),
    [
        (
            {"a": {"sede": "x"}, "b": {"zones": []}},
            {"from_a": "a.name"},
            "stack 'a' declares no variable 'sede' (given in its variables); it declares: seed",
        ),
        (
            {"a": {"seed": "x"}, "b": {"zones": [], "zone": "z", "extra": 1}},
            {"from_a": "a.name"},
            "stack 'b' declares no variable 'extra' (given in its variables; also 'zone'); it declares: from_a, zones",
        ),
        (
            {"a": {"seed": "x"}, "b": {"zones": []}},
            {"from_a": "a.name", "form_a2": "a.name"},
            "stack 'b' declares no variable 'form_a2' (wired from a.name)",
        ),
    ],
)
def test_a_value_for_an_undeclared_variable_is_refused(tmp_path, values, inputs, message):
    root = inline(tmp_path, {"a": UPSTREAM, "b": DOWNSTREAM})
    graph = graph_from_list([{"name": "a"}, {"name": "b", "depends_on": ["a"], "inputs": inputs}], root)
    with pytest.raises(StackRunnerError, match=re.escape(message)):
        runner(tmp_path, graph, values)
    assert not (tmp_path / "logs").exists()


def test_a_contract_stack_value_undeclared_in_its_files_is_refused(tmp_path, stacks_root):
    (stacks_root / "net" / "main.tf").write_text(SOURCES["net"].replace('variable "cidr" {}\n', ""))
    graph = graph_from_contract(CONTRACT, stacks_root)
    with pytest.raises(StackRunnerError, match="stack 'net' declares no variable 'cidr'"):
        runner(tmp_path, graph, {"net": {"cidr": "10.0.0.0/16"}})


def test_work_dir_inside_a_stack_is_refused(tmp_path, stacks_root):
    graph = graph_from_contract(CONTRACT, stacks_root)
    with pytest.raises(StackRunnerError, match="is inside stack 'net'"):
        StackRunner(
            graph=graph,
            engine=TerraformEngine(log_dir=tmp_path / "logs", environment="dev"),
            environment="dev",
            backend=BackendConfig(bucket="b", region="r"),
            work_dir=stacks_root / "net" / ".work",
            common_values={"environment": "dev"},
            stack_values={"net": {"cidr": "x"}},
        )


def test_lock_message_names_the_holder_and_one_command(tmp_path, stacks_root):
    from ansible_collections.org.platform.plugins.module_utils._terraform.backend import local_identity

    graph = graph_from_contract(CONTRACT, stacks_root)
    r = runner(tmp_path, graph, {"net": {"cidr": "x"}})
    lock_id = "5f3c8a52-1111-2222-3333-444455556666"
    mine = r.lock_message("net", {"ID": lock_id, "Who": local_identity(), "Operation": "OperationTypeApply"})
    assert f"locked by this user and host ({local_identity()}), most likely an earlier run that was killed" in mine
    command = (
        "ansible-playbook playbooks/stacks_unlock.yml -i inventories/dev "
        f"-e terraform_unlock_stack=net -e terraform_unlock_id={lock_id}"
    )
    assert command in mine
    theirs = r.lock_message("net", {"ID": lock_id, "Who": "alice@elsewhere"})
    assert "alice@elsewhere (another user or host: wait for that run to finish)" in theirs
    with pytest.raises(StackRunnerError, match="is not a Terraform lock ID"):
        r.force_unlock("net", "sg-*")
    with pytest.raises(StackRunnerError, match="unknown stack 'ghost'"):
        r.force_unlock("ghost", lock_id)


FAKE_UNLOCK = """#!/bin/sh
# A terraform that inits and answers force-unlock the way Terraform 1.15 does with both locks configured.
case "$1" in
  init) exit 0 ;;
  force-unlock) printf '%s\\n' "$FAKE_UNLOCK_OUTPUT" >&2; exit 1 ;;
esac
exit 2
"""


@pytest.mark.parametrize(
    ("output", "status"),
    [
        (
            "Failed to unlock state: failed to unlock S3: unable to retrieve file from S3 bucket 'b' with key "
            "'dev/net/terraform.tfstate.tflock': StatusCode: 404, NoSuchKey: The specified key does not exist.",
            "changed",
        ),
        (
            'Failed to unlock state: failed to unlock DynamoDB: failed to retrieve lock info for lock ID "x": '
            "unexpected end of JSON input",
            "changed",
        ),
        (
            "Failed to unlock state: failed to unlock both S3 and DynamoDB: S3 error: unable to retrieve file from "
            'S3 bucket \'b\': NoSuchKey, DynamoDB error: lock ID "x" does not match existing lock ("y")',
            "failed",
        ),
        ('Failed to unlock state: failed to unlock DynamoDB: lock ID "x" does not match existing lock ("y")', "failed"),
        ("Failed to unlock state: failed to unlock S3: lock ID 'x' does not match the existing lock ID 'y'", "failed"),
    ],
)
def test_force_unlock_counts_a_half_lock_released_and_nothing_else(tmp_path, stacks_root, monkeypatch, output, status):
    """Both locks configured: Terraform releases the half that exists (ID checked) and reports the missing half;
    only that case is a release, a mismatching ID on either half is a refusal."""
    script = tmp_path / "fake-terraform"
    script.write_text(FAKE_UNLOCK)
    script.chmod(0o755)
    monkeypatch.setenv("FAKE_UNLOCK_OUTPUT", output)
    r = StackRunner(
        graph=graph_from_contract(CONTRACT, stacks_root),
        engine=TerraformEngine(log_dir=tmp_path / "logs", environment="dev", binary_path=str(script)),
        environment="dev",
        backend=BackendConfig(bucket="b", region="r"),
        work_dir=tmp_path / "work",
        common_values={"environment": "dev"},
        stack_values={"net": {"cidr": "10.0.0.0/16"}},
    )
    result = r.force_unlock("net", "5f3c8a52-1111-2222-3333-444455556666")
    assert result.status == status, result.error
    assert result.changed is (status == "changed")
    if status == "failed":
        assert "force-unlock of lock 5f3c8a52-1111-2222-3333-444455556666 on net refused" in result.error
