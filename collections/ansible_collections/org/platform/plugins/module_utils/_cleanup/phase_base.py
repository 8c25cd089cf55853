# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What the phases share: the run's AWS calls and plan, what was done so far, bounded sleeps and backoff."""

from __future__ import annotations

import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._aws import ClientError, Deadline, is_error
from ansible_collections.org.platform.plugins.module_utils._cleanup.audit import AuditLog
from ansible_collections.org.platform.plugins.module_utils._cleanup.discovery import AwsCalls
from ansible_collections.org.platform.plugins.module_utils._cleanup.options import CleanupOptions
from ansible_collections.org.platform.plugins.module_utils._cleanup.plan import Plan

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


class PhaseContext:
    """One plan being applied; what was done is in ``deleted``, ``revoked_rules``, ``released_enis``, ``blockers``."""

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

    @property
    def lock(self) -> threading.Lock:
        return self._lock

    def backoff(self, attempt: int, base: float, cap: float) -> float:
        return self.random.uniform(base / 2, min(cap, base * 2 ** min(attempt, 10)))

    def pool_map(self, func: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        if not items:
            return []
        with ThreadPoolExecutor(max_workers=min(self.options.workers, len(items))) as pool:
            return list(pool.map(func, items))

    def record(self, bucket: str, rid: str, reason: str, **extra: Any) -> None:
        with self._lock:
            if rid not in self.deleted[bucket]:
                self.deleted[bucket].append(rid)
        self.audit.write(f"delete:{bucket}", rid, reason, **extra)

    def blocker(self, kind: str, rid: str, reason: str, **details: Any) -> None:
        with self._lock:
            self.blockers.append({"kind": kind, "id": rid, "reason": reason, **details})
        self.audit.write("blocker", rid, reason, kind=kind, **details)

    def released(self, eid: str) -> None:
        with self._lock:
            if eid not in self.released_enis:
                self.released_enis.append(eid)
        self.audit.write("released:network_interface", eid, "already gone (released by AWS or a concurrent run)")

    def candidate_sgs(self) -> set[str]:
        return set(self.plan.ids(self.plan.security_groups, "delete"))

    def delete_with_backoff(
        self, kind: str, rid: str, call: Callable[[], Any], busy_code: str, base: float, cap: float, end: float
    ) -> bool:
        """``call()`` until it succeeds, retrying ``busy_code`` with jittered backoff until ``end``.

        True when the resource is gone (deleted now or already); False after recording a blocker.
        """
        attempt = 0
        while True:
            try:
                call()
            except ClientError as exc:
                if is_error(exc, busy_code) and time.monotonic() < end:
                    attempt += 1
                    sleep_until(self.deadline, self.backoff(attempt, base, cap), end)
                    continue
                if is_error(exc, busy_code):
                    self.deadline.check()
                if not is_error(exc, *NOT_FOUND_CODES):
                    self.blocker(kind, rid, f"delete failed: {exc}")
                    return False
            return True
