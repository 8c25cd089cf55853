# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Phase ``lb``: ELBv2 and classic load balancers, a bounded batched wait until they are gone, then target groups."""

from __future__ import annotations

import time

from ansible_collections.org.platform.plugins.module_utils._aws import ClientError, is_error
from ansible_collections.org.platform.plugins.module_utils._cleanup.classify import PlanEntry, lb_id
from ansible_collections.org.platform.plugins.module_utils._cleanup.phase_base import (
    NOT_FOUND_CODES,
    PhaseContext,
    sleep_until,
)


class LoadBalancerPhase:
    def __init__(self, ctx: PhaseContext):
        self.ctx = ctx

    def run(self) -> None:
        ctx = self.ctx
        lbs = [e for e in ctx.plan.load_balancers if e.action == "delete"]
        for entry in [e for e in [*ctx.plan.load_balancers, *ctx.plan.target_groups] if e.action == "blocker"]:
            ctx.blocker(entry.kind, entry.id, entry.reason)
        ctx.pool_map(self._delete_lb, lbs)
        end = ctx.deadline.bound(ctx.options.lb_timeout_s)
        self._wait_gone({e.id for e in lbs} - {b["id"] for b in ctx.blockers}, end)
        self._delete_target_groups(end)

    def _delete_lb(self, entry: PlanEntry) -> None:
        ctx = self.ctx
        try:
            if entry.id.startswith("arn:"):
                if entry.details.get("disable_deletion_protection"):
                    ctx.audit.write(
                        "modify:load_balancer_attributes",
                        entry.id,
                        "disable deletion protection before delete",
                        before={"deletion_protection.enabled": "true"},
                    )
                    ctx.aws.call(
                        "elbv2",
                        "modify_load_balancer_attributes",
                        LoadBalancerArn=entry.id,
                        Attributes=[{"Key": "deletion_protection.enabled", "Value": "false"}],
                    )
                ctx.aws.call("elbv2", "delete_load_balancer", LoadBalancerArn=entry.id)
            else:
                ctx.aws.call("elb", "delete_load_balancer", LoadBalancerName=entry.id)
        except ClientError as exc:
            if not is_error(exc, *NOT_FOUND_CODES):
                ctx.blocker("load_balancer", entry.id, f"delete failed: {exc}")
                return
        ctx.record("load_balancers", entry.id, entry.reason)
        with ctx.lock:
            ctx.live_lb_descriptions.discard(entry.details["eni_description"])

    def _wait_gone(self, wanted: set[str], end: float) -> None:
        """Bounded wait until none of ours is listed any more (one batched describe per service per poll)."""
        ctx = self.ctx
        while wanted:
            present = {lb_id(lb) for lb in ctx.aws.paginate("elbv2", "describe_load_balancers")}
            present |= {lb["LoadBalancerName"] for lb in ctx.aws.paginate("elb", "describe_load_balancers")}
            wanted &= present
            if not wanted:
                break
            if time.monotonic() >= end:
                ctx.deadline.check()  # the global deadline, not the phase bound, ended the wait
                for rid in sorted(wanted):
                    ctx.blocker("load_balancer", rid, f"still present after {ctx.options.lb_timeout_s}s")
                break
            sleep_until(ctx.deadline, ctx.options.poll_interval_s, end)

    def _delete_target_groups(self, lb_end: float) -> None:
        ctx = self.ctx
        end = max(lb_end, ctx.deadline.bound(ctx.options.lb_timeout_s))

        def delete_tg(entry: PlanEntry) -> None:
            gone = ctx.delete_with_backoff(
                "target_group",
                entry.id,
                lambda: ctx.aws.call("elbv2", "delete_target_group", TargetGroupArn=entry.id),
                "ResourceInUse",
                ctx.options.backoff_base_s * 5,
                ctx.options.poll_interval_s,
                end,
            )
            if gone:
                ctx.record("target_groups", entry.id, entry.reason)

        ctx.pool_map(delete_tg, [e for e in ctx.plan.target_groups if e.action == "delete"])
