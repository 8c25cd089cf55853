# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Phase ``sg``: snapshot and revoke every rule that references a candidate SG, then delete the candidates."""

from __future__ import annotations

from typing import Any

from ansible_collections.org.platform.plugins.module_utils._aws import ClientError, is_error
from ansible_collections.org.platform.plugins.module_utils._cleanup.discovery import chunks, describe_enis
from ansible_collections.org.platform.plugins.module_utils._cleanup.phase_base import NOT_FOUND_CODES, PhaseContext


class SecurityGroupPhase:
    def __init__(self, ctx: PhaseContext):
        self.ctx = ctx

    def run(self) -> None:
        ctx = self.ctx
        candidates = ctx.candidate_sgs()
        if not candidates:
            return
        # Candidates still held by an ENI or instance would only produce DependencyViolation: report them.
        held = self._held(candidates)
        for gid, enis in sorted(held.items()):
            ctx.blocker(
                "security_group", gid, f"still used by ENI(s) {', '.join(sorted(enis)[:10])}", enis=sorted(enis)
            )
        deletable = sorted(candidates - set(held))
        self._revoke_references(set(deletable))
        blocked_by_rules = {
            b["details"]["referenced_group_id"] for b in [e.as_dict() for e in ctx.plan.rules if e.action == "blocker"]
        }
        for gid in sorted(blocked_by_rules & set(deletable)):
            ctx.blocker("security_group", gid, "referenced by a rule we may not modify (see plan.rules)")
        deletable = [g for g in deletable if g not in blocked_by_rules]
        end = ctx.deadline.bound(ctx.options.sg_timeout_s)
        names = {e.id: e for e in ctx.plan.security_groups}

        def delete_sg(gid: str) -> None:
            gone = ctx.delete_with_backoff(
                "security_group",
                gid,
                lambda: ctx.aws.call("ec2", "delete_security_group", GroupId=gid),
                "DependencyViolation",
                ctx.options.sg_backoff_base_s,
                ctx.options.sg_backoff_cap_s,
                end,
            )
            if gone:
                ctx.record("security_groups", gid, names[gid].reason, name=names[gid].name)

        ctx.pool_map(delete_sg, deletable)

    def _held(self, candidates: set[str]) -> dict[str, list[str]]:
        """Candidate SG -> the ENIs that still use it."""
        held: dict[str, list[str]] = {}
        for eni in describe_enis(
            self.ctx.aws,
            self.ctx.options,
            [{"Name": "group-id", "Values": sorted(candidates)}] if len(candidates) <= 200 else None,
        ):
            for group in eni.get("Groups", []):
                if group["GroupId"] in candidates:
                    held.setdefault(group["GroupId"], []).append(eni["NetworkInterfaceId"])
        return held

    def _revoke_references(self, targets: set[str]) -> None:
        """Snapshot then revoke every rule (in any SG of the VPC we may modify) that references ``targets``."""
        ctx = self.ctx
        revoke = [e for e in ctx.plan.rules if e.action == "revoke" and e.details["referenced_group_id"] in targets]
        holders = sorted({e.details["group_id"] for e in revoke})
        if not holders:
            return
        live: list[dict[str, Any]] = []
        for batch in chunks(holders, 200):
            live += ctx.aws.paginate(
                "ec2",
                "describe_security_group_rules",
                Filters=[{"Name": "group-id", "Values": batch}],
                MaxResults=1000,
            )
        forbidden = {e.details["group_id"] for e in ctx.plan.rules if e.action == "blocker"} - ctx.plan.protected_sgs
        grouped: dict[tuple[str, bool], list[dict[str, Any]]] = {}
        for rule in live:
            ref = (rule.get("ReferencedGroupInfo") or {}).get("GroupId")
            if ref in targets and ref != rule["GroupId"] and rule["GroupId"] not in forbidden:
                grouped.setdefault((rule["GroupId"], bool(rule["IsEgress"])), []).append(rule)
        ctx.pool_map(self._revoke_group, list(grouped.items()))

    def _revoke_group(self, item: tuple[tuple[str, bool], list[dict[str, Any]]]) -> None:
        ctx = self.ctx
        (holder, egress), rules = item
        for rule in rules:
            ctx.audit.write(
                "revoke:security_group_rule",
                rule["SecurityGroupRuleId"],
                f"references candidate SG {rule['ReferencedGroupInfo']['GroupId']}",
                group_id=holder,
                rule=rule,
            )
        operation = "revoke_security_group_egress" if egress else "revoke_security_group_ingress"
        ids = [r["SecurityGroupRuleId"] for r in rules]
        try:
            ctx.aws.call("ec2", operation, GroupId=holder, SecurityGroupRuleIds=ids)
        except ClientError as exc:
            if not is_error(exc, *NOT_FOUND_CODES):
                ctx.blocker("sg_rule", holder, f"revoke failed: {exc}", rules=ids)
                return
        with ctx.lock:
            ctx.revoked_rules.extend(ids)
