# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remove what Kubernetes' cloud controllers left in a VPC, so `terraform destroy` never hits DependencyViolation.

SPEC M9 / INFRA-003.

``ClusterCleanup(options, client_factory).run()`` discovers, in one VPC only, the load balancers, target
groups, security groups (SGs), network interfaces (ENIs) and SG rules that the clusters' controllers
created, builds a plan that says why each resource matched or was skipped, and (unless ``check_mode``)
applies it phase by phase:

``lb``      ELBv2 and classic load balancers, then their target groups (bounded, batched polls);
``eni``     ENIs that hold the clusters' or the stacks' SGs: lingering ENIs of our deleted CLBs/ALBs are
            force-detached and deleted, available ENIs deleted, our own secondary ENIs force-detached and
            deleted; NLB (``ela-attach``) ENIs are waited for; primary ENIs of live instances and other
            requester-managed ENIs are never touched and are reported as blockers;
``sg``      every rule that references a candidate SG is snapshotted to the audit log, then revoked; the
            candidate SGs are deleted with jittered backoff;
``verify``  nothing is left in the VPC that would block destroying the SG and network stacks.

Safety rails: the caller's account must equal ``expected_account_id``; nothing outside the VPC, in the
protect list (Terraform state), a default SG, tagged ``shared`` or tagged for another cluster is ever
deleted or modified. Throttling errors are retried with full-jitter backoff (counted); ``NotFound``
means done; everything is re-derived from live state, so a rerun converges.

Retries are the collection's one policy (``module_utils/_aws.py``: botocore ``standard`` mode, counted and
bounded by the run's global deadline).

The package: ``options`` (validation), ``discovery`` (one read-only snapshot, counted calls), ``classify``
(whose a resource is, pure), ``plan`` (``build_plan(discovery, options)``, pure), ``phases`` (lb, eni, sg),
``verify`` (the gate), ``audit`` (the JSON-lines trail); ``ClusterCleanup`` below only orders them.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._aws import Deadline, DeadlineExceeded
from ansible_collections.org.platform.plugins.module_utils._cleanup.audit import AuditLog, audit_label
from ansible_collections.org.platform.plugins.module_utils._cleanup.classify import (
    Ownership,
    PlanEntry,
    classify_eni,
    classify_tags,
    lb_eni_description,
    lb_id,
    tag_dict,
)
from ansible_collections.org.platform.plugins.module_utils._cleanup.discovery import AwsCalls, Discovery, discover
from ansible_collections.org.platform.plugins.module_utils._cleanup.options import (
    PHASES,
    CleanupError,
    CleanupOptions,
    cluster_name_problem,
    options_from_params,
    protect_entry_problem,
)
from ansible_collections.org.platform.plugins.module_utils._cleanup.phases import Phases
from ansible_collections.org.platform.plugins.module_utils._cleanup.plan import Plan, build_plan
from ansible_collections.org.platform.plugins.module_utils._cleanup.verify import Verify
from ansible_collections.org.platform.plugins.module_utils._runlog import RunLogError

__all__ = [
    "PHASES",
    "AwsCalls",
    "CleanupError",
    "CleanupOptions",
    "ClusterCleanup",
    "Deadline",
    "DeadlineExceeded",
    "Discovery",
    "Ownership",
    "Plan",
    "PlanEntry",
    "build_plan",
    "classify_eni",
    "classify_tags",
    "cluster_name_problem",
    "lb_eni_description",
    "lb_id",
    "options_from_params",
    "protect_entry_problem",
    "tag_dict",
]


