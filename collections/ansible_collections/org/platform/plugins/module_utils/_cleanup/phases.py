# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The ordered phases that apply a plan: ``lb``, ``eni``, ``sg`` (each bounded by its timeout and the deadline)."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._aws import ClientError, Deadline, is_error
from ansible_collections.org.platform.plugins.module_utils._cleanup.audit import AuditLog
from ansible_collections.org.platform.plugins.module_utils._cleanup.classify import PlanEntry, classify_eni, lb_id
from ansible_collections.org.platform.plugins.module_utils._cleanup.discovery import (
    AwsCalls,
    chunks,
    describe_enis,
    describe_instances,
)
from ansible_collections.org.platform.plugins.module_utils._cleanup.options import CleanupOptions
from ansible_collections.org.platform.plugins.module_utils._cleanup.plan import Plan, eni_context

# "Already gone": the resource is what the phase wanted it to be.
NOT_FOUND_CODES = (
    "LoadBalancerNotFound",
    "AccessPointNotFound",
    "TargetGroupNotFound",
    "InvalidGroup.NotFound",
    "InvalidNetworkInterfaceID.NotFound",
    "InvalidAttachmentID.NotFound",
    "InvalidSecurityGroupRuleId.NotFound",
    "InvalidPermission.NotFound",
)


def sleep_until(deadline: Deadline, seconds: float, end: float) -> None:
    """Sleep ``seconds``, never past ``end`` nor the global deadline (DeadlineExceeded once it passed)."""
    deadline.check()
    time.sleep(max(0.0, min(seconds, end - time.monotonic(), deadline.remaining())))
    deadline.check()


