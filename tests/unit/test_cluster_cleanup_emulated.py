# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cleanup engine on in-process moto with the sandbox emulator's rules (sandbox/emulator/) installed, on
estates built by the benchmark's seeder (benchmarks/cleanup.py): a missed dependency shows up as a
DependencyViolation here too."""

from __future__ import annotations

import stat
from pathlib import Path

import boto3
import pytest
from ansible_collections.org.platform.plugins.module_utils._cleanup import (
    CleanupError,
    ClusterCleanup,
)
from ansible_collections.org.platform.plugins.module_utils._runlog import parse_log_name
from botocore.config import Config
from moto import mock_aws

from benchmarks.cleanup import (
    cleanup_options,
    seed_estate,
    terminate_compute,
    terraform_destroy_security_and_network,
)
from sandbox.emulator import install_rules
from sandbox.emulator.rules import _state


@pytest.fixture
def moto(monkeypatch):
    install_rules()
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setattr(_state.CONFIG, "eni_linger_s", 0.5)
    config = Config(retries={"total_max_attempts": 1, "mode": "standard"})
    with mock_aws():
        clients = {s: boto3.client(s, region_name="us-east-1", config=config) for s in ("ec2", "elb", "elbv2", "sts")}
        yield clients


def test_engine_clears_the_estate_in_process(moto, tmp_path):
    estate = seed_estate(moto["ec2"], moto["elb"], moto["elbv2"], stray_enis=12)
    terminate_compute(moto["ec2"], estate)
    result = ClusterCleanup(cleanup_options(estate, audit_dir=tmp_path / "audit"), moto.__getitem__).run()
    assert result["completed"]
    assert result["verify"]["ok"], result["verify"]
    assert result["stats"]["dependency_violations"] == 0
    assert terraform_destroy_security_and_network(moto["ec2"], estate) == []
    # Every mutation is in the audit file.
    audit = (tmp_path / "audit" / result["audit_file"].rsplit("/", 1)[1]).read_text()
    for rid in result["deleted"]["security_groups"] + result["revoked_rules"]:
        assert rid in audit
    # The audit file follows the collection's log rule (name, 0600 in 0700).
    audit_file = Path(result["audit_file"])
    name = parse_log_name(audit_file.name)
    assert name is not None, audit_file.name
    assert name.what == "cleanup"
    assert stat.S_IMODE(audit_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(audit_file.parent.stat().st_mode) == 0o700


def test_engine_refuses_another_account_before_any_call_but_sts(moto):
    estate = seed_estate(moto["ec2"], moto["elb"], moto["elbv2"], clbs=0, albs=0, nlbs=0, stray_enis=0, workers=0)
    options = cleanup_options(estate, expected_account_id="999999999999")
    engine = ClusterCleanup(options, moto.__getitem__)
    with pytest.raises(CleanupError, match="refusing to run"):
        engine.run()
    assert engine.aws.stats()["api_calls_by_operation"] == {"sts:get_caller_identity": 1}


def test_deletion_protection_is_a_blocker_unless_allowed(moto):
    estate = seed_estate(moto["ec2"], moto["elb"], moto["elbv2"], clbs=0, albs=1, nlbs=0, stray_enis=0, workers=0)
    arn = estate.load_balancers["alb"][0]
    moto["elbv2"].modify_load_balancer_attributes(
        LoadBalancerArn=arn, Attributes=[{"Key": "deletion_protection.enabled", "Value": "true"}]
    )
    blocked = ClusterCleanup(cleanup_options(estate, phases=["lb"]), moto.__getitem__).run()
    reasons = {b["id"]: b["reason"] for b in blocked["blockers"]}
    assert set(reasons) == {arn, estate.target_groups[0]}
    assert "deletion protection" in reasons[arn]
    assert "in use by load balancer(s) that stay" in reasons[estate.target_groups[0]]
    assert blocked["deleted"]["target_groups"] == []
    assert len(moto["elbv2"].describe_load_balancers()["LoadBalancers"]) == 1
    allowed = ClusterCleanup(
        cleanup_options(estate, phases=["lb"], allow_disable_deletion_protection=True), moto.__getitem__
    ).run()
    assert allowed["deleted"]["load_balancers"] == [arn]
    assert allowed["deleted"]["target_groups"] == estate.target_groups
    assert moto["elbv2"].describe_load_balancers()["LoadBalancers"] == []


def test_unknown_owned_groups_need_the_opt_in(moto):
    estate = seed_estate(moto["ec2"], moto["elb"], moto["elbv2"], clbs=0, albs=0, nlbs=0, k8s_sgs=0, stray_enis=0)
    gid = moto["ec2"].create_security_group(
        GroupName="mystery",
        Description="x",
        VpcId=estate.vpc_id,
        TagSpecifications=[
            {
                "ResourceType": "security-group",
                "Tags": [{"Key": f"kubernetes.io/cluster/{estate.cluster}", "Value": "owned"}],
            }
        ],
    )["GroupId"]
    plan = ClusterCleanup(cleanup_options(estate, check_mode=True), moto.__getitem__).run()["plan"]
    entry = next(e for e in plan["security_groups"] if e["id"] == gid)
    assert entry["action"] == "skip"
    assert "include_unknown_owned" in entry["reason"]
    opted = ClusterCleanup(cleanup_options(estate, check_mode=True, include_unknown_owned=True), moto.__getitem__).run()
    assert gid in opted["plan"]["to_delete"]["security_groups"]
    # The stack's own cluster-tagged node group is protected either way.
    assert estate.stack_sg_ids[0] not in opted["plan"]["to_delete"]["security_groups"]


def test_check_mode_lists_only_what_the_selected_phases_delete(moto):
    estate = seed_estate(moto["ec2"], moto["elb"], moto["elbv2"], stray_enis=3, workers=0)
    planned = ClusterCleanup(cleanup_options(estate, check_mode=True, phases=["lb"]), moto.__getitem__).run()
    todo = planned["plan"]["to_delete"]
    assert sorted(todo["load_balancers"]) == sorted(lb for lbs in estate.load_balancers.values() for lb in lbs)
    assert sorted(todo["target_groups"]) == sorted(estate.target_groups)
    assert todo["network_interfaces"] == todo["security_groups"] == todo["rules"] == []
    applied = ClusterCleanup(cleanup_options(estate, phases=["lb"]), moto.__getitem__).run()
    assert sorted(applied["deleted"]["load_balancers"]) == sorted(todo["load_balancers"])
    assert applied["deleted"]["security_groups"] == applied["deleted"]["network_interfaces"] == []


def test_an_audit_directory_that_cannot_be_made_is_a_clean_refusal(moto, tmp_path):
    estate = seed_estate(moto["ec2"], moto["elb"], moto["elbv2"], clbs=0, albs=0, nlbs=0, stray_enis=0, workers=0)
    blocker = tmp_path / "file"
    blocker.write_text("")
    engine = ClusterCleanup(cleanup_options(estate, audit_dir=blocker / "audit"), moto.__getitem__)
    with pytest.raises(CleanupError, match="cannot open the audit log"):
        engine.run()
