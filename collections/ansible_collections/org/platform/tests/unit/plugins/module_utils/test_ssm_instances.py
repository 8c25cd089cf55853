# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""module_utils.ssm_instances: one DescribeInstanceInformation per poll for all targets, verdicts, refusals."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from ansible_collections.org.platform.plugins.module_utils.ssm_instances import (
    SsmInstancesError,
    check_bucket,
    describe,
    validate_instance_ids,
)
from botocore.exceptions import ClientError

A, B, C, D = (f"i-0{n}23456789abcdef0" for n in "1234")


class Pages(list):
    """What botocore's ``PageIterator`` gives: the pages, and ``build_full_result`` merging their lists."""

    def build_full_result(self):
        merged: dict = {}
        for page in self:
            for key, value in page.items():
                merged.setdefault(key, []).extend(value)
        return merged


class Paginator:
    def __init__(self, client, op):
        self.client, self.op = client, op

    def paginate(self, **kwargs):
        self.client.calls.append((self.op, kwargs))
        return Pages(self.client.pages(self.op, kwargs))


class Fake:
    def __init__(self, instances=None, registered=None):
        self.instances, self.registered, self.calls = instances or {}, registered or {}, []

    def get_paginator(self, op):
        return Paginator(self, op)

    def pages(self, op, kwargs):
        if op == "describe_instances":
            wanted = kwargs["Filters"][0]["Values"]
            found = [
                {"InstanceId": i, "State": {"Name": s}, "Tags": [{"Key": "Name", "Value": n}] if n else []}
                for i, (s, n) in self.instances.items()
                if i in wanted
            ]
            return [{"Reservations": [{"Instances": found}]}]
        wanted = kwargs["Filters"][0]["Values"]
        items = [
            {"InstanceId": i, "PingStatus": p, "LastPingDateTime": datetime(2026, 12, 2, tzinfo=UTC)}
            for i, p in self.registered.items()
            if i in wanted
        ]
        return [{"InstanceInformationList": items[:1]}, {"InstanceInformationList": items[1:]}]


def test_verdicts_and_labels_from_one_look():
    ec2 = Fake({A: ("running", "bastion"), B: ("running", ""), C: ("terminated", "old")})
    ssm = Fake(registered={A: "Online", B: "ConnectionLost", C: "ConnectionLost"})
    result = describe(ec2, ssm, [B, A, C, D, A])
    assert result["online"] == [A]
    assert result["not_online"] == [B, C, D]
    assert result["gone"] == [C, D]
    assert not result["all_online"]
    by_id = {i["instance_id"]: i for i in result["instances"]}
    assert by_id[A]["label"] == f"{A} (bastion): running, SSM Online"
    assert by_id[B]["label"] == f"{B}: running, SSM ConnectionLost"
    assert by_id[D]["label"] == f"{D}: not-found, SSM NotRegistered"
    assert by_id[A]["last_ping"] == "2026-12-02T00:00:00+00:00"
    assert len(ssm.calls) == 1  # one DescribeInstanceInformation (pages through the paginator) for all
    assert ssm.calls[0][1] == {"Filters": [{"Key": "InstanceIds", "Values": [A, B, C, D]}]}


def test_fifty_targets_per_filter():
    ids = [f"i-{n:017x}" for n in range(120)]
    ssm = Fake(registered=dict.fromkeys(ids, "Online"))
    ec2 = Fake({i: ("running", "") for i in ids})
    assert describe(ec2, ssm, ids)["all_online"]
    assert [len(kw["Filters"][0]["Values"]) for _name, kw in ssm.calls] == [50, 50, 20]


@pytest.mark.parametrize(
    ("ids", "message"),
    [
        ([], "no instance to check: instance_ids is empty"),
        (["localhost"], "not EC2 instance ids: 'localhost'"),
        ([A, "i-XYZ\n"], "not EC2 instance ids: 'i-XYZ\\n'"),
    ],
)
def test_bad_targets_are_refused_before_any_call(ids, message):
    ssm = Fake()
    with pytest.raises(SsmInstancesError, match="^" + __import__("re").escape(message)):
        describe(Fake(), ssm, ids)
    assert ssm.calls == []
    with pytest.raises(SsmInstancesError):
        validate_instance_ids(ids)


class S3:
    def __init__(self, code):
        self.code = code

    def head_bucket(self, Bucket):
        if self.code:
            raise ClientError({"Error": {"Code": self.code, "Message": "x"}}, "HeadBucket")


def test_transfer_bucket_check():
    check_bucket(S3(None), "org-sandbox-ssm-transfer")
    with pytest.raises(SsmInstancesError, match="transfer bucket 'nope' does not exist"):
        check_bucket(S3("404"), "nope")
    with pytest.raises(SsmInstancesError, match="transfer bucket 'locked' cannot be used: 403"):
        check_bucket(S3("403"), "locked")