class ClusterCleanup:
    """Preflight, discover, plan, then (unless check mode) the selected phases in order; one result."""

    def __init__(self, options: CleanupOptions, client_factory: Callable[[str], Any]):
        options.validate()
        self.options = options
        self.deadline = Deadline(options.deadline_s)
        self.aws = AwsCalls(client_factory, options, self.deadline)
        self.account_id = ""
        self.audit = AuditLog(None, {})
        self.plan = Plan()
        self.phases: Phases | None = None
        self.phase_seconds: dict[str, float] = {}

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        try:
            self._preflight()
        except DeadlineExceeded:
            # The deadline can pass during the account and VPC checks already (a loaded host, a short
            # deadline): nothing was changed; report it like any other stop, never as a traceback.
            return self._result(False, "discover", {}, time.monotonic() - started)
        completed, stopped_in, verify, phase = True, "", {}, "discover"
        try:
            found = self._timed("discover", lambda: discover(self.aws, self.options, self.account_id))
            self.plan = build_plan(found, self.options)
            for entry in self.plan.entries():
                self.audit.write(f"plan:{entry.action}", entry.id, entry.reason, kind=entry.kind, details=entry.details)
            if not self.options.check_mode:
                self.phases = Phases(self.aws, self.options, self.deadline, self.audit, self.plan, self.account_id)
                for phase in self.options.phases:
                    if phase == "verify":
                        verify = self._timed("verify", Verify(self.aws, self.options, self.deadline, self.audit).run)
                    else:
                        self._timed(phase, getattr(self.phases, f"phase_{phase}"))
        except DeadlineExceeded:
            completed, stopped_in = False, phase
            self.audit.write(
                "deadline", self.options.vpc_id, f"global deadline of {self.options.deadline_s}s exceeded in {phase}"
            )
        result = self._result(completed, stopped_in, verify, time.monotonic() - started)
        self.audit.write(
            "finish", self.options.vpc_id, "cleanup run finished", completed=completed, stats=result["stats"]
        )
        self.audit.close()
        return result

    def _preflight(self) -> None:
        """The credentials' account must be the expected one and the VPC must exist; opens the audit log."""
        identity = self.aws.call("sts", "get_caller_identity")
        self.account_id = identity["Account"]
        if self.account_id != self.options.expected_account_id:
            raise CleanupError(
                f"refusing to run: credentials belong to account {self.account_id}, "
                f"expected {self.options.expected_account_id}"
            )
        vpc_id = self.options.vpc_id
        vpcs = self.aws.call("ec2", "describe_vpcs", Filters=[{"Name": "vpc-id", "Values": [vpc_id]}])
        if not vpcs.get("Vpcs"):
            raise CleanupError(f"VPC {vpc_id} does not exist in this region")
        try:
            self.audit = AuditLog.create(
                self.options.audit_dir,
                audit_label(self.options.run_label, self.options.cluster_names),
                {"vpc_id": vpc_id, "check_mode": self.options.check_mode},
            )
        except RunLogError as exc:  # nothing has been changed yet
            raise CleanupError(f"cannot open the audit log: {exc}") from exc
        self.audit.write(
            "start", vpc_id, "cleanup run", clusters=self.options.cluster_names, phases=self.options.phases
        )

    def _timed(self, name: str, func: Callable[[], Any]) -> Any:
        start = time.monotonic()
        try:
            return func()
        finally:
            self.phase_seconds[name] = round(self.phase_seconds.get(name, 0.0) + time.monotonic() - start, 3)

    def _result(self, completed: bool, stopped_in: str, verify: dict[str, Any], seconds: float) -> dict[str, Any]:
        done = self.phases or Phases(self.aws, self.options, self.deadline, self.audit, self.plan, self.account_id)
        plan = self.plan.as_dict(self.options.phases)
        if self.options.check_mode:
            changed = any(plan["to_delete"].values())
        else:
            changed = bool(any(done.deleted.values()) or done.revoked_rules)
        stats = self.aws.stats() | {
            "seconds": round(seconds, 3),
            "phase_seconds": self.phase_seconds,
            "deleted_resources": sum(len(v) for v in done.deleted.values()),
            "revoked_rules": len(done.revoked_rules),
        }
        return {
            "changed": changed,
            "check_mode": self.options.check_mode,
            "completed": completed,
            "stopped_in_phase": stopped_in,
            "account_id": self.account_id,
            "vpc_id": self.options.vpc_id,
            "cluster_names": self.options.cluster_names,
            "phases": self.options.phases,
            "plan": plan,
            "deleted": done.deleted,
            "revoked_rules": done.revoked_rules,
            "released_network_interfaces": done.released_enis,
            "blockers": done.blockers,
            "verify": verify,
            "stats": stats,
            "audit_file": str(self.audit.path) if self.audit.path else "",
        }
