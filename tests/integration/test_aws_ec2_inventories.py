# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 17 item 5: the real environments' aws_ec2 inventories, parsed by the real plugin, never against AWS.

With the sandbox's dummy key and no AWS_ENDPOINT_URL (how `make test` runs) the plugin asks a closed loopback
port and fails at once; without credentials botocore stops before any request; with AWS_ENDPOINT_URL (the
`aws` fixture) it reads the emulator, which shows the groups exactly as AWS would.
"""

from __future__ import annotations

import json
import os
import subprocess
import time

import boto3
import pytest

from sandbox.pytest_plugin import VENV_BIN
from sandbox.services import REPO_ROOT

pytestmark = pytest.mark.integration

REAL = ("dev", "stg", "prod")
DUMMY = {
    "AWS_ACCESS_KEY_ID": "emulator-dummy-access-key",
    "AWS_SECRET_ACCESS_KEY": "emulator-dummy-secret-access-key-0000",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_EC2_METADATA_DISABLED": "true",
}


def _env(**extra: str) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env |= {
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "ANSIBLE_FORCE_COLOR": "0",
        "PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}",
        "AWS_CONFIG_FILE": "/dev/null",
        "AWS_SHARED_CREDENTIALS_FILE": "/dev/null",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    return env | extra


def _run(argv: list[str], env: dict) -> tuple[subprocess.CompletedProcess, float]:
    started = time.monotonic()
    answer = subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=120, check=False)
    return answer, time.monotonic() - started


@pytest.mark.parametrize("env", REAL)
def test_the_dummy_key_never_reaches_aws_and_parsing_does_not_hang(env):
    graph, seconds = _run([str(VENV_BIN / "ansible-inventory"), "-i", f"inventories/{env}", "--graph"], _env(**DUMMY))
    assert graph.returncode == 0, graph.stderr
    assert 'Could not connect to the endpoint URL: "http://127.0.0.1:9/' in graph.stderr, graph.stderr
    assert "amazonaws.com" not in graph.stdout + graph.stderr
    assert [line.strip(" |-") for line in graph.stdout.splitlines()] == ["@all:", "@ungrouped:", "localhost"]
    assert seconds < 60


def test_without_credentials_the_plugin_stops_before_any_request():
    graph, seconds = _run([str(VENV_BIN / "ansible-inventory"), "-i", "inventories/prod", "--graph"], _env())
    assert graph.returncode == 0, graph.stderr
    assert "Unable to locate credentials" in graph.stderr, graph.stderr
    assert seconds < 60


@pytest.mark.parametrize("env", REAL)
def test_site_syntax_check_with_a_real_inventory_does_not_call_aws(env):
    check, seconds = _run(
        [str(VENV_BIN / "ansible-playbook"), "site.yml", "-i", f"inventories/{env}", "--syntax-check"], _env(**DUMMY)
    )
    assert check.returncode == 0, check.stdout + check.stderr
    assert "playbook: site.yml" in check.stdout
    assert "127.0.0.1:9" in check.stderr  # the guard answered, not AWS
    assert seconds < 60


def _plain(value):
    """ansible-inventory --list marks values that came from AWS as unsafe: {"__ansible_unsafe": value}."""
    return value["__ansible_unsafe"] if isinstance(value, dict) and "__ansible_unsafe" in value else value


def _launch(ec2, image: str, tags: dict[str, str]) -> str:
    spec = [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}]
    answer = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, TagSpecifications=spec)
    return answer["Instances"][0]["InstanceId"]


def test_against_the_emulator_the_groups_hold_the_running_instances_of_the_environment(aws):
    ec2 = boto3.client("ec2", region_name="ap-northeast-2")
    image = ec2.register_image(Name="golden-dev")["ImageId"]
    server = _launch(ec2, image, {"Environment": "dev", "Role": "rke2-server", "Name": "dev-rke2-server-0"})
    agent = _launch(ec2, image, {"Environment": "dev", "Role": "rke2-agent"})
    bastion = _launch(ec2, image, {"Environment": "dev", "Role": "bastion"})
    stopped = _launch(ec2, image, {"Environment": "dev", "Role": "rke2-agent"})
    ec2.stop_instances(InstanceIds=[stopped])
    other_env = _launch(ec2, image, {"Environment": "stg", "Role": "rke2-server"})
    us_east = boto3.client("ec2", region_name="us-east-1")
    elsewhere = _launch(
        us_east, us_east.register_image(Name="golden-elsewhere")["ImageId"], {"Environment": "dev", "Role": "bastion"}
    )
    env = _env(**DUMMY, AWS_ENDPOINT_URL=aws.aws_endpoint_url)
    graph, _ = _run([str(VENV_BIN / "ansible-inventory"), "-i", "inventories/dev", "--graph"], env)
    assert graph.returncode == 0, graph.stderr
    assert "Unable to parse" not in graph.stderr, graph.stderr
    lines = [line.strip(" |-") for line in graph.stdout.splitlines()]
    assert lines[lines.index("@rke2_servers:") + 1] == server
    assert lines[lines.index("@rke2_agents:") + 1] == agent
    assert lines[lines.index("@bastion:") + 1] == bastion
    for absent in (stopped, other_env, elsewhere):
        assert absent not in graph.stdout
    listing, _ = _run([str(VENV_BIN / "ansible-inventory"), "-i", "inventories/dev", "--list"], env)
    hostvars = {k: _plain(v) for k, v in json.loads(listing.stdout)["_meta"]["hostvars"][server].items()}
    assert hostvars["ansible_host"] == server
    assert hostvars["ansible_connection"] == "amazon.aws.aws_ssm"
    assert hostvars["ansible_aws_ssm_timeout"] == 600
    assert hostvars["ansible_remote_tmp"] == "/var/tmp/ansible-$USER"
