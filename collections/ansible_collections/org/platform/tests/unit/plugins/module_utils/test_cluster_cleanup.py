# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/cluster_cleanup: classification, options, retries, guards, and the engine on in-process moto.

The engine tests run on moto's in-process ``mock_aws`` with the sandbox emulator's rules installed (the
same rules the server runs), so a missed dependency shows up as a DependencyViolation here too.
"""

from __future__ import annotations

import json
import re
import stat
from pathlib import Path

import boto3
import pytest
from ansible_collections.org.platform.plugins.module_utils._cleanup import (
    AwsCalls,
    CleanupError,
    CleanupOptions,
    ClusterCleanup,
    Deadline,
    classify_tags,
    lb_eni_description,
)
from ansible_collections.org.platform.plugins.module_utils._cleanup.audit import AuditLog, audit_label
from ansible_collections.org.platform.plugins.module_utils._runlog import Redactor, parse_log_name
from botocore.config import Config
from botocore.exceptions import ClientError
from moto import mock_aws

from benchmarks.cleanup import (
    cleanup_options,
    seed_estate,
    terminate_compute,
    terraform_destroy_security_and_network,
)
from sandbox.emulator import install_rules
from sandbox.emulator.rules import _state

C = ["rke2-a"]


@pytest.mark.parametrize(
    ("tags", "kind", "kw", "state", "needle"),
    [
        ({"elbv2.k8s.aws/cluster": "rke2-a"}, "security_group", {}, "ours", "aws-load-balancer-controller"),
        ({"ingress.k8s.aws/cluster": "rke2-a"}, "load_balancer", {}, "ours", "legacy ALB"),
        (
            {"kubernetes.io/cluster/rke2-a": "owned", "kubernetes.io/service-name": "ns/svc"},
            "load_balancer",
            {},
            "ours",
            "cloud provider",
        ),
        ({"KubernetesCluster": "rke2-a", "kubernetes.io/service-name": "ns/svc"}, "target_group", {}, "ours", "Kub"),
        ({"kubernetes.io/cluster/rke2-a": "owned"}, "security_group", {"name": "k8s-elb-abc"}, "ours", "k8s-elb-*"),
        ({"kubernetes.io/cluster/rke2-a": "owned"}, "security_group", {"name": "tf-nodes"}, "ours_unknown", "finger"),
        ({"kubernetes.io/cluster/rke2-a": "owned"}, "load_balancer", {}, "ours_unknown", "fingerprint"),
        ({"kubernetes.io/cluster/rke2-a": "shared"}, "security_group", {"name": "k8s-elb-x"}, "shared", "shared"),
        ({"kubernetes.io/cluster/other": "owned"}, "security_group", {"name": "k8s-elb-x"}, "other_cluster", "other"),
        ({"elbv2.k8s.aws/cluster": "other"}, "load_balancer", {}, "other_cluster", "another cluster"),
        (
            {"elbv2.k8s.aws/cluster": "rke2-a", "kubernetes.io/cluster/other": "owned"},
            "load_balancer",
            {},
            "shared",
            "our and other",
        ),
        ({"Name": "x"}, "security_group", {}, "none", "no cluster tag"),
    ],
)
def test_classify_tags(tags, kind, kw, state, needle):
    owner = classify_tags(tags, C, kind=kind, **kw)
    assert owner.state == state
    assert needle in owner.reason


def test_lb_eni_descriptions():
    arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/web/0123456789abcdef"
    assert lb_eni_description({"LoadBalancerArn": arn, "LoadBalancerName": "web", "Type": "application"}) == (
        "ELB app/web/0123456789abcdef"
    )
    assert lb_eni_description({"LoadBalancerArn": arn, "LoadBalancerName": "web", "Type": "network"}) == (
        "ELB net/web/0123456789abcdef"
    )
    assert lb_eni_description({"LoadBalancerName": "a0123"}) == "ELB a0123"


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"cluster_names": []}, "cluster_names"),
        ({"vpc_id": "subnet-1"}, "vpc_id"),
        ({"expected_account_id": "12"}, "12-digit"),
        ({"phases": ["nuke"]}, "phases"),
        ({"workers": 0}, "workers"),
        ({"deadline_s": -1}, "deadline_s"),
    ],
)
def test_options_are_validated(change, message):
    values = {"cluster_names": C, "vpc_id": "vpc-0abc", "expected_account_id": "123456789012"} | change
    with pytest.raises(CleanupError, match=message):
        CleanupOptions(**values).validate()


class _Raw:
    def __init__(self, body: bytes):
        self.body = body

    def stream(self, **_kwargs):
        yield self.body


def FlakyClient(n: int, code: str = "RequestLimitExceeded"):
    """A real botocore EC2 client whose HTTP layer throttles the first ``n`` requests, then answers.

    The responses are served at botocore's ``before-send`` event, so botocore's own retry handler (the
    collection's one policy, ``module_utils/_aws.py``) sees every throttled attempt, as it would from AWS.
    """
    from botocore.awsrequest import AWSResponse

    client = boto3.client("ec2", region_name="us-east-1", endpoint_url="http://127.0.0.1:9")
    sent = {"n": 0}

    def answer(request, **_kwargs):
        sent["n"] += 1
        if sent["n"] <= n:
            body = (
                f"<Response><Errors><Error><Code>{code}</Code><Message>slow down</Message></Error></Errors>"
                "<RequestID>r</RequestID></Response>"
            )
            return AWSResponse(request.url, 400 if code != "UnauthorizedOperation" else 403, {}, _Raw(body.encode()))
        body = '<DescribeVpcsResponse xmlns="http://ec2.amazonaws.com/doc/2016-11-15/"><vpcSet/></DescribeVpcsResponse>'
        return AWSResponse(request.url, 200, {}, _Raw(body.encode()))

    client.meta.events.register("before-send.ec2.DescribeVpcs", answer)
    return client


def _calls(client, **opts):
    options = CleanupOptions(C, "vpc-0abc", "123456789012", backoff_base_s=0.001, backoff_cap_s=0.002, **opts)
    return AwsCalls(lambda _service: client, options, Deadline(60))


@pytest.mark.parametrize("code", ["RequestLimitExceeded", "Throttling", "ThrottlingException"])
def test_throttling_is_retried_with_counting(code):
    client = FlakyClient(3, code)
    calls = _calls(client)
    assert calls.call("ec2", "describe_vpcs")["Vpcs"] == []
    stats = calls.stats()
    assert stats["api_calls"] == 4
    assert stats["retries"] == 3
    assert stats["throttled"] == 3


def test_throttling_gives_up_after_max_attempts_and_other_errors_are_not_retried():
    calls = _calls(FlakyClient(99), max_attempts=4)
    with pytest.raises(ClientError):
        calls.call("ec2", "describe_vpcs")
    assert calls.stats()["api_calls"] == 4
    other = _calls(FlakyClient(5, "UnauthorizedOperation"))
    with pytest.raises(ClientError):
        other.call("ec2", "describe_vpcs")
    assert other.stats()["retries"] == 0


# ------------------------------------------------------------------------------- engine on in-process moto


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


def test_audit_log_follows_the_log_rule(tmp_path):
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"  # an AWS secret access key's shape: always masked
    redactor = Redactor(["sekrit-value"])
    log = AuditLog.create(tmp_path / "audit", audit_label("", ["blue", "green"]), {"vpc_id": "vpc-1"}, redactor)
    log.write("start", "vpc-1", "cleanup run", note=f"key {secret} and sekrit-value")
    log.write("finish", "vpc-1", "done", multi="line\nbreak")
    log.close()
    log.write("late", "vpc-1", "after close: dropped")
    name = parse_log_name(log.path.name)
    assert (name.what, name.env) == ("cleanup", "blue-green")
    assert stat.S_IMODE(log.path.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.path.parent.stat().st_mode) == 0o700
    lines = log.path.read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["action"] for r in records] == ["start", "finish"]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", r["time"]) for r in records)
    assert records[0]["vpc_id"] == "vpc-1"
    assert secret not in lines[0]
    assert "sekrit-value" not in lines[0]
    assert records[0]["note"] == "key ******** and ********"
    # A second run in the same second gets its own file (exclusive creation, a new run id).
    other = AuditLog.create(tmp_path / "audit", "sandbox", {})
    other.close()
    assert other.path != log.path
    assert parse_log_name(other.path.name).env == "sandbox"
    assert AuditLog.create(None, "x", {}).path is None


def test_an_audit_directory_that_cannot_be_made_is_a_clean_refusal(moto, tmp_path):
    estate = seed_estate(moto["ec2"], moto["elb"], moto["elbv2"], clbs=0, albs=0, nlbs=0, stray_enis=0, workers=0)
    blocker = tmp_path / "file"
    blocker.write_text("")
    engine = ClusterCleanup(cleanup_options(estate, audit_dir=blocker / "audit"), moto.__getitem__)
    with pytest.raises(CleanupError, match="cannot open the audit log"):
        engine.run()


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


# ------------------------------------------------------------------------ issue 18: inputs refused up front


def _options(**overrides):
    values = {"cluster_names": ["rke2-dev"], "vpc_id": "vpc-0123456789abcdef0", "expected_account_id": "123456789012"}
    return CleanupOptions(**(values | overrides))


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"cluster_names": ["rke2-*"]}, "cluster_names entry 'rke2-*' contains a wildcard"),
        ({"cluster_names": ["rke2-?ev"]}, "contains a wildcard"),
        ({"cluster_names": ["rke2 dev"]}, "'rke2 dev' is not a cluster name"),
        ({"cluster_names": ["-rke2"]}, "is not a cluster name"),
        ({"cluster_names": ["rke2/dev"]}, "is not a cluster name"),
        ({"protect_ids": {"sg-*"}}, "protect_ids entry 'sg-*' contains a wildcard"),
        ({"protect_ids": {"arn:aws:elasticloadbalancing:*"}}, "contains a wildcard"),
        ({"protect_ids": {"sg-123"}}, "looks like a sg- resource id but is not one"),
        ({"protect_ids": {"eni-"}}, "looks like a eni- resource id"),
        ({"protect_ids": {"arn:nonsense"}}, "starts with 'arn:' but is not an ARN"),
        ({"protect_ids": {" padded"}}, "is not an exact name"),
        ({"protect_ids": {""}}, "must be a non-empty string"),
    ],
)
def test_patterns_where_names_or_ids_belong_are_refused_before_any_api_call(overrides, message):
    calls = []

    def factory(service):
        calls.append(service)
        raise AssertionError("no client may be created for refused input")

    with pytest.raises(CleanupError, match=message.replace("?", r"\?").replace("*", r"\*")):
        ClusterCleanup(_options(**overrides), factory)
    assert calls == []


@pytest.mark.parametrize(
    "entry",
    [
        "sg-0123456789abcdef0",
        "sg-12345678",
        "eni-0123456789abcdef0",
        "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/net/k8s-a/0123456789abcdef",
        "arn:aws:iam::123456789012:role/dev-nodes",
        "k8s-elb-a1b2c3",
        "vpc-flow-logs",
        "5f3c8a52-1111-2222-3333-444455556666",
        "/aws/rke2/dev",
    ],
)
def test_exact_ids_arns_and_names_are_accepted_in_the_protect_list(entry):
    _options(protect_ids={entry}, cluster_names=["rke2-dev", "rke2_dev.v2"]).validate()


def test_explicit_zero_timeouts_are_kept_and_unset_ones_take_the_default():
    params = {
        "cluster_names": ["rke2-dev"],
        "vpc_id": "vpc-0123456789abcdef0",
        "expected_account_id": "123456789012",
        "protect_ids": [],
        "phases": ["lb", "eni", "sg", "verify"],
        "timeouts": {"lb": 0, "eni": 0.0, "sg": None},
        "deadline": 0,
        "poll_interval": 5,
        "workers": 8,
        "allow_disable_deletion_protection": False,
        "include_unknown_owned": False,
        "audit_dir": "logs/audit",
        "run_label": "",
    }
    from ansible_collections.org.platform.plugins.module_utils._cleanup import options_from_params

    options = options_from_params(params, check_mode=True)
    assert (options.lb_timeout_s, options.eni_timeout_s, options.sg_timeout_s) == (0.0, 0.0, 600.0)
    assert options.deadline_s == 0
    assert options.check_mode is True


def test_a_deadline_passing_during_the_account_check_is_a_clean_stop_not_a_traceback():
    """The deadline may pass before discovery starts (a loaded host): completed=false, nothing changed."""

    class NoClient:
        def __getattr__(self, name):
            def refuse(**kwargs):
                raise AssertionError(f"no AWS call may be made after the deadline ({name})")

            return refuse

    result = ClusterCleanup(_options(deadline_s=0), lambda service: NoClient()).run()
    assert result["completed"] is False
    assert result["stopped_in_phase"] == "discover"
    assert result["changed"] is False
    assert not any(result["deleted"].values())
