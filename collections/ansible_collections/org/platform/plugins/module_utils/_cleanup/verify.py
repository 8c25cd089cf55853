# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The verify gate: nothing left in the VPC that would stop ``terraform destroy`` of the SG and network stacks."""

from __future__ import annotations

import time
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._aws import Deadline
from ansible_collections.org.platform.plugins.module_utils._cleanup.audit import AuditLog
from ansible_collections.org.platform.plugins.module_utils._cleanup.classify import lb_eni_description, lb_id
from ansible_collections.org.platform.plugins.module_utils._cleanup.discovery import AwsCalls, describe_enis
from ansible_collections.org.platform.plugins.module_utils._cleanup.options import CleanupOptions
from ansible_collections.org.platform.plugins.module_utils._cleanup.phase_base import sleep_until


class Verify:
    def __init__(self, aws: AwsCalls, options: CleanupOptions, deadline: Deadline, audit: AuditLog):
        self.aws = aws
        self.options = options
        self.deadline = deadline
        self.audit = audit

    def _protected(self, *ids: str) -> bool:
        return any(i and i in self.options.protect_ids for i in ids)

    def run(self) -> dict[str, Any]:
        """Gate for `terraform destroy` of the SG and network stacks; waits (bounded) for lingering LB ENIs."""
        end = self.deadline.bound(self.options.eni_timeout_s)
        while True:
            blockers, lingering = self._verify_once()
            if lingering and time.monotonic() >= end:
                self.deadline.check()
            if not lingering or time.monotonic() >= end:
                ok = not blockers and not lingering
                report = {"ok": ok, "blockers": blockers + lingering}
                self.audit.write(
                    "verify",
                    self.options.vpc_id,
                    "ok" if ok else f"{len(report['blockers'])} blocker(s)",
                    blockers=report["blockers"],
                )
                return report
            sleep_until(self.deadline, self.options.poll_interval_s, end)

    def _verify_once(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        blockers: list[dict[str, Any]] = []
        lingering: list[dict[str, Any]] = []
        vpc_filter = [{"Name": "vpc-id", "Values": [self.options.vpc_id]}]
        live: set[str] = set()
        for lb in self.aws.paginate("elbv2", "describe_load_balancers"):
            live.add(lb_eni_description(lb))
            if lb.get("VpcId") == self.options.vpc_id and not self._protected(lb_id(lb), lb["LoadBalancerName"]):
                blockers.append(
                    {
                        "kind": "load_balancer",
                        "id": lb_id(lb),
                        "blocks": "network",
                        "reason": "load balancer in the VPC",
                    }
                )
        for lb in self.aws.paginate("elb", "describe_load_balancers"):
            live.add(lb_eni_description(lb))
            if lb.get("VPCId") == self.options.vpc_id and not self._protected(lb["LoadBalancerName"]):
                blockers.append(
                    {
                        "kind": "load_balancer",
                        "id": lb["LoadBalancerName"],
                        "blocks": "network",
                        "reason": "load balancer in the VPC",
                    }
                )
        for tg in self.aws.paginate("elbv2", "describe_target_groups"):
            if tg.get("VpcId") == self.options.vpc_id and not self._protected(
                tg["TargetGroupArn"], tg["TargetGroupName"]
            ):
                blockers.append(
                    {
                        "kind": "target_group",
                        "id": tg["TargetGroupArn"],
                        "blocks": "network",
                        "reason": "target group in the VPC",
                    }
                )
        groups = self.aws.paginate("ec2", "describe_security_groups", Filters=vpc_filter)
        stack_sgs = {g["GroupId"] for g in groups if g["GroupId"] in self.options.protect_ids}
        for group in groups:
            gid = group["GroupId"]
            if group["GroupName"] == "default" or gid in stack_sgs:
                continue
            blockers.append(
                {
                    "kind": "security_group",
                    "id": gid,
                    "blocks": "network",
                    "reason": f"non-Terraform SG {group['GroupName']} in the VPC",
                }
            )
            for perms in (group.get("IpPermissions", []), group.get("IpPermissionsEgress", [])):
                for perm in perms:
                    refs = {p.get("GroupId") for p in perm.get("UserIdGroupPairs", [])} & stack_sgs
                    for ref in sorted(refs):
                        blockers.append(
                            {
                                "kind": "sg_rule",
                                "id": f"{gid}->{ref}",
                                "blocks": "security",
                                "reason": f"rule in {gid} references stack SG {ref}",
                            }
                        )
        for eni in describe_enis(self.aws, self.options):
            eid = eni["NetworkInterfaceId"]
            if self._protected(eid):
                continue
            held = sorted({g["GroupId"] for g in eni.get("Groups", [])} & stack_sgs)
            item = {
                "kind": "network_interface",
                "id": eid,
                "blocks": "security" if held else "network",
                "reason": f"ENI '{eni.get('Description', '')}' ({eni.get('Status')})"
                + (f" holds stack SG(s) {', '.join(held)}" if held else " in the VPC"),
            }
            description = eni.get("Description", "")
            orphan_lb_eni = description.startswith("ELB ") and eni.get("RequesterManaged") and description not in live
            (lingering if orphan_lb_eni else blockers).append(item)
        return blockers, lingering

    # ---------------------------------------------------------------------------------------------- utils
