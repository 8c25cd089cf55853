# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils/cluster_cleanup: classification, options, retries and guards.

The engine on in-process moto with the sandbox emulator's rules is tested in the repository's
tests/unit/test_cluster_cleanup_emulated.py (it needs sandbox/ and benchmarks/).
"""

from __future__ import annotations

import json
import re
import stat

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
from botocore.exceptions import ClientError

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