class Phases:
    """Applies one plan; what it did is in ``deleted``, ``revoked_rules``, ``released_enis``, ``blockers``."""

    def __init__(
        self, aws: AwsCalls, options: CleanupOptions, deadline: Deadline, audit: AuditLog, plan: Plan, account_id: str
    ):
        self.aws = aws
        self.options = options
        self.deadline = deadline
        self.audit = audit
        self.plan = plan
        self.account_id = account_id
        self.random = random.Random()  # noqa: S311 - backoff jitter
        self._lock = threading.Lock()
        self.deleted: dict[str, list[str]] = {
            "load_balancers": [],
            "target_groups": [],
            "network_interfaces": [],
            "security_groups": [],
        }
        self.revoked_rules: list[str] = []
        self.released_enis: list[str] = []
        self.blockers: list[dict[str, Any]] = []
        self.live_lb_descriptions: set[str] = set(plan.live_lb_descriptions)

    def backoff(self, attempt: int, base: float, cap: float) -> float:
        return self.random.uniform(base / 2, min(cap, base * 2 ** min(attempt, 10)))

    def _pool_map(self, func: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        if not items:
            return []
        with ThreadPoolExecutor(max_workers=min(self.options.workers, len(items))) as pool:
            return list(pool.map(func, items))

    def _record(self, bucket: str, rid: str, reason: str, **extra: Any) -> None:
        with self._lock:
            if rid not in self.deleted[bucket]:
                self.deleted[bucket].append(rid)
        self.audit.write(f"delete:{bucket}", rid, reason, **extra)

    def _blocker(self, kind: str, rid: str, reason: str, **details: Any) -> None:
        with self._lock:
            self.blockers.append({"kind": kind, "id": rid, "reason": reason, **details})
        self.audit.write("blocker", rid, reason, kind=kind, **details)

    def phase_lb(self) -> None:
        lbs = [e for e in self.plan.load_balancers if e.action == "delete"]
        for entry in [e for e in [*self.plan.load_balancers, *self.plan.target_groups] if e.action == "blocker"]:
            self._blocker(entry.kind, entry.id, entry.reason)

        def delete_lb(entry: PlanEntry) -> None:
            try:
                if entry.id.startswith("arn:"):
                    if entry.details.get("disable_deletion_protection"):
                        self.audit.write(
                            "modify:load_balancer_attributes",
                            entry.id,
                            "disable deletion protection before delete",
                            before={"deletion_protection.enabled": "true"},
                        )
                        self.aws.call(
                            "elbv2",
                            "modify_load_balancer_attributes",
                            LoadBalancerArn=entry.id,
                            Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}],
                        )
                    self.aws.call("elbv2", "delete_load_balancer", LoadBalancerArn=entry.id)
                else:
                    self.aws.call("elb", "delete_load_balancer", LoadBalancerName=entry.id)
            except ClientError as exc:
                if not is_error(exc, *NOT_FOUND_CODES):
                    self._blocker("load_balancer", entry.id, f"delete failed: {exc}")
                    return
            self._record("load_balancers", entry.id, entry.reason)
            with self._lock:
                self.live_lb_descriptions.discard(entry.details["eni_description"])

        self._pool_map(delete_lb, lbs)
        # Bounded wait until none of ours is listed any more (one batched describe per service per poll).
        wanted = {e.id for e in lbs} - {b["id"] for b in self.blockers}
        end = self.deadline.bound(self.options.lb_timeout_s)
        while wanted:
            present = {lb_id(lb) for lb in self.aws.paginate("elbv2", "describe_load_balancers")}
            present |= {lb["LoadBalancerName"] for lb in self.aws.paginate("elb", "describe_load_balancers")}
            wanted &= present
            if not wanted:
                break
            if time.monotonic() >= end:
                self.deadline.check()  # the global deadline, not the phase bound, ended the wait
                for rid in sorted(wanted):
                    self._blocker("load_balancer", rid, f"still present after {self.options.lb_timeout_s}s")
                break
            sleep_until(self.deadline, self.options.poll_interval_s, end)
        self._delete_target_groups(end)

    def _delete_target_groups(self, lb_end: float) -> None:
        tgs = [e for e in self.plan.target_groups if e.action == "delete"]
        end = max(lb_end, self.deadline.bound(self.options.lb_timeout_s))

        def delete_tg(entry: PlanEntry) -> None:
            attempt = 0
            while True:
                try:
                    self.aws.call("elbv2", "delete_target_group", TargetGroupArn=entry.id)
                except ClientError as exc:
                    if is_error(exc, "ResourceInUse") and time.monotonic() < end:
                        attempt += 1
                        sleep_until(
                            self.deadline,
                            self.backoff(attempt, self.options.backoff_base_s * 5, self.options.poll_interval_s),
                            end,
                        )
                        continue
                    if is_error(exc, "ResourceInUse"):
                        self.deadline.check()
                    if not is_error(exc, *NOT_FOUND_CODES):
                        self._blocker("target_group", entry.id, f"delete failed: {exc}")
                        return
                self._record("target_groups", entry.id, entry.reason)
                return

        self._pool_map(delete_tg, tgs)

    def _candidate_sgs(self) -> set[str]:
        return set(self.plan.ids(self.plan.security_groups, "delete"))

    def phase_eni(self) -> None:
        """Delete/detach what may be touched, wait (bounded) for what AWS releases itself."""
        planned = {e.id for e in self.plan.network_interfaces if e.action in ("delete", "detach_delete")}
        candidates = self._candidate_sgs()
        blocking = candidates | self.plan.protected_sgs
        end = self.deadline.bound(self.options.eni_timeout_s)
        instances = describe_instances(self.aws, self.options)
        reported: set[str] = set()
        while True:
            waiting: list[PlanEntry] = []
            work: list[tuple[PlanEntry, dict[str, Any]]] = []
            for eni in describe_enis(self.aws, self.options):
                entry = classify_eni(
                    eni,
                    candidates,
                    instances,
                    eni_context(self.plan, self.options, self.account_id, self.live_lb_descriptions),
                )
                if entry is None:
                    continue
                if entry.action in ("delete", "detach_delete"):
                    if entry.id in planned:  # only what the plan announced; a rerun plans anything new
                        work.append((entry, eni))
                elif entry.action == "wait" and set(entry.details.get("groups", [])) & blocking:
                    waiting.append(entry)  # SG-less lingering ENIs block only the network stack: verify waits
                elif entry.action == "blocker" and entry.id not in reported:
                    reported.add(entry.id)
                    self._blocker("network_interface", entry.id, entry.reason, groups=entry.details.get("groups", []))
            work.sort(key=lambda item: not item[0].details.get("load_balancer"))  # LB ENIs first: they hold SGs
            self._pool_map(self._remove_eni, work)
            done = set(self.deleted["network_interfaces"]) | set(self.released_enis) | {b["id"] for b in self.blockers}
            pending = [e for e, _ in work if e.id not in done]
            if not pending and not waiting:
                return
            if time.monotonic() >= end:
                self.deadline.check()  # the global deadline, not the phase bound, ended the wait
                for entry in [*pending, *waiting]:
                    self._blocker(
                        "network_interface",
                        entry.id,
                        f"{entry.reason}; still present after {self.options.eni_timeout_s}s",
                    )
                return
            sleep_until(self.deadline, self.options.poll_interval_s, end)

    def _remove_eni(self, item: tuple[PlanEntry, dict[str, Any]]) -> None:
        entry, eni = item
        eid = eni["NetworkInterfaceId"]
        attachment = eni.get("Attachment") or {}
        if attachment.get("AttachmentId") and eni.get("Status") != "available":
            self.audit.write("detach:network_interface", eid, entry.reason, attachment=attachment)
            try:
                self.aws.call("ec2", "detach_network_interface", AttachmentId=attachment["AttachmentId"], Force=True)
            except ClientError as exc:
                if is_error(exc, "InvalidAttachmentID.NotFound") and entry.details.get("load_balancer"):
                    self._released(eid)  # AWS released the lingering ENI itself meanwhile
                    return
                if not is_error(exc, *NOT_FOUND_CODES):
                    self._blocker("network_interface", eid, f"detach failed: {exc}")
                    return
        try:
            self.aws.call("ec2", "delete_network_interface", NetworkInterfaceId=eid)
        except ClientError as exc:
            if is_error(exc, "InvalidNetworkInterface.InUse", "InvalidParameterValue"):
                return  # still detaching; the next poll retries it
            if is_error(exc, "InvalidNetworkInterfaceID.NotFound"):
                self._released(eid)
                return
            if not is_error(exc, *NOT_FOUND_CODES):
                self._blocker("network_interface", eid, f"delete failed: {exc}")
                return
        self._record("network_interfaces", eid, entry.reason, description=eni.get("Description", ""))

    def _released(self, eid: str) -> None:
        with self._lock:
            if eid not in self.released_enis:
                self.released_enis.append(eid)
        self.audit.write("released:network_interface", eid, "already gone (released by AWS or a concurrent run)")

    def phase_sg(self) -> None:
        candidates = self._candidate_sgs()
        if not candidates:
            return
        # Candidates still held by an ENI or instance would only produce DependencyViolation: report them.
        held: dict[str, list[str]] = {}
        for eni in describe_enis(
            self.aws,
            self.options,
            [{"Name": "group-id", "Values": sorted(candidates)}] if len(candidates) <= 200 else None,
        ):
            for group in eni.get("Groups", []):
                if group["GroupId"] in candidates:
                    held.setdefault(group["GroupId"], []).append(eni["NetworkInterfaceId"])
        for gid, enis in sorted(held.items()):
            self._blocker(
                "security_group", gid, f"still used by ENI(s) {', '.join(sorted(enis)[:10])}", enis=sorted(enis)
            )
        deletable = sorted(candidates - set(held))
        self._revoke_references(set(deletable))
        blocked_by_rules = {
            b["details"]["referenced_group_id"] for b in [e.as_dict() for e in self.plan.rules if e.action == "blocker"]
        }
        for gid in sorted(blocked_by_rules & set(deletable)):
            self._blocker("security_group", gid, "referenced by a rule we may not modify (see plan.rules)")
        deletable = [g for g in deletable if g not in blocked_by_rules]
        end = self.deadline.bound(self.options.sg_timeout_s)
        names = {e.id: e for e in self.plan.security_groups}

        def delete_sg(gid: str) -> None:
            attempt = 0
            while True:
                try:
                    self.aws.call("ec2", "delete_security_group", GroupId=gid)
                except ClientError as exc:
                    if is_error(exc, "DependencyViolation") and time.monotonic() < end:
                        attempt += 1
                        sleep_until(
                            self.deadline,
                            self.backoff(attempt, self.options.sg_backoff_base_s, self.options.sg_backoff_cap_s),
                            end,
                        )
                        continue
                    if is_error(exc, "DependencyViolation"):
                        self.deadline.check()
                    if not is_error(exc, *NOT_FOUND_CODES):
                        self._blocker("security_group", gid, f"delete failed: {exc}")
                        return
                self._record("security_groups", gid, names[gid].reason, name=names[gid].name)
                return

        self._pool_map(delete_sg, deletable)

    def _revoke_references(self, targets: set[str]) -> None:
        """Snapshot then revoke every rule (in any SG of the VPC we may modify) that references ``targets``."""
        revoke = [e for e in self.plan.rules if e.action == "revoke" and e.details["referenced_group_id"] in targets]
        holders = sorted({e.details["group_id"] for e in revoke})
        if not holders:
            return
        live: list[dict[str, Any]] = []
        for batch in chunks(holders, 200):
            live += self.aws.paginate(
                "ec2",
                "describe_security_group_rules",
                Filters=[{"Name": "group-id", "Values": batch}],
                MaxResults=1000,
            )
        forbidden = {e.details["group_id"] for e in self.plan.rules if e.action == "blocker"} - self.plan.protected_sgs
        grouped: dict[tuple[str, bool], list[dict[str, Any]]] = {}
        for rule in live:
            ref = (rule.get("ReferencedGroupInfo") or {}).get("GroupId")
            if ref in targets and ref != rule["GroupId"] and rule["GroupId"] not in forbidden:
                grouped.setdefault((rule["GroupId"], bool(rule["IsEgress"])), []).append(rule)

        def revoke_group(item: tuple[tuple[str, bool], list[dict[str, Any]]]) -> None:
            (holder, egress), rules = item
            for rule in rules:
                self.audit.write(
                    "revoke:security_group_rule",
                    rule["SecurityGroupRuleId"],
                    f"references candidate SG {rule['ReferencedGroupInfo']['GroupId']}",
                    group_id=holder,
                    rule=rule,
                )
            operation = "revoke_security_group_egress" if egress else "revoke_security_group_ingress"
            ids = [r["SecurityGroupRuleId"] for r in rules]
            try:
                self.aws.call("ec2", operation, GroupId=holder, SecurityGroupRuleIds=ids)
            except ClientError as exc:
                if not is_error(exc, *NOT_FOUND_CODES):
                    self._blocker("sg_rule", holder, f"revoke failed: {exc}", rules=ids)
                    return
            with self._lock:
                self.revoked_rules.extend(ids)

        self._pool_map(revoke_group, list(grouped.items()))
