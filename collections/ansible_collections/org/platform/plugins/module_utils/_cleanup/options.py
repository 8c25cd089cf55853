# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options of a cleanup run and their validation (before the first API call)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

PHASES = ("lb", "eni", "sg", "verify")


class CleanupError(Exception):
    """The cleanup refused to run or could not finish; ``result`` holds what was done so far."""

    def __init__(self, message: str, result: dict[str, Any] | None = None):
        super().__init__(message)
        self.result = result or {}


@dataclass
class CleanupOptions:
    cluster_names: list[str]
    vpc_id: str
    expected_account_id: str
    protect_ids: set[str] = field(default_factory=set)
    phases: list[str] = field(default_factory=lambda: list(PHASES))
    lb_timeout_s: float = 600.0
    eni_timeout_s: float = 600.0
    sg_timeout_s: float = 600.0
    deadline_s: float = 1800.0
    poll_interval_s: float = 5.0
    workers: int = 8
    allow_disable_deletion_protection: bool = False
    include_unknown_owned: bool = False
    check_mode: bool = False
    audit_dir: Path | None = None
    run_label: str = ""
    max_attempts: int = 10
    backoff_base_s: float = 0.2
    backoff_cap_s: float = 5.0
    sg_backoff_base_s: float = 1.0
    sg_backoff_cap_s: float = 15.0

    def validate(self) -> None:
        """Refuse, before the first API call, anything AWS would read differently from what was meant."""
        if not self.cluster_names or not all(self.cluster_names):
            raise CleanupError("cluster_names must name at least one cluster")
        for name in self.cluster_names:
            problem = cluster_name_problem(name)
            if problem:
                raise CleanupError(f"cluster_names entry {name!r} {problem}")
        for entry in sorted(self.protect_ids, key=str):
            problem = protect_entry_problem(entry)
            if problem:
                raise CleanupError(f"protect_ids entry {entry!r} {problem}")
        if not re.fullmatch(r"vpc-[0-9a-f]+", self.vpc_id or ""):
            raise CleanupError(f"vpc_id {self.vpc_id!r} is not a VPC id")
        if not re.fullmatch(r"\d{12}", self.expected_account_id or ""):
            raise CleanupError("expected_account_id must be a 12-digit AWS account id")
        unknown = set(self.phases) - set(PHASES)
        if unknown or not self.phases:
            raise CleanupError(f"phases must be a non-empty subset of {list(PHASES)}, got {self.phases}")
        if self.workers < 1 or self.workers > 32:
            raise CleanupError("workers must be within 1..32")
        for name in ("lb_timeout_s", "eni_timeout_s", "sg_timeout_s", "deadline_s", "poll_interval_s"):
            if getattr(self, name) < 0:
                raise CleanupError(f"{name} must be >= 0")


# A cluster id as it appears in the ``kubernetes.io/cluster/<id>`` tag key: what Kubernetes and the AWS
# cloud provider accept for a cluster name (letters, digits, '-', '_', '.'; starting and ending with a letter
# or digit). '*' and '?' would be wildcards in an EC2 tag-key filter, so they can never be part of one.
CLUSTER_NAME_RE = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,98}[A-Za-z0-9])?")
WILDCARDS = ("*", "?")
# Resource ids the cleanup handles or that Terraform state holds: <prefix>-<8 or 17 hex digits>.
# An entry of a known prefix followed by hex digits only is meant as an id and must have an id's length
# ("sg-123" protects nothing); "vpc-flow-logs" is a name.
RESOURCE_ID_PREFIX_RE = re.compile(
    r"(?:sg|sgr|eni|vpc|subnet|i|rtb|igw|nat|eipalloc|vpce|acl|ami|vol|snap)-[0-9A-Fa-f]*"
)
RESOURCE_ID_RE = re.compile(r"[a-z]+-(?:[0-9a-f]{8}|[0-9a-f]{17})")
ARN_RE = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:(?:\d{12})?:\S+")
# Exact names (load balancers, target groups, security groups, anything else in state): printable, no
# leading/trailing space, at most 255 characters.
EXACT_NAME_RE = re.compile(r"\S(?:[^\x00-\x1f]{0,253}\S)?")


def cluster_name_problem(name: Any) -> str:
    """Why ``name`` cannot be a cluster id (empty when it can)."""
    if not isinstance(name, str):
        return "must be a string"
    if any(w in name for w in WILDCARDS):
        return "contains a wildcard; cluster names are matched exactly, list each cluster by name"
    if not CLUSTER_NAME_RE.fullmatch(name):
        return (
            "is not a cluster name (letters, digits, '-', '_' and '.', starting and ending with a letter or "
            "digit, at most 100 characters)"
        )
    return ""


def protect_entry_problem(entry: Any) -> str:
    """Why ``entry`` cannot be a resource id, ARN or exact name to protect (empty when it can)."""
    if not isinstance(entry, str) or not entry:
        return "must be a non-empty string"
    if any(w in entry for w in WILDCARDS):
        return "contains a wildcard; the protect list holds exact ids, ARNs or names, list each one"
    if entry.startswith("arn:"):
        return "" if ARN_RE.fullmatch(entry) else "starts with 'arn:' but is not an ARN"
    if RESOURCE_ID_PREFIX_RE.fullmatch(entry) and not RESOURCE_ID_RE.fullmatch(entry):
        return f"looks like a {entry.split('-', 1)[0]}- resource id but is not one (<prefix>-<8 or 17 hex digits>)"
    if not EXACT_NAME_RE.fullmatch(entry):
        return "is not an exact name (printable, no leading or trailing space, at most 255 characters)"
    return ""


def options_from_params(params: dict[str, Any], check_mode: bool) -> CleanupOptions:
    """The module's parameters (suboption defaults already filled in) as CleanupOptions.

    ``timeouts`` values are taken as given: an explicit 0 means "do not wait", never "use the default".
    """
    timeouts = params.get("timeouts") or {}
    defaults = CleanupOptions.__dataclass_fields__
    return CleanupOptions(
        cluster_names=list(params["cluster_names"]),
        vpc_id=params["vpc_id"],
        expected_account_id=str(params["expected_account_id"]),
        protect_ids=set(params.get("protect_ids") or []),
        phases=[phase for phase in PHASES if phase in (params.get("phases") or PHASES)],
        lb_timeout_s=_given(timeouts, "lb", defaults["lb_timeout_s"].default),
        eni_timeout_s=_given(timeouts, "eni", defaults["eni_timeout_s"].default),
        sg_timeout_s=_given(timeouts, "sg", defaults["sg_timeout_s"].default),
        deadline_s=params["deadline"],
        poll_interval_s=params["poll_interval"],
        workers=params["workers"],
        allow_disable_deletion_protection=params["allow_disable_deletion_protection"],
        include_unknown_owned=params["include_unknown_owned"],
        check_mode=check_mode,
        audit_dir=Path(params["audit_dir"]) if params.get("audit_dir") else None,
        run_label=params.get("run_label") or "",
    )


def _given(values: dict[str, Any], key: str, default: float) -> float:
    value = values.get(key)
    return float(default if value is None else value)
