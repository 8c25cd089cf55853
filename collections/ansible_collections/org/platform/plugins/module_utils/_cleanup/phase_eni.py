# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Phase ``eni``: delete or force-detach the ENIs the plan announced; wait (bounded) for what AWS releases itself."""

from __future__ import annotations

import time
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._aws import ClientError, is_error
from ansible_collections.org.platform.plugins.module_utils._cleanup.classify import PlanEntry, classify_eni
from ansible_collections.org.platform.plugins.module_utils._cleanup.discovery import describe_enis, describe_instances
from ansible_collections.org.platform.plugins.module_utils._cleanup.phase_base import (
    NOT_FOUND_CODES,
    PhaseContext,
    sleep_until,
)
from ansible_collections.org.platform.plugins.module_utils._cleanup.plan import eni_context


class NetworkInterfacePhase:
    def __init__(self, ctx: PhaseContext):
        self.ctx = ctx
        self.planned = {e.id for e in ctx.plan.network_interfaces if e.action in ("delete", "detach_delete")}
        self.candidates = ctx.candidate_sgs()
        self.blocking = self.candidates | ctx.plan.protected_sgs
        self.reported: set[str] = set()

    def run(self) -> None:
        ctx = self.ctx
        end = ctx.deadline.bound(ctx.options.eni_timeout_s)
        instances = describe_instances(ctx.aws, ctx.options)
        while True:
            work, waiting = self._scan(instances)
            work.sort(key=lambda item: not item[0].details.get("load_balancer"))  # LB ENIs first: they hold SGs
            ctx.pool_map(self._remove_eni, work)
            done = set(ctx.deleted["network_interfaces"]) | set(ctx.released_enis) | {b["id"] for b in ctx.blockers}
            pending = [work_item[0] for work_item in work if work_item[0].id not in done]
            if not pending and not waiting:
                return
            if time.monotonic() >= end:
                ctx.deadline.check()  # the global deadline, not the phase bound, ended the wait
                for entry in [*pending, *waiting]:
                    ctx.blocker(
                        "network_interface",
                        entry.id,
                        f"{entry.reason}; still present after {ctx.options.eni_timeout_s}s",
                    )
                return
            sleep_until(ctx.deadline, ctx.options.poll_interval_s, end)

    def _scan(self, instances: dict[str, str]) -> tuple[list[tuple[PlanEntry, dict[str, Any]]], list[PlanEntry]]:
        """One look at the VPC's ENIs: (what to remove now, what we wait for); new blockers are recorded once."""
        ctx = self.ctx
        work: list[tuple[PlanEntry, dict[str, Any]]] = []
        waiting: list[PlanEntry] = []
        for eni in describe_enis(ctx.aws, ctx.options):
            entry = classify_eni(
                eni,
                self.candidates,
                instances,
                eni_context(ctx.plan, ctx.options, ctx.account_id, ctx.live_lb_descriptions),
            )
            if entry is None:
                continue
            if entry.action in ("delete", "detach_delete"):
                if entry.id in self.planned:  # only what the plan announced; a rerun plans anything new
                    work.append((entry, eni))
            elif entry.action == "wait" and set(entry.details.get("groups", [])) & self.blocking:
                waiting.append(entry)  # SG-less lingering ENIs block only the network stack: verify waits
            elif entry.action == "blocker" and entry.id not in self.reported:
                self.reported.add(entry.id)
                ctx.blocker("network_interface", entry.id, entry.reason, groups=entry.details.get("groups", []))
        return work, waiting

    def _remove_eni(self, item: tuple[PlanEntry, dict[str, Any]]) -> None:
        ctx = self.ctx
        entry, eni = item
        eid = eni["NetworkInterfaceId"]
        attachment = eni.get("Attachment") or {}
        if attachment.get("AttachmentId") and eni.get("Status") != "available":
            ctx.audit.write("detach:network_interface", eid, entry.reason, attachment=attachment)
            try:
                ctx.aws.call("ec2", "detach_network_interface", AttachmentId=attachment["AttachmentId"], Force=True)
            except ClientError as exc:
                if is_error(exc, "InvalidAttachmentID.NotFound") and entry.details.get("load_balancer"):
                    ctx.released(eid)  # AWS released the lingering ENI itself meanwhile
                    return
                if not is_error(exc, *NOT_FOUND_CODES):
                    ctx.blocker("network_interface", eid, f"detach failed: {exc}")
                    return
        try:
            ctx.aws.call("ec2", "delete_network_interface", NetworkInterfaceId=eid)
        except ClientError as exc:
            if is_error(exc, "InvalidNetworkInterface.InUse", "InvalidParameterValue"):
                return  # still detaching; the next poll retries it
            if is_error(exc, "InvalidNetworkInterfaceID.NotFound"):
                ctx.released(eid)
                return
            if not is_error(exc, *NOT_FOUND_CODES):
                ctx.blocker("network_interface", eid, f"delete failed: {exc}")
                return
        ctx.record("network_interfaces", eid, entry.reason, description=eni.get("Description", ""))
