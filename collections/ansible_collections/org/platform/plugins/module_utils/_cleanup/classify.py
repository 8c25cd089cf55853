# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Classification of what discovery found: whose a resource is, and what to do with an ENI (pure)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._aws import boto3_tag_list_to_ansible_dict

CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"
LEGACY_CLUSTER_TAG = "KubernetesCluster"
ALB_CONTROLLER_TAG = "elbv2.k8s.aws/cluster"
LEGACY_ALB_CONTROLLER_TAG = "ingress.k8s.aws/cluster"
SERVICE_NAME_TAG = "kubernetes.io/service-name"
CNI_CLUSTER_TAG = "cluster.k8s.amazonaws.com/name"
TAG_BATCH = 20
LIVE_INSTANCE_STATES = frozenset({"pending", "running", "stopping", "stopped", "shutting-down"})


def tag_dict(tags: Iterable[dict[str, str]] | None) -> dict[str, str]:
    """A boto3 tag list as a dict (amazon.aws's ``boto3_tag_list_to_ansible_dict``)."""
    return boto3_tag_list_to_ansible_dict(list(tags or []))


@dataclass(frozen=True)
class Ownership:
    """How a resource's tags relate to our clusters: ours | ours_unknown | other_cluster | shared | none."""

    state: str
    reason: str
    cluster_tagged: bool = True  # False: no cluster tag of ours at all (unrelated, not worth listing)


def classify_tags(
    tags: dict[str, str], clusters: list[str], *, kind: str, name: str = "", description: str = ""
) -> Ownership:
    """Decide from tags (and SG name/description) whether a resource is our clusters' controller-created one."""
    shared = sorted(k for k, v in tags.items() if v.strip().lower() == "shared" or k.lower() == "shared")
    if shared:
        return Ownership("shared", f"tagged shared ({', '.join(shared)})")
    ours: list[str] = []
    others: list[str] = []
    for key, value in tags.items():
        if key.startswith(CLUSTER_TAG_PREFIX):
            (ours if key[len(CLUSTER_TAG_PREFIX) :] in clusters else others).append(f"{key}={value}")
        elif key in (LEGACY_CLUSTER_TAG, ALB_CONTROLLER_TAG, LEGACY_ALB_CONTROLLER_TAG, CNI_CLUSTER_TAG):
            (ours if value in clusters else others).append(f"{key}={value}")
    if others:
        if ours:
            return Ownership("shared", f"tagged for our and other clusters ({', '.join(sorted(ours + others))})")
        return Ownership("other_cluster", f"belongs to another cluster ({', '.join(sorted(others))})")
    if not ours:
        return Ownership("none", "no cluster tag of ours", cluster_tagged=False)
    for cluster in clusters:
        if tags.get(ALB_CONTROLLER_TAG) == cluster:
            return Ownership("ours", f"tag {ALB_CONTROLLER_TAG}={cluster} (aws-load-balancer-controller)")
        if tags.get(LEGACY_ALB_CONTROLLER_TAG) == cluster:
            return Ownership("ours", f"tag {LEGACY_ALB_CONTROLLER_TAG}={cluster} (legacy ALB ingress controller)")
    owned = [
        c for c in clusters if tags.get(f"{CLUSTER_TAG_PREFIX}{c}") == "owned" or tags.get(LEGACY_CLUSTER_TAG) == c
    ]
    if not owned:
        return Ownership("none", f"cluster tag without owned value ({', '.join(sorted(ours))})")
    tag = (
        f"{CLUSTER_TAG_PREFIX}{owned[0]}=owned"
        if tags.get(f"{CLUSTER_TAG_PREFIX}{owned[0]}")
        else f"{LEGACY_CLUSTER_TAG}={owned[0]}"
    )
    if kind in ("load_balancer", "target_group") and SERVICE_NAME_TAG in tags:
        return Ownership("ours", f"tag {tag} and {SERVICE_NAME_TAG}={tags[SERVICE_NAME_TAG]} (cloud provider)")
    if kind == "security_group" and name.startswith("k8s-elb-"):
        return Ownership("ours", f"name k8s-elb-* and tag {tag} (cloud provider ELB security group)")
    if kind == "security_group" and description.startswith("Security group for Kubernetes ELB"):
        return Ownership("ours", f"description 'Security group for Kubernetes ELB ...' and tag {tag}")
    return Ownership("ours_unknown", f"tag {tag} without a controller fingerprint")


@dataclass
class PlanEntry:
    kind: str
    id: str
    action: str  # delete | detach_delete | wait | revoke | skip | blocker
    reason: str
    name: str = ""
    details: dict[str, Any] = field(default_factory=dict)
    unrelated: bool = field(default=False, compare=False)  # skipped without any cluster tag of ours

    def as_dict(self) -> dict[str, Any]:
        out = {"kind": self.kind, "id": self.id, "action": self.action, "reason": self.reason}
        if self.name:
            out["name"] = self.name
        if self.details:
            out["details"] = self.details
        return out


