# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Discovery: one read-only snapshot of what is in the VPC, and the counted AWS calls every part uses."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._aws import CallCounter, Deadline, paginate
from ansible_collections.org.platform.plugins.module_utils._cleanup.classify import (
    ALB_CONTROLLER_TAG,
    CLUSTER_TAG_PREFIX,
    TAG_BATCH,
    classify_tags,
    lb_id,
    tag_dict,
)
from ansible_collections.org.platform.plugins.module_utils._cleanup.options import CleanupOptions

# Each describe the cleanup pages through, and the key its pages are merged under.
RESULT_KEYS = {
    ("elbv2", "describe_load_balancers"): "LoadBalancers",
    ("elb", "describe_load_balancers"): "LoadBalancerDescriptions",
    ("elbv2", "describe_target_groups"): "TargetGroups",
    ("ec2", "describe_security_groups"): "SecurityGroups",
    ("ec2", "describe_network_interfaces"): "NetworkInterfaces",
    ("ec2", "describe_instances"): "Reservations",
    ("ec2", "describe_security_group_rules"): "SecurityGroupRules",
}
PAGE_SIZE = {"elbv2": {"PageSize": 400}, "elb": {"PageSize": 400}}


class AwsCalls:
    """The run's boto3 clients, each counted and bounded by the run's deadline (see ``_aws.CallCounter``)."""

    def __init__(self, client_factory: Callable[[str], Any], options: CleanupOptions, deadline: Deadline):
        self._factory = client_factory
        self._clients: dict[str, Any] = {}
        self._lock = threading.Lock()
        self.counter = CallCounter(deadline, max_backoff_s=options.backoff_cap_s)
        self._max_attempts = options.max_attempts

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self.counter.attach(self._factory(service), service, self._max_attempts)
            return self._clients[service]

    def call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        self.counter.check_deadline()
        return getattr(self.client(service), operation)(**kwargs)

    def paginate(self, service: str, operation: str, **kwargs: Any) -> list[Any]:
        """Every item of a paginated describe (botocore paginator)."""
        params = {**PAGE_SIZE.get(service, {}), **kwargs}
        return paginate(self.client(service), operation, **params).get(RESULT_KEYS[(service, operation)], [])

    def stats(self) -> dict[str, Any]:
        return self.counter.stats()


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


@dataclass
class Discovery:
    """What is in (and around) the VPC at discovery time; ``build_plan`` reads only this."""

    elbv2: list[dict[str, Any]] = field(default_factory=list)  # LB descriptions + "Tags" (+ "Attributes")
    classic: list[dict[str, Any]] = field(default_factory=list)
    target_groups: list[dict[str, Any]] = field(default_factory=list)
    security_groups: list[dict[str, Any]] = field(default_factory=list)
    foreign_security_groups: list[dict[str, Any]] = field(default_factory=list)  # cluster-tagged, other VPCs
    enis: list[dict[str, Any]] = field(default_factory=list)
    instances: dict[str, str] = field(default_factory=dict)  # id -> state
    account_id: str = ""


def vpc_filter(options: CleanupOptions) -> list[dict[str, Any]]:
    return [{"Name": "vpc-id", "Values": [options.vpc_id]}]


def describe_enis(aws: AwsCalls, options: CleanupOptions, extra_filters: list[dict[str, Any]] | None = None) -> list:
    filters = [*vpc_filter(options), *(extra_filters or [])]
    return aws.paginate("ec2", "describe_network_interfaces", Filters=filters, MaxResults=1000)


def describe_instances(aws: AwsCalls, options: CleanupOptions) -> dict[str, str]:
    reservations = aws.paginate("ec2", "describe_instances", Filters=vpc_filter(options))
    return {i["InstanceId"]: i["State"]["Name"] for r in reservations for i in r.get("Instances", [])}


def discover(aws: AwsCalls, options: CleanupOptions, account_id: str) -> Discovery:
    found = Discovery(account_id=account_id)
    found.elbv2 = aws.paginate("elbv2", "describe_load_balancers")
    _attach_tags_elbv2(aws, found.elbv2)
    _attach_deletion_protection(aws, options, found.elbv2)
    found.classic = aws.paginate("elb", "describe_load_balancers")
    for batch in chunks([lb["LoadBalancerName"] for lb in found.classic], TAG_BATCH):
        described = aws.call("elb", "describe_tags", LoadBalancerNames=batch)["TagDescriptions"]
        tags = {d["LoadBalancerName"]: tag_dict(d.get("Tags")) for d in described}
        for lb in found.classic:
            if lb["LoadBalancerName"] in tags:
                lb["Tags"] = tags[lb["LoadBalancerName"]]
    tgs = aws.paginate("elbv2", "describe_target_groups")
    found.target_groups = [tg for tg in tgs if tg.get("VpcId") == options.vpc_id]
    _attach_tags_elbv2(aws, found.target_groups, arn_key="TargetGroupArn")
    found.security_groups = aws.paginate("ec2", "describe_security_groups", Filters=vpc_filter(options))
    cluster_keys = [f"{CLUSTER_TAG_PREFIX}{c}" for c in options.cluster_names]
    foreign = aws.paginate(
        "ec2", "describe_security_groups", Filters=[{"Name": "tag-key", "Values": [*cluster_keys, ALB_CONTROLLER_TAG]}]
    )
    found.foreign_security_groups = [g for g in foreign if g.get("VpcId") != options.vpc_id]
    found.enis = describe_enis(aws, options)
    found.instances = describe_instances(aws, options)
    return found


def _attach_tags_elbv2(aws: AwsCalls, items: list[dict[str, Any]], arn_key: str = "LoadBalancerArn") -> None:
    by_arn = {item[arn_key]: item for item in items}
    for batch in chunks(list(by_arn), TAG_BATCH):
        for desc in aws.call("elbv2", "describe_tags", ResourceArns=batch)["TagDescriptions"]:
            if desc["ResourceArn"] in by_arn:
                by_arn[desc["ResourceArn"]]["Tags"] = tag_dict(desc.get("Tags"))


def _attach_deletion_protection(aws: AwsCalls, options: CleanupOptions, lbs: list[dict[str, Any]]) -> None:
    """``Attributes`` of the ELBv2 load balancers in the VPC that could be ours (the plan reads protection)."""
    for lb in lbs:
        if lb.get("VpcId") != options.vpc_id or any(
            i in options.protect_ids for i in (lb_id(lb), lb["LoadBalancerName"])
        ):
            continue
        owner = classify_tags(lb.get("Tags", {}), options.cluster_names, kind="load_balancer")
        if owner.state == "ours" or (owner.state == "ours_unknown" and options.include_unknown_owned):
            lb["Attributes"] = aws.call("elbv2", "describe_load_balancer_attributes", LoadBalancerArn=lb_id(lb))[
                "Attributes"
            ]
