# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure plan builder ``build_plan(discovery, options)``, table-driven: no AWS, no emulator, no mutation.

Each row is a small discovered estate, the options, and what the plan must say about each resource (action and
a part of the reason); ids listed as absent must not appear in the plan at all.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

import pytest
from ansible_collections.org.platform.plugins.module_utils._cleanup import (
    CleanupOptions,
    Discovery,
    build_plan,
)

VPC = "vpc-0a1b2c3d"
OTHER_VPC = "vpc-0f0f0f0f"
ACCOUNT = "123456789012"
CLUSTER = "rke2-a"
OURS = {f"kubernetes.io/cluster/{CLUSTER}": "owned"}
ELB_SG_DESCRIPTION = "Security group for Kubernetes ELB a1b2 (default/web)"


def tags(mapping: dict[str, str]) -> list[dict[str, str]]:
    return [{"Key": k, "Value": v} for k, v in mapping.items()]


def sg(gid: str, name: str, tag_map: dict[str, str] | None = None, *, vpc: str = VPC, refs: tuple = (), egress=()):
    return {
        "GroupId": gid,
        "GroupName": name,
        "VpcId": vpc,
        "Description": ELB_SG_DESCRIPTION if name.startswith("k8s-elb-") else name,
        "Tags": tags(tag_map or {}),
        "IpPermissions": [
            {"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "UserIdGroupPairs": [{"GroupId": r}]} for r in refs
        ],
        "IpPermissionsEgress": [{"IpProtocol": "-1", "UserIdGroupPairs": [{"GroupId": r}]} for r in egress],
    }


def classic(name: str, tag_map: dict[str, str], *, vpc: str = VPC) -> dict[str, Any]:
    return {"LoadBalancerName": name, "VPCId": vpc, "Tags": tag_map}


def alb(name: str, tag_map: dict[str, str], *, vpc: str = VPC, protected: bool = False) -> dict[str, Any]:
    arn = f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:loadbalancer/app/{name}/0123456789abcdef"
    return {
        "LoadBalancerArn": arn,
        "LoadBalancerName": name,
        "Type": "application",
        "VpcId": vpc,
        "Tags": tag_map,
        "Attributes": [{"Key": "deletion_protection.enabled", "Value": "true" if protected else "false"}],
    }


def tg(name: str, tag_map: dict[str, str], lbs: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "TargetGroupArn": f"arn:aws:elasticloadbalancing:us-east-1:{ACCOUNT}:targetgroup/{name}/0123456789abcdef",
        "TargetGroupName": name,
        "VpcId": VPC,
        "Tags": tag_map,
        "LoadBalancerArns": [lb["LoadBalancerArn"] for lb in lbs],
    }


def eni(eid: str, groups: list[str], *, attachment: dict | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "NetworkInterfaceId": eid,
        "Groups": [{"GroupId": g} for g in groups],
        "Status": "in-use" if attachment else "available",
        "Attachment": attachment or {},
        "TagSet": [],
        **extra,
    }


def attached(instance: str, index: int, owner: str = ACCOUNT) -> dict[str, Any]:
    return {
        "AttachmentId": f"eni-attach-{instance[2:]}",
        "InstanceId": instance,
        "DeviceIndex": index,
        "InstanceOwnerId": owner,
    }


SERVICE = OURS | {"kubernetes.io/service-name": "default/web"}
ALB_TAGS = {"elbv2.k8s.aws/cluster": CLUSTER}
WEB_ALB = alb("k8s-default-web", ALB_TAGS)
KEPT_ALB = alb("team-b-alb", {})


@dataclass
class Case:
    found: Discovery
    expect: dict[str, tuple[str, str]]  # id -> (action, part of the reason)
    absent: tuple[str, ...] = ()
    options: dict[str, Any] = field(default_factory=dict)


def estate(**parts: Any) -> Discovery:
    return Discovery(account_id=ACCOUNT, **parts)


CASES = {
    "our-elb-sg-is-deleted": Case(
        estate(security_groups=[sg("sg-01", "k8s-elb-a1b2", OURS)]),
        {"sg-01": ("delete", "cloud provider ELB security group")},
    ),
    "protected-id-is-skipped": Case(
        estate(security_groups=[sg("sg-01", "k8s-elb-a1b2", OURS)]),
        {"sg-01": ("skip", "in the protect list (Terraform state)")},
        options={"protect_ids": {"sg-01"}},
    ),
    "protected-name-is-skipped": Case(
        estate(classic=[classic("a1b2", SERVICE)]),
        {"a1b2": ("skip", "in the protect list")},
        options={"protect_ids": {"a1b2"}},
    ),
    "foreign-cluster-tag-is-skipped": Case(
        estate(security_groups=[sg("sg-02", "k8s-elb-c3d4", {"kubernetes.io/cluster/other": "owned"})]),
        {"sg-02": ("skip", "belongs to another cluster (kubernetes.io/cluster/other=owned)")},
    ),
    "ours-and-foreign-tags-are-shared": Case(
        estate(security_groups=[sg("sg-03", "k8s-elb-e5f6", OURS | {"kubernetes.io/cluster/other": "owned"})]),
        {"sg-03": ("skip", "tagged for our and other clusters")},
    ),
    "shared-value-is-skipped": Case(
        estate(security_groups=[sg("sg-04", "k8s-elb-0707", {f"kubernetes.io/cluster/{CLUSTER}": "shared"})]),
        {"sg-04": ("skip", "tagged shared")},
    ),
    "default-sg-is-never-deleted": Case(
        estate(security_groups=[sg("sg-05", "default", OURS)]),
        {"sg-05": ("skip", "default security group")},
    ),
    "unrelated-sg-is-not-listed": Case(estate(security_groups=[sg("sg-06", "terraform-web", {})]), {}, ("sg-06",)),
    "unknown-owned-needs-the-opt-in": Case(
        estate(security_groups=[sg("sg-07", "made-by-hand", OURS)]),
        {"sg-07": ("skip", "without a controller fingerprint; set include_unknown_owned to delete")},
    ),
    "unknown-owned-with-the-opt-in": Case(
        estate(security_groups=[sg("sg-07", "made-by-hand", OURS)]),
        {"sg-07": ("delete", "include_unknown_owned=true")},
        options={"include_unknown_owned": True},
    ),
    "cluster-tagged-sg-in-another-vpc-is-skipped": Case(
        estate(foreign_security_groups=[sg("sg-08", "k8s-elb-0808", OURS, vpc=OTHER_VPC)]),
        {"sg-08": ("skip", f"outside VPC {VPC} ({OTHER_VPC})")},
    ),
    "our-lb-and-its-target-group-go": Case(
        estate(elbv2=[WEB_ALB], target_groups=[tg("k8s-web-tg", ALB_TAGS, [WEB_ALB])]),
        {
            WEB_ALB["LoadBalancerArn"]: ("delete", "aws-load-balancer-controller"),
            tg("k8s-web-tg", {}, [])["TargetGroupArn"]: ("delete", "aws-load-balancer-controller"),
        },
    ),
    "target-group-of-a-staying-lb-is-a-blocker": Case(
        estate(elbv2=[WEB_ALB, KEPT_ALB], target_groups=[tg("k8s-both-tg", ALB_TAGS, [WEB_ALB, KEPT_ALB])]),
        {
            tg("k8s-both-tg", {}, [])["TargetGroupArn"]: (
                "blocker",
                f"in use by load balancer(s) that stay: {KEPT_ALB['LoadBalancerArn']}",
            ),
            KEPT_ALB["LoadBalancerArn"]: ("skip", "no cluster tag of ours"),
        },
    ),
    "deletion-protection-is-a-blocker": Case(
        estate(elbv2=[alb("k8s-locked", ALB_TAGS, protected=True)]),
        {alb("k8s-locked", {})["LoadBalancerArn"]: ("blocker", "deletion protection is enabled")},
    ),
    "deletion-protection-with-the-opt-in": Case(
        estate(elbv2=[alb("k8s-locked", ALB_TAGS, protected=True)]),
        {alb("k8s-locked", {})["LoadBalancerArn"]: ("delete", "deletion protection will be disabled")},
        options={"allow_disable_deletion_protection": True},
    ),
    "our-lb-in-another-vpc-is-skipped-a-foreign-one-ignored": Case(
        estate(classic=[classic("ours-away", SERVICE, vpc=OTHER_VPC), classic("theirs-away", {}, vpc=OTHER_VPC)]),
        {"ours-away": ("skip", f"outside VPC {VPC}")},
        ("theirs-away",),
    ),
    "rules-referencing-a-candidate-are-revoked-or-blocked": Case(
        estate(
            security_groups=[
                sg("sg-10", "k8s-elb-1010", OURS),
                sg("sg-11", "stack-nodes", {}, refs=("sg-10",)),
                sg("sg-12", "k8s-elb-other", {"kubernetes.io/cluster/other": "owned"}, egress=("sg-10",)),
                sg("sg-13", "k8s-elb-1313", OURS, refs=("sg-13",)),  # a self-reference is no blocker
            ]
        ),
        {
            "sg-10": ("delete", "cloud provider"),
            "sg-11:ingress:sg-10:tcp:80-80": ("revoke", "rule in Terraform stack SG references candidate sg-10"),
            "sg-12:egress:sg-10:-1:None-None": ("blocker", "belongs to another cluster"),
            "sg-13": ("delete", "cloud provider"),
        },
        ("sg-13:ingress:sg-13:tcp:80-80",),
        options={"protect_ids": {"sg-11"}},
    ),
    "enis-holding-a-candidate": Case(
        estate(
            security_groups=[sg("sg-20", "k8s-elb-2020", OURS)],
            enis=[
                eni("eni-01", ["sg-20"]),
                eni("eni-02", ["sg-20"], attachment=attached("i-0000000000000000a", 0)),
                eni("eni-03", ["sg-20"], attachment=attached("i-0000000000000000b", 0)),
                eni("eni-04", ["sg-20"], attachment=attached("i-0000000000000000a", 1)),
                eni("eni-05", ["sg-20"], attachment=attached("i-0000000000000000a", 1, owner="999999999999")),
                eni("eni-06", ["sg-20"], RequesterManaged=True, RequesterId="AROAEXAMPLE", InterfaceType="lambda"),
                eni("eni-07", ["sg-99"]),
            ],
            instances={"i-0000000000000000a": "running", "i-0000000000000000b": "terminated"},
        ),
        {
            "eni-01": ("delete", "holds candidate SG(s) sg-20; available"),
            "eni-02": ("blocker", "primary ENI of live instance i-0000000000000000a (running)"),
            "eni-03": ("wait", "goes with it"),
            "eni-04": ("detach_delete", "our own secondary ENI"),
            "eni-05": ("blocker", "attached by foreign owner 999999999999"),
            "eni-06": ("blocker", "requester-managed by AROAEXAMPLE (lambda)"),
        },
        ("eni-07",),
    ),
    "lb-enis-of-our-deleted-lb-and-of-a-staying-one": Case(
        estate(
            classic=[classic("a1b2", SERVICE), classic("team-b", {})],
            security_groups=[sg("sg-30", "k8s-elb-a1b2", OURS)],
            enis=[
                eni(
                    "eni-10",
                    ["sg-30"],
                    attachment=attached("amazon-elb", 1, owner="amazon-elb"),
                    Description="ELB a1b2",
                ),
                eni(
                    "eni-11",
                    ["sg-30"],
                    attachment=attached("amazon-elb", 1, owner="amazon-elb"),
                    Description="ELB team-b",
                ),
                eni("eni-12", [], attachment=attached("amazon-elb", 1, owner="amazon-elb"), Description="ELB gone-lb"),
            ],
        ),
        {
            "a1b2": ("delete", "cloud provider"),
            "eni-10": ("detach_delete", "of our load balancer"),
            "eni-11": ("blocker", "ENI of load balancer 'ELB team-b' which is not ours holds SG(s) sg-30"),
            "eni-12": ("wait", "of a deleted load balancer: AWS releases it"),
        },
    ),
}


def options(**changes: Any) -> CleanupOptions:
    return CleanupOptions(cluster_names=[CLUSTER], vpc_id=VPC, expected_account_id=ACCOUNT, **changes)


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_build_plan(case: Case):
    before = copy.deepcopy(case.found)
    plan = build_plan(case.found, options(**case.options))
    got = {e.id: e for e in plan.entries()}
    for rid, (action, reason) in case.expect.items():
        assert rid in got, f"{rid} missing from the plan: {sorted(got)}"
        assert got[rid].action == action, (rid, got[rid].action, got[rid].reason)
        assert reason in got[rid].reason, (rid, got[rid].reason)
    for rid in case.absent:
        assert rid not in got, (rid, got.get(rid))
    assert case.found == before, "build_plan changed its input"


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize(
    ("phases", "to_delete"),
    [
        (
            ["lb", "eni", "sg", "verify"],
            {"load_balancers": ["a1b2"], "network_interfaces": ["eni-01"], "security_groups": ["sg-01"]},
        ),
        (["lb"], {"load_balancers": ["a1b2"], "network_interfaces": [], "security_groups": []}),
        (["sg"], {"load_balancers": [], "network_interfaces": [], "security_groups": ["sg-01"]}),
        (["verify"], {"load_balancers": [], "network_interfaces": [], "security_groups": []}),
    ],
)
def test_the_plan_is_the_same_in_check_mode_and_lists_only_the_selected_phases(check_mode, phases, to_delete):
    found = estate(
        classic=[classic("a1b2", SERVICE)],
        security_groups=[sg("sg-01", "k8s-elb-a1b2", OURS)],
        enis=[eni("eni-01", ["sg-01"])],
    )
    plan = build_plan(found, options(check_mode=check_mode, phases=phases))
    assert plan == build_plan(found, options(check_mode=not check_mode, phases=phases))
    listed = plan.as_dict(phases)["to_delete"]
    assert {k: listed[k] for k in to_delete} == to_delete
    assert listed["target_groups"] == []
    assert listed["rules"] == []


def test_blockers_and_skips_are_collected_in_the_plan_result():
    found = estate(
        elbv2=[alb("k8s-locked", ALB_TAGS, protected=True)],
        security_groups=[sg("sg-05", "default", OURS), sg("sg-07", "made-by-hand", OURS)],
    )
    summary = build_plan(found, options()).as_dict()
    assert [b["id"] for b in summary["blockers"]] == [alb("k8s-locked", {})["LoadBalancerArn"]]
    assert sorted(s["id"] for s in summary["skipped"]) == ["sg-05", "sg-07"]
    assert all(not ids for ids in summary["to_delete"].values())
