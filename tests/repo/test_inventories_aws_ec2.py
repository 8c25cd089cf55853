# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 17 item 5, statically: the real environments' aws_ec2 inventories mirror the sandbox's.

Read as YAML, never parsed by the plugin here (that is tests/integration/test_aws_ec2_inventories.py, which
points it at the emulator or at nothing): same hostnames, compose and groups as inventories/sandbox, the
environment's own running instances only, the environment's region, the aws_ssm connection settings.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from sandbox.pytest_plugin import REPO_ROOT

REAL = ("dev", "stg", "prod")
SAMES = ("plugin", "hostnames", "compose", "groups", "keyed_groups", "strict")


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


def inventory(env: str) -> dict:
    return load(REPO_ROOT / "inventories" / env / "aws_ec2.yml")


@pytest.mark.parametrize("env", REAL)
def test_the_plugin_file_mirrors_the_sandbox_one(env):
    real, sandbox = inventory(env), inventory("sandbox")
    assert {k: real.get(k) for k in SAMES} == {k: sandbox.get(k) for k in SAMES}
    assert real["plugin"] == "amazon.aws.aws_ec2"
    assert real["hostnames"] == ["instance-id"]
    assert set(real["groups"]) == {"rke2_servers", "rke2_agents", "bastion", "harbor", "monitoring"}
    assert real["strict"] is True


@pytest.mark.parametrize("env", REAL)
def test_only_the_running_instances_of_the_environment_in_its_region(env):
    real = inventory(env)
    assert real["filters"] == {"instance-state-name": "running", "tag:Environment": env}
    region = load(REPO_ROOT / "inventories" / env / "group_vars" / "all" / "main.yml")["platform_region"]
    assert real["regions"] == [region]


@pytest.mark.parametrize("env", REAL)
def test_no_credentials_and_no_fixed_endpoint_in_a_real_inventory(env):
    real = inventory(env)
    assert not {"access_key", "secret_key", "session_token", "aws_access_key", "aws_secret_key"} & set(real)
    # The one endpoint rule: AWS_ENDPOINT_URL if set, a closed loopback port for the sandbox's dummy key,
    # else the SDK's own (None). Never a literal endpoint.
    endpoint = real["endpoint_url"]
    assert "AWS_ENDPOINT_URL" in endpoint
    assert "'http://127.0.0.1:9' if lookup('ansible.builtin.env', 'AWS_ACCESS_KEY_ID'" in endpoint
    assert "== 'emulator-dummy-access-key'" in endpoint
    assert endpoint.rstrip().endswith("else None) }}")


@pytest.mark.parametrize("env", REAL)
def test_connection_settings_are_aws_ssm_with_the_recommended_bounds(env):
    group_vars = load(REPO_ROOT / "inventories" / env / "group_vars" / "aws_ec2.yml")
    assert group_vars["ansible_connection"] == "amazon.aws.aws_ssm"
    assert group_vars["ansible_aws_ssm_bucket_name"] == "{{ platform_ssm_transfer_bucket }}"
    assert group_vars["ansible_aws_ssm_region"] == "{{ platform_region }}"
    assert 300 <= group_vars["ansible_aws_ssm_timeout"] <= 900
    assert 3 <= group_vars["ansible_aws_ssm_retries"] <= 5
    assert group_vars["ansible_aws_ssm_s3_addressing_style"] == "virtual"
    assert "~" not in group_vars["ansible_remote_tmp"]
    assert group_vars["ansible_remote_tmp"].startswith("/")
    # Nothing of the sandbox's stand-ins in a real environment.
    assert not {"ansible_aws_ssm_plugin", "ansible_aws_ssm_bucket_endpoint_url"} & set(group_vars)
    ssm = load(REPO_ROOT / "inventories" / env / "group_vars" / "all" / "ssm.yml")
    assert ssm["platform_ssm_transfer_bucket"] == "{{ platform_org }}-{{ platform_env }}-ssm-transfer"


def test_the_sandbox_and_real_connection_settings_differ_only_where_the_sandbox_must():
    sandbox = load(REPO_ROOT / "inventories" / "sandbox" / "group_vars" / "aws_ec2.yml")
    for env in REAL:
        real = load(REPO_ROOT / "inventories" / env / "group_vars" / "aws_ec2.yml")
        shared = {"ansible_connection", "ansible_aws_ssm_region", "ansible_aws_ssm_bucket_name", "ansible_remote_tmp"}
        assert {k: real[k] for k in shared} == {k: sandbox[k] for k in shared}
