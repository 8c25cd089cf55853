# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Emulator fidelity rules: DynamoDB TableId and replayed conditional writes, classic ELB not-found."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from sandbox.emulator.rules import dynamodb


def test_describe_table_has_a_stable_table_id(monkeypatch):
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    dynamodb.install()
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName="terraform-state-lock",
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        first = client.describe_table(TableName="terraform-state-lock")["Table"]["TableId"]
        second = client.describe_table(TableName="terraform-state-lock")["Table"]["TableId"]
    assert first == second
    assert len(first) == 36


def test_conditional_put_replay_succeeds_but_contention_still_fails(monkeypatch):
    import pytest
    from botocore.exceptions import ClientError

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    dynamodb.install()
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName="locks",
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        mine = {"LockID": {"S": "bucket/key"}, "Info": {"S": '{"ID":"1111","Who":"me"}'}}
        theirs = {"LockID": {"S": "bucket/key"}, "Info": {"S": '{"ID":"2222","Who":"them"}'}}
        condition = "attribute_not_exists(LockID)"
        client.put_item(TableName="locks", Item=mine, ConditionExpression=condition)
        # The same request again (a lost response, resent): applied once, succeeds again.
        client.put_item(TableName="locks", Item=mine, ConditionExpression=condition)
        # Anyone else's lock request still meets the condition and fails.
        with pytest.raises(ClientError, match="ConditionalCheckFailed"):
            client.put_item(TableName="locks", Item=theirs, ConditionExpression=condition)
        stored = client.get_item(TableName="locks", Key={"LockID": {"S": "bucket/key"}})["Item"]
    assert stored == mine


def test_missing_classic_elb_is_not_found_not_a_server_error(monkeypatch):
    import pytest
    from botocore.exceptions import ClientError

    from sandbox.emulator.rules import elb_not_found

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "x")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "x")
    elb_not_found.install()
    with mock_aws():
        client = boto3.client("elb")
        with pytest.raises(ClientError, match="LoadBalancerNotFound"):
            client.describe_load_balancer_attributes(LoadBalancerName="ghost")
        client.create_load_balancer(
            LoadBalancerName="real",
            Listeners=[{"Protocol": "tcp", "LoadBalancerPort": 80, "InstancePort": 30080}],
            AvailabilityZones=["us-east-1a"],
        )
        attributes = client.describe_load_balancer_attributes(LoadBalancerName="real")["LoadBalancerAttributes"]
    assert "CrossZoneLoadBalancing" in attributes


@pytest.mark.integration
def test_modelled_latency_is_added_to_aws_calls_and_validated(aws):
    import json as _json
    import time as _time
    import urllib.error
    import urllib.request

    control = f"{aws.aws_endpoint_url}/_org_platform/emulator"

    def post(payload):
        request = urllib.request.Request(control, data=_json.dumps(payload).encode(), method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310 - loopback emulator
            return _json.loads(response.read())

    ec2 = boto3.client("ec2")
    try:
        assert post({"latency_ms": 250})["config"]["latency_ms"] == 250
        started = _time.monotonic()
        ec2.describe_vpcs()
        assert _time.monotonic() - started >= 0.25
    finally:
        assert post({"latency_ms": 0})["config"]["latency_ms"] == 0
    with pytest.raises(urllib.error.HTTPError, match="400"):
        post({"latency_ms": -1})
