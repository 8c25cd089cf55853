# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cleanup plan: ``build_plan(discovery, options)`` is pure (no AWS call, nothing shared mutated)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._cleanup.classify import (
    EniContext,
    PlanEntry,
    classify_eni,
    classify_tags,
    lb_eni_description,
    lb_id,
    select,
    tag_dict,
)
from ansible_collections.org.platform.plugins.module_utils._cleanup.discovery import Discovery
from ansible_collections.org.platform.plugins.module_utils._cleanup.options import PHASES, CleanupOptions


@dataclass
class Plan:
    load_balancers: list[PlanEntry] = field(default_factory=list)
    target_groups: list[PlanEntry] = field(default_factory=list)
    network_interfaces: list[PlanEntry] = field(default_factory=list)
    security_groups: list[PlanEntry] = field(default_factory=list)
    rules: list[PlanEntry] = field(default_factory=list)
    lb_eni_descriptions: dict[str, str] = field(default_factory=dict)  # ENI description -> LB id (ours)
    live_lb_descriptions: set[str] = field(default_factory=set)  # ENI descriptions of LBs alive at discovery
    protected_sgs: set[str] = field(default_factory=set)  # SGs of the VPC in the protect list (the stacks')

    def entries(self) -> list[PlanEntry]:
        return [*self.load_balancers, *self.target_groups, *self.network_interfaces, *self.security_groups, *self.rules]

    def ids(self, kind_list: list[PlanEntry], *actions: str) -> list[str]:
        return [e.id for e in kind_list if e.action in actions]

    def as_dict(self, phases: Iterable[str] = PHASES) -> dict[str, Any]:
        """The plan; ``to_delete`` holds only what the selected ``phases`` remove."""

        def group(entries: list[PlanEntry]) -> list[dict[str, Any]]:
            return [e.as_dict() for e in entries]

        selected = set(phases)

        def when(phase: str, ids: list[str]) -> list[str]:
            return ids if phase in selected else []

        return {
            "load_balancers": group(self.load_balancers),
            "target_groups": group(self.target_groups),
            "network_interfaces": group(self.network_interfaces),
            "security_groups": group(self.security_groups),
            "rules": group(self.rules),
            "to_delete": {
                "load_balancers": when("lb", self.ids(self.load_balancers, "delete")),
                "target_groups": when("lb", self.ids(self.target_groups, "delete")),
                "network_interfaces": when("eni", self.ids(self.network_interfaces, "delete", "detach_delete")),
                "security_groups": when("sg", self.ids(self.security_groups, "delete")),
                "rules": when("sg", self.ids(self.rules, "revoke")),
            },
            "skipped": [e.as_dict() for e in self.entries() if e.action == "skip"],
            "blockers": [e.as_dict() for e in self.entries() if e.action == "blocker"],
        }


def _select(options: CleanupOptions, kind: str, rid: str, names: tuple[str, ...], tags: dict[str, str], **kw: str):
    return select(
        kind,
        rid,
        names,
        tags,
        clusters=options.cluster_names,
        protect_ids=options.protect_ids,
        include_unknown_owned=options.include_unknown_owned,
        **kw,
    )


def eni_context(plan: Plan, options: CleanupOptions, account_id: str, live: Iterable[str] | None = None) -> EniContext:
    """The read-only context ``classify_eni`` needs (``live``: LB ENI descriptions alive now)."""
    return EniContext(
        clusters=list(options.cluster_names),
        protect_ids=frozenset(options.protect_ids),
        protected_sgs=frozenset(plan.protected_sgs),
        account_id=account_id,
        our_lb_eni_descriptions=dict(plan.lb_eni_descriptions),
        live_lb_descriptions=frozenset(plan.live_lb_descriptions if live is None else live),
    )


def build_plan(discovery: Discovery, options: CleanupOptions) -> Plan:
    """Why each discovered resource goes, waits, blocks or stays; reads only its arguments."""
    plan = Plan()
    plan.live_lb_descriptions = {lb_eni_description(lb) for lb in [*discovery.elbv2, *discovery.classic]}
    plan.load_balancers = [e for lb in [*discovery.elbv2, *discovery.classic] if (e := plan_lb(lb, options))]
    for entry in plan.load_balancers:
        if entry.action == "delete":
            plan.lb_eni_descriptions[entry.details["eni_description"]] = entry.id
    deleting = set(plan.ids(plan.load_balancers, "delete"))
    plan.target_groups = [plan_tg(tg, deleting, options) for tg in discovery.target_groups]
    plan.protected_sgs = {g["GroupId"] for g in discovery.security_groups if g["GroupId"] in options.protect_ids}
    plan.security_groups = plan_security_groups(discovery, options)
    candidates = set(plan.ids(plan.security_groups, "delete"))
    plan.rules = plan_rules(discovery.security_groups, candidates, plan.protected_sgs, options)
    ctx = eni_context(plan, options, discovery.account_id)
    for eni in discovery.enis:
        entry = classify_eni(eni, candidates, discovery.instances, ctx)
        if entry is not None:
            plan.network_interfaces.append(entry)
    return plan