def lb_eni_description(lb: dict[str, Any]) -> str:
    """The description AWS gives a load balancer's ENIs (``ELB <name>``, ``ELB app|net/<name>/<id>``)."""
    if "LoadBalancerArn" not in lb:
        return f"ELB {lb['LoadBalancerName']}"
    suffix = lb["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    prefix = {"application": "app/", "network": "net/", "gateway": "gwy/"}.get(lb.get("Type", "application"), "app/")
    return f"ELB {prefix}{suffix.split('/', 1)[1]}"


def lb_id(lb: dict[str, Any]) -> str:
    return lb.get("LoadBalancerArn") or lb["LoadBalancerName"]


def select(
    kind: str,
    rid: str,
    names: tuple[str, ...],
    tags: dict[str, str],
    *,
    clusters: list[str],
    protect_ids: set[str],
    include_unknown_owned: bool,
    **kw: str,
) -> PlanEntry:
    """The safety rails common to every kind; returns a delete entry or a skip entry with its reason."""
    name = names[0] if names else ""
    if any(i and i in protect_ids for i in (rid, *names)):
        return PlanEntry(kind, rid, "skip", "in the protect list (Terraform state)", name=name)
    owner = classify_tags(tags, clusters, kind=kind, **kw)
    if owner.state == "ours":
        return PlanEntry(kind, rid, "delete", owner.reason, name=name)
    if owner.state == "ours_unknown":
        if include_unknown_owned:
            return PlanEntry(kind, rid, "delete", owner.reason + "; include_unknown_owned=true", name=name)
        return PlanEntry(kind, rid, "skip", owner.reason + "; set include_unknown_owned to delete", name=name)
    return PlanEntry(kind, rid, "skip", owner.reason, name=name, unrelated=not owner.cluster_tagged)


@dataclass(frozen=True)
class EniContext:
    """What classifying an ENI needs to know besides the ENI itself (read-only)."""

    clusters: list[str]
    protect_ids: frozenset[str]
    protected_sgs: frozenset[str]
    account_id: str
    our_lb_eni_descriptions: dict[str, str]  # ENI description -> id of our load balancer being deleted
    live_lb_descriptions: frozenset[str]  # ENI descriptions of load balancers that still exist


def classify_eni(eni: dict[str, Any], candidate_sgs: set[str], instances: dict[str, str], ctx: EniContext):
    """What to do with one ENI of the VPC (a PlanEntry); None when it is none of our business."""
    eid = eni["NetworkInterfaceId"]
    description = eni.get("Description", "")
    groups = {g["GroupId"] for g in eni.get("Groups", [])}
    held = sorted(groups & (candidate_sgs | ctx.protected_sgs))
    attachment = eni.get("Attachment") or {}
    owner_id = attachment.get("InstanceOwnerId", "")
    details: dict[str, Any] = {"description": description, "status": eni.get("Status"), "groups": sorted(groups)}
    is_lb_eni = description.startswith("ELB ") and (
        eni.get("RequesterManaged") or owner_id in ("amazon-elb", "amazon-aws")
    )
    if is_lb_eni:
        return _classify_lb_eni(eid, description, attachment, held, details, ctx)
    if not held:
        return None
    why = f"holds {'candidate' if set(held) & candidate_sgs else 'Terraform stack'} SG(s) {', '.join(held)}"
    if eid in ctx.protect_ids:
        return PlanEntry("network_interface", eid, "skip", "in the protect list (Terraform state)", details=details)
    owner = classify_tags(tag_dict(eni.get("TagSet")), ctx.clusters, kind="network_interface")
    if owner.state in ("other_cluster", "shared"):
        return PlanEntry(
            "network_interface", eid, "blocker", f"{why}, but {owner.reason}; not touched", details=details
        )
    if eni.get("RequesterManaged"):
        return PlanEntry(
            "network_interface",
            eid,
            "blocker",
            f"{why}; requester-managed by {eni.get('RequesterId', '?')} ({eni.get('InterfaceType', '?')}): "
            "delete its owning service",
            details=details,
        )
    if not attachment or eni.get("Status") == "available":
        return PlanEntry("network_interface", eid, "delete", f"{why}; available", details=details)
    instance = attachment.get("InstanceId", "")
    state = instances.get(instance, "absent")
    details["instance"] = instance
    if attachment.get("DeviceIndex", 0) == 0:
        if state in LIVE_INSTANCE_STATES:
            return PlanEntry(
                "network_interface",
                eid,
                "blocker",
                f"{why}; primary ENI of live instance {instance} ({state}): terminate it through Terraform",
                details=details,
            )
        return PlanEntry(
            "network_interface",
            eid,
            "wait",
            f"{why}; primary ENI of instance {instance} ({state}), goes with it",
            details=details,
        )
    if owner_id and owner_id != ctx.account_id:
        return PlanEntry(
            "network_interface", eid, "blocker", f"{why}; attached by foreign owner {owner_id}", details=details
        )
    return PlanEntry(
        "network_interface",
        eid,
        "detach_delete",
        f"{why}; our own secondary ENI on {instance}: force-detach and delete",
        details=details,
    )


def _classify_lb_eni(
    eid: str, description: str, attachment: dict[str, Any], held: list[str], details: dict[str, Any], ctx: EniContext
):
    ela = (
        attachment.get("AttachmentId", "").startswith("ela-attach-")
        or attachment.get("InstanceOwnerId") == "amazon-aws"
    )
    ours = ctx.our_lb_eni_descriptions.get(description)
    live = description in ctx.live_lb_descriptions
    details["load_balancer"] = ours or description[len("ELB ") :]
    if live and not ours:
        if not held:
            return None
        return PlanEntry(
            "network_interface",
            eid,
            "blocker",
            f"ENI of load balancer '{description}' which is not ours holds SG(s) {', '.join(held)}",
            details=details,
        )
    if ela:
        return PlanEntry(
            "network_interface",
            eid,
            "wait",
            f"ENI '{description}' of our NLB (ela-attach): AWS releases it after the NLB is gone",
            details=details,
        )
    if live or held:
        why = "our load balancer" if ours else "a deleted load balancer, holding our SG(s)"
        return PlanEntry(
            "network_interface",
            eid,
            "detach_delete",
            f"ENI '{description}' of {why}: force-detach and delete once the load balancer is gone",
            details=details,
        )
    return PlanEntry(
        "network_interface",
        eid,
        "wait",
        f"ENI '{description}' of a deleted load balancer: AWS releases it",
        details=details,
    )
