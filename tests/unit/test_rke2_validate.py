# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""playbooks/rke2.yml refuses bad input on the controller before any node is touched, and skips RKE2 when no
release is configured. The inventory's nodes do not exist: any attempt to reach one would fail the run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
PLAYBOOK = str(Path(sys.executable).parent / "ansible-playbook")
SERVERS = ["i-00000000000000001", "i-00000000000000002"]
AGENT = "i-00000000000000003"


def _run(tmp_path, extra: dict, servers=SERVERS, hostvars=None) -> subprocess.CompletedProcess:
    hostvars = hostvars or {}
    inventory = {
        "all": {
            "vars": {
                "ansible_connection": "amazon.aws.aws_ssm",
                "ansible_aws_ssm_bucket_name": "no-such-transfer-bucket",
                "ansible_aws_ssm_region": "us-east-1",
                "ansible_aws_ssm_timeout": 60,
                "terraform_stack_vars": {"50-rke2": {"cluster_name": "t"}},
            },
            "children": {
                "rke2_servers": {"hosts": {s: hostvars.get(s, {}) for s in servers}},
                "rke2_agents": {"hosts": {AGENT: hostvars.get(AGENT, {})}},
            },
        }
    }
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps(inventory))
    env = {
        **os.environ,
        "ANSIBLE_CONFIG": str(REPO_ROOT / "ansible.cfg"),
        "AWS_ACCESS_KEY_ID": "emulator-dummy-access-key",
        "AWS_SECRET_ACCESS_KEY": "emulator-dummy-secret-access-key-0000",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    argv = [PLAYBOOK, "-i", str(path), "playbooks/rke2.yml", "-e", json.dumps(extra)]
    return subprocess.run(argv, capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300, check=False)


BUCKET = {"rke2_artifact_bucket": "artifacts"}


# The validation names every error at once, so two runs cover them all (each run takes seconds).
@pytest.mark.parametrize(
    ("extra", "servers", "messages"),
    [
        (
            BUCKET | {"rke2_cni": "weave", "rke2_config_extra": {"token": "x"}, "rke2_wait_timeout": 0},
            [],
            [
                "the inventory has no server (group rke2_servers is empty)",
                "rke2_cni weave is not one of",
                "rke2_config_extra must not hold a token",
                "rke2_wait_timeout must be at least 1 s",
            ],
        ),
        (
            BUCKET
            | {
                "rke2_require_odd_servers": True,
                "rke2_version": "v1.37.1+rke2r1",
                "rke2_ingress_controller": "ingress-nginx",
            },
            SERVERS,
            ["an even number of servers (2)", "v1.37.1+rke2r1 refuses ingress-controller ingress-nginx alone"],
        ),
        (
            BUCKET
            | {
                "rke2_version": "v1.28.15+rke2r1",
                "rke2_profile": "cis",
                "rke2_cloud_provider": "aws",
                "rke2_config_extra": {"cloud-provider-name": "aws", "protect-kernel-defaults": False},
                "rke2_drain_timeout": 0,
            },
            SERVERS,
            [
                "rke2_profile cis needs v1.29 or later",
                "profile cis forces protect-kernel-defaults",
                "rke2_cloud_provider aws is not none, metadata-node-name or external",
                "rke2_config_extra must not set cloud-provider-name (use rke2_profile and rke2_cloud_provider)",
                "rke2_drain_timeout must be at least 1 s",
            ],
        ),
        (
            BUCKET | {"rke2_version": "v1.31.4+rke2r1", "rke2_cloud_provider": "external", "rke2_profile": "stig"},
            SERVERS,
            [
                'rke2_profile must be "" or cis, not stig',
                "rke2_cloud_provider external needs v1.32 or later",
                "rke2_cloud_provider external needs rke2_aws_ccm_chart_file",
                "rke2_cloud_provider external needs rke2_vpc_id and rke2_cluster_id",
            ],
        ),
    ],
    ids=["no-server-cni-token-timeout", "even-servers-ingress-for-version", "cis-provider-extra", "external-needs"],
)
def test_bad_input_is_refused_before_any_node(tmp_path, extra, servers, messages):
    run = _run(tmp_path, extra, servers)
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    for message in messages:
        assert message in out, out
    assert "nothing was changed" in out
    assert "PLAY [RKE2 - first server]" not in out, out  # the run stopped on the controller


def test_without_a_release_rke2_is_skipped_and_no_node_is_contacted(tmp_path):
    run = _run(tmp_path, {})
    out = run.stdout + run.stderr
    assert run.returncode == 0, out
    for host in [*SERVERS, AGENT]:
        assert f"rke2: skipped on {host}: rke2_enabled is false" in out, out
    assert "unreachable=0" in out
    assert "UNREACHABLE" not in out


def test_external_cloud_provider_needs_the_ec2_and_elb_endpoints_and_the_cluster_tag(aws, tmp_path):
    """Checked on the controller against the emulator's VPC endpoints and the inventory's instance tags."""
    ec2 = boto3.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.70.0.0/16")["Vpc"]["VpcId"]
    service = "com.amazonaws.us-east-1.{}"
    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=service.format("ec2"), VpcEndpointType="Interface")
    chart = tmp_path / "aws-cloud-controller-manager-0.0.8.tgz"
    chart.write_bytes(b"\x1f\x8b not a real chart: the run stops before any node reads it")
    extra = BUCKET | {
        "rke2_version": "v1.33.5+rke2r1",
        "rke2_cloud_provider": "external",
        "rke2_aws_ccm_chart_file": str(chart),
        "rke2_vpc_id": vpc,
        "rke2_cluster_id": "dev-platform",
        "rke2_aws_endpoint_url": aws.aws_endpoint_url,
        "rke2_region": "us-east-1",
    }
    tagged = {"tags": {"kubernetes.io/cluster/dev-platform": "owned"}}
    run = _run(tmp_path, extra, hostvars={SERVERS[0]: tagged, AGENT: tagged})
    out = run.stdout + run.stderr
    assert run.returncode != 0, out
    assert f"VPC {vpc} has no available interface endpoint for com.amazonaws.us-east-1.elasticloadbalancing" in out, out
    assert "com.amazonaws.us-east-1.ec2," not in out, out
    assert f"nodes without the tag kubernetes.io/cluster/dev-platform: {SERVERS[1]}" in out, out
    assert "PLAY [RKE2 - first server]" not in out, out

    ec2.create_vpc_endpoint(VpcId=vpc, ServiceName=service.format("elasticloadbalancing"), VpcEndpointType="Interface")
    run = _run(tmp_path, extra, hostvars={host: tagged for host in [*SERVERS, AGENT]})
    out = run.stdout + run.stderr
    assert "rke2_cloud_provider external:" not in out, out
    assert "PLAY [RKE2 - first server]" in out, out  # past the checks: the run went on to the (absent) node