def plan_lb(lb: dict[str, Any], options: CleanupOptions) -> PlanEntry | None:
    """One load balancer (its ``Attributes`` read by discovery); None when it is outside the VPC and not ours."""
    vpc = options.vpc_id
    rid, name, tags = lb_id(lb), lb["LoadBalancerName"], lb.get("Tags", {})
    lb_vpc = lb.get("VpcId") or lb.get("VPCId")
    if lb_vpc != vpc:
        if classify_tags(tags, options.cluster_names, kind="load_balancer").state in ("ours", "ours_unknown"):
            return PlanEntry("load_balancer", rid, "skip", f"outside VPC {vpc} ({lb_vpc})", name)
        return None
    entry = _select(options, "load_balancer", rid, (name,), tags)
    entry.details = {"type": lb.get("Type", "classic"), "eni_description": lb_eni_description(lb)}
    if entry.action == "delete" and "LoadBalancerArn" in lb:
        attrs = lb.get("Attributes", [])
        protected = any(a["Key"] == "deletion_protection.enabled" and a["Value"] == "true" for a in attrs)
        if protected and not options.allow_disable_deletion_protection:
            entry.action = "blocker"
            entry.reason += "; deletion protection is enabled (set allow_disable_deletion_protection)"
        elif protected:
            entry.details["disable_deletion_protection"] = True
            entry.reason += "; deletion protection will be disabled (allow_disable_deletion_protection)"
    return entry


def plan_tg(tg: dict[str, Any], deleting: set[str], options: CleanupOptions) -> PlanEntry:
    """One target group; one still used by a load balancer that stays cannot go."""
    entry = _select(options, "target_group", tg["TargetGroupArn"], (tg["TargetGroupName"],), tg.get("Tags", {}))
    entry.details = {"load_balancers": tg.get("LoadBalancerArns", [])}
    staying = sorted(set(entry.details["load_balancers"]) - deleting)
    if entry.action == "delete" and staying:
        entry.action = "blocker"
        entry.reason += f"; in use by load balancer(s) that stay: {', '.join(staying)}"
    return entry


def plan_security_groups(discovery: Discovery, options: CleanupOptions) -> list[PlanEntry]:
    vpc = options.vpc_id
    entries = [
        PlanEntry("security_group", g["GroupId"], "skip", f"outside VPC {vpc} ({g.get('VpcId')})", g["GroupName"])
        for g in discovery.foreign_security_groups
    ]
    for group in discovery.security_groups:
        gid, name = group["GroupId"], group["GroupName"]
        if name == "default":
            entries.append(PlanEntry("security_group", gid, "skip", "default security group", name))
            continue
        entry = _select(
            options,
            "security_group",
            gid,
            (name,),
            tag_dict(group.get("Tags")),
            name=name,
            description=group.get("Description", ""),
        )
        if entry.action == "skip" and entry.unrelated:
            continue  # unrelated groups (Terraform's, other teams') are not listed unless relevant
        entries.append(entry)
    return entries


def plan_rules(
    groups: list[dict[str, Any]], candidates: set[str], protected_sgs: set[str], options: CleanupOptions
) -> list[PlanEntry]:
    """Rules (inside any other group of the VPC) that reference a candidate SG: revoke, or a blocker."""
    names = {g["GroupId"]: g["GroupName"] for g in groups}
    entries: list[PlanEntry] = []
    for group in groups:
        holder = group["GroupId"]
        owner = classify_tags(tag_dict(group.get("Tags")), options.cluster_names, kind="security_group")
        for direction, perms in (
            ("ingress", group.get("IpPermissions", [])),
            ("egress", group.get("IpPermissionsEgress", [])),
        ):
            for perm in perms:
                for pair in perm.get("UserIdGroupPairs", []):
                    target = pair.get("GroupId")
                    if target not in candidates or target == holder:
                        continue
                    rid = f"{holder}:{direction}:{target}:{perm.get('IpProtocol')}:{perm.get('FromPort')}-{perm.get('ToPort')}"
                    details = {
                        "group_id": holder,
                        "direction": direction,
                        "referenced_group_id": target,
                        "permission": perm,
                    }
                    if owner.state in ("other_cluster", "shared") and holder not in protected_sgs:
                        reason = f"rule in {holder} which {owner.reason}; not modified"
                        entries.append(PlanEntry("sg_rule", rid, "blocker", reason, details=details))
                    else:
                        why = "Terraform stack SG" if holder in protected_sgs else f"SG {names[holder]}"
                        reason = f"rule in {why} references candidate {target}"
                        entries.append(PlanEntry("sg_rule", rid, "revoke", reason, details=details))
    return entries
