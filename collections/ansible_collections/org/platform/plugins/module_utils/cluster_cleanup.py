# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Remove what Kubernetes' cloud controllers left in a VPC, so `terraform destroy` never hits DependencyViolation.

SPEC M9 / INFRA-003, design notes in ../shared/reference/teardown-cleanup.md (section 5).

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
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

try:
    from botocore.exceptions import ClientError
except ImportError:  # pragma: no cover - the module reports missing botocore through AnsibleAWSModule
    ClientError = Exception  # type: ignore[assignment,misc]

PHASES = ("lb", "eni", "sg", "verify")
THROTTLING_CODES = frozenset(
    {"Throttling", "ThrottlingException", "RequestLimitExceeded", "TooManyRequestsException", "RequestThrottled"}
)
NOT_FOUND_CODES = frozenset(
    {
        "LoadBalancerNotFound",
        "AccessPointNotFound",
        "TargetGroupNotFound",
        "InvalidGroup.NotFound",
        "InvalidNetworkInterfaceID.NotFound",
        "InvalidAttachmentID.NotFound",
        "InvalidSecurityGroupRuleId.NotFound",
        "InvalidPermission.NotFound",
    }
)
CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"
LEGACY_CLUSTER_TAG = "KubernetesCluster"
ALB_CONTROLLER_TAG = "elbv2.k8s.aws/cluster"
LEGACY_ALB_CONTROLLER_TAG = "ingress.k8s.aws/cluster"
SERVICE_NAME_TAG = "kubernetes.io/service-name"
CNI_CLUSTER_TAG = "cluster.k8s.amazonaws.com/name"
TAG_BATCH = 20
LIVE_INSTANCE_STATES = frozenset({"pending", "running", "stopping", "stopped", "shutting-down"})


class CleanupError(Exception):
    """The cleanup refused to run or could not finish; ``result`` holds what was done so far."""

    def __init__(self, message: str, result: dict[str, Any] | None = None):
        super().__init__(message)
        self.result = result or {}


class DeadlineExceeded(Exception):
    """The global deadline passed; the run stops where it is (a rerun continues)."""


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


# --------------------------------------------------------------------------------------------- plumbing


def error_code(exc: BaseException) -> str:
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def utc_now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Deadline:
    def __init__(self, seconds: float):
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def check(self) -> None:
        if self.remaining() <= 0:
            raise DeadlineExceeded("global deadline exceeded")

    def bound(self, seconds: float) -> float:
        """The monotonic end of a phase wait of ``seconds``, never past the global deadline."""
        return min(time.monotonic() + seconds, self.end)


class AwsCalls:
    """boto3 calls with counting and full-jitter retries on throttling (botocore's own retries are off)."""

    def __init__(self, client_factory: Callable[[str], Any], options: CleanupOptions, deadline: Deadline):
        self._factory = client_factory
        self._clients: dict[str, Any] = {}
        self._options = options
        self._deadline = deadline
        self._lock = threading.Lock()
        self._random = random.Random()  # noqa: S311 - backoff jitter, not cryptography
        self.calls: Counter[str] = Counter()
        self.retries = 0
        self.errors: Counter[str] = Counter()

    def client(self, service: str) -> Any:
        with self._lock:
            if service not in self._clients:
                self._clients[service] = self._factory(service)
            return self._clients[service]

    def call(self, service: str, operation: str, **kwargs: Any) -> dict[str, Any]:
        method = getattr(self.client(service), operation)
        attempt = 0
        while True:
            self._deadline.check()
            with self._lock:
                self.calls[f"{service}:{operation}"] += 1
            try:
                return method(**kwargs)
            except ClientError as exc:
                code = error_code(exc)
                with self._lock:
                    self.errors[code] += 1
                attempt += 1
                if code not in THROTTLING_CODES or attempt >= self._options.max_attempts:
                    raise
                with self._lock:
                    self.retries += 1
                    ceiling = min(self._options.backoff_cap_s, self._options.backoff_base_s * 2**attempt)
                    delay = self._random.uniform(0, ceiling)
                time.sleep(max(0.0, min(delay, self._deadline.remaining())))

    def paginate(self, service: str, operation: str, key: str, token_in: str, token_out: str, **kwargs: Any) -> list:
        items: list[Any] = []
        token = None
        while True:
            params = dict(kwargs)
            if token:
                params[token_in] = token
            page = self.call(service, operation, **params)
            items.extend(page.get(key, []))
            token = page.get(token_out)
            if not token:
                return items

    def stats(self) -> dict[str, Any]:
        with self._lock:
            return {
                "api_calls": sum(self.calls.values()),
                "api_calls_by_operation": dict(sorted(self.calls.items())),
                "retries": self.retries,
                "throttled": sum(n for code, n in self.errors.items() if code in THROTTLING_CODES),
                "dependency_violations": self.errors.get("DependencyViolation", 0),
                "errors_by_code": dict(sorted(self.errors.items())),
            }


class AuditLog:
    """Append-only JSON lines: time, action, resource, reason (+ pre-images such as the full SG rule)."""

    def __init__(self, path: Path | None, base: dict[str, Any]):
        self.path = path
        self._base = base
        self._lock = threading.Lock()
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    def write(self, action: str, resource: str, reason: str, **extra: Any) -> None:
        if self.path is None:
            return
        record = {"time": utc_now(), "action": action, "resource": resource, "reason": reason, **self._base, **extra}
        line = json.dumps(record, sort_keys=True, default=str)
        with self._lock, self.path.open("a", encoding="utf-8") as handle:
            handle.write(line + "\n")


# ------------------------------------------------------------------------------------- classification


def tag_dict(tags: Iterable[dict[str, str]] | None) -> dict[str, str]:
    return {t["Key"]: t.get("Value", "") for t in tags or []}


@dataclass(frozen=True)
class Ownership:
    """How a resource's tags relate to our clusters: ours | ours_unknown | other_cluster | shared | none."""

    state: str
    reason: str


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
        return Ownership("none", "no cluster tag of ours")
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

    def as_dict(self) -> dict[str, Any]:
        out = {"kind": self.kind, "id": self.id, "action": self.action, "reason": self.reason}
        if self.name:
            out["name"] = self.name
        if self.details:
            out["details"] = self.details
        return out


@dataclass
class Inventory:
    elbv2: list[dict[str, Any]] = field(default_factory=list)  # LB descriptions + "Tags" + "Attributes"
    classic: list[dict[str, Any]] = field(default_factory=list)
    target_groups: list[dict[str, Any]] = field(default_factory=list)
    security_groups: list[dict[str, Any]] = field(default_factory=list)
    foreign_security_groups: list[dict[str, Any]] = field(default_factory=list)  # cluster-tagged, other VPCs
    enis: list[dict[str, Any]] = field(default_factory=list)
    instances: dict[str, str] = field(default_factory=dict)  # id -> state


@dataclass
class Plan:
    load_balancers: list[PlanEntry] = field(default_factory=list)
    target_groups: list[PlanEntry] = field(default_factory=list)
    network_interfaces: list[PlanEntry] = field(default_factory=list)
    security_groups: list[PlanEntry] = field(default_factory=list)
    rules: list[PlanEntry] = field(default_factory=list)
    lb_eni_descriptions: dict[str, str] = field(default_factory=dict)  # ENI description -> LB id (ours)

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


def lb_eni_description(lb: dict[str, Any]) -> str:
    """The description AWS gives a load balancer's ENIs (``ELB <name>``, ``ELB app|net/<name>/<id>``)."""
    if "LoadBalancerArn" not in lb:
        return f"ELB {lb['LoadBalancerName']}"
    suffix = lb["LoadBalancerArn"].split(":loadbalancer/", 1)[1]
    prefix = {"application": "app/", "network": "net/", "gateway": "gwy/"}.get(lb.get("Type", "application"), "app/")
    return f"ELB {prefix}{suffix.split('/', 1)[1]}"


def lb_id(lb: dict[str, Any]) -> str:
    return lb.get("LoadBalancerArn") or lb["LoadBalancerName"]


# ------------------------------------------------------------------------------------------- the engine


class ClusterCleanup:
    def __init__(self, options: CleanupOptions, client_factory: Callable[[str], Any]):
        options.validate()
        self.o = options
        self.deadline = Deadline(options.deadline_s)
        self.aws = AwsCalls(client_factory, options, self.deadline)
        self.random = random.Random()  # noqa: S311 - backoff jitter
        self.account_id = ""
        self.audit = AuditLog(None, {})
        self.deleted: dict[str, list[str]] = {
            "load_balancers": [],
            "target_groups": [],
            "network_interfaces": [],
            "security_groups": [],
        }
        self.revoked_rules: list[str] = []
        self.released_enis: list[str] = []
        self.blockers: list[dict[str, Any]] = []
        self.phase_seconds: dict[str, float] = {}
        self._lock = threading.Lock()
        self.plan = Plan()
        self.protected_sgs: set[str] = set()
        self.live_lb_descriptions: set[str] = set()

    # --------------------------------------------------------------------------------------- entry point

    def run(self) -> dict[str, Any]:
        started = time.monotonic()
        try:
            self._preflight()
        except DeadlineExceeded:
            # The deadline can pass during the account and VPC checks already (a loaded host, a short
            # deadline): nothing was changed; report it like any other stop, never as a traceback.
            return self._result(False, "discover", {}, time.monotonic() - started)

        completed = True
        stopped_in = ""
        verify: dict[str, Any] = {}
        phase = "discover"
        try:
            inventory = self._timed("discover", self.discover)
            self.plan = self.build_plan(inventory)
            for entry in self.plan.entries():
                self.audit.write(f"plan:{entry.action}", entry.id, entry.reason, kind=entry.kind, details=entry.details)
            if not self.o.check_mode:
                for phase in self.o.phases:
                    if phase == "verify":
                        verify = self._timed("verify", self.verify)
                    else:
                        self._timed(phase, getattr(self, f"phase_{phase}"))
        except DeadlineExceeded:
            completed = False
            stopped_in = phase
            self.audit.write("deadline", self.o.vpc_id, f"global deadline of {self.o.deadline_s}s exceeded in {phase}")
        result = self._result(completed, stopped_in, verify, time.monotonic() - started)
        self.audit.write("finish", self.o.vpc_id, "cleanup run finished", completed=completed, stats=result["stats"])
        return result

    def _preflight(self) -> None:
        """The credentials' account must be the expected one and the VPC must exist; opens the audit log."""
        identity = self.aws.call("sts", "get_caller_identity")
        self.account_id = identity["Account"]
        if self.account_id != self.o.expected_account_id:
            raise CleanupError(
                f"refusing to run: credentials belong to account {self.account_id}, "
                f"expected {self.o.expected_account_id}"
            )
        vpcs = self.aws.call("ec2", "describe_vpcs", Filters=[{"Name": "vpc-id", "Values": [self.o.vpc_id]}])
        if not vpcs.get("Vpcs"):
            raise CleanupError(f"VPC {self.o.vpc_id} does not exist in this region")
        self.audit = AuditLog(self._audit_path(), {"vpc_id": self.o.vpc_id, "check_mode": self.o.check_mode})
        self.audit.write("start", self.o.vpc_id, "cleanup run", clusters=self.o.cluster_names, phases=self.o.phases)

    def _audit_path(self) -> Path | None:
        if self.o.audit_dir is None:
            return None
        label = re.sub(r"[^A-Za-z0-9_.-]+", "-", self.o.run_label or "-".join(self.o.cluster_names))
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
        return Path(self.o.audit_dir) / f"{stamp}_{label}_cleanup.jsonl"

    def _timed(self, name: str, func: Callable[[], Any]) -> Any:
        start = time.monotonic()
        try:
            return func()
        finally:
            self.phase_seconds[name] = round(self.phase_seconds.get(name, 0.0) + time.monotonic() - start, 3)

    def _result(self, completed: bool, stopped_in: str, verify: dict[str, Any], seconds: float) -> dict[str, Any]:
        changed = bool(any(self.deleted.values()) or self.revoked_rules)
        plan = self.plan.as_dict(self.o.phases)
        if self.o.check_mode:
            changed = any(plan["to_delete"].values())
        deleted_total = sum(len(v) for v in self.deleted.values())
        stats = self.aws.stats() | {
            "seconds": round(seconds, 3),
            "phase_seconds": self.phase_seconds,
            "deleted_resources": deleted_total,
            "revoked_rules": len(self.revoked_rules),
        }
        return {
            "changed": changed,
            "check_mode": self.o.check_mode,
            "completed": completed,
            "stopped_in_phase": stopped_in,
            "account_id": self.account_id,
            "vpc_id": self.o.vpc_id,
            "cluster_names": self.o.cluster_names,
            "phases": self.o.phases,
            "plan": plan,
            "deleted": self.deleted,
            "revoked_rules": self.revoked_rules,
            "released_network_interfaces": self.released_enis,
            "blockers": self.blockers,
            "verify": verify,
            "stats": stats,
            "audit_file": str(self.audit.path) if self.audit.path else "",
        }

    # ----------------------------------------------------------------------------------------- discovery

    def discover(self) -> Inventory:
        inv = Inventory()
        vpc_filter = [{"Name": "vpc-id", "Values": [self.o.vpc_id]}]
        inv.elbv2 = self.aws.paginate(
            "elbv2", "describe_load_balancers", "LoadBalancers", "Marker", "NextMarker", PageSize=400
        )
        self._attach_tags_elbv2(inv.elbv2)
        inv.classic = self.aws.paginate(
            "elb", "describe_load_balancers", "LoadBalancerDescriptions", "Marker", "NextMarker", PageSize=400
        )
        for batch in chunks([lb["LoadBalancerName"] for lb in inv.classic], TAG_BATCH):
            described = self.aws.call("elb", "describe_tags", LoadBalancerNames=batch)["TagDescriptions"]
            tags = {d["LoadBalancerName"]: tag_dict(d.get("Tags")) for d in described}
            for lb in inv.classic:
                if lb["LoadBalancerName"] in tags:
                    lb["Tags"] = tags[lb["LoadBalancerName"]]
        tgs = self.aws.paginate("elbv2", "describe_target_groups", "TargetGroups", "Marker", "NextMarker", PageSize=400)
        inv.target_groups = [tg for tg in tgs if tg.get("VpcId") == self.o.vpc_id]
        self._attach_tags_elbv2(inv.target_groups, arn_key="TargetGroupArn")
        inv.security_groups = self.aws.paginate(
            "ec2", "describe_security_groups", "SecurityGroups", "NextToken", "NextToken", Filters=vpc_filter
        )
        cluster_keys = [f"{CLUSTER_TAG_PREFIX}{c}" for c in self.o.cluster_names]
        foreign = self.aws.paginate(
            "ec2",
            "describe_security_groups",
            "SecurityGroups",
            "NextToken",
            "NextToken",
            Filters=[{"Name": "tag-key", "Values": [*cluster_keys, ALB_CONTROLLER_TAG]}],
        )
        inv.foreign_security_groups = [g for g in foreign if g.get("VpcId") != self.o.vpc_id]
        inv.enis = self.describe_enis()
        reservations = self.aws.paginate(
            "ec2", "describe_instances", "Reservations", "NextToken", "NextToken", Filters=vpc_filter
        )
        inv.instances = {i["InstanceId"]: i["State"]["Name"] for r in reservations for i in r.get("Instances", [])}
        return inv

    def describe_enis(self, extra_filters: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
        filters = [{"Name": "vpc-id", "Values": [self.o.vpc_id]}, *(extra_filters or [])]
        return self.aws.paginate(
            "ec2",
            "describe_network_interfaces",
            "NetworkInterfaces",
            "NextToken",
            "NextToken",
            Filters=filters,
            MaxResults=1000,
        )

    def _attach_tags_elbv2(self, items: list[dict[str, Any]], arn_key: str = "LoadBalancerArn") -> None:
        by_arn = {item[arn_key]: item for item in items}
        for batch in chunks(list(by_arn), TAG_BATCH):
            for desc in self.aws.call("elbv2", "describe_tags", ResourceArns=batch)["TagDescriptions"]:
                if desc["ResourceArn"] in by_arn:
                    by_arn[desc["ResourceArn"]]["Tags"] = tag_dict(desc.get("Tags"))

    # ---------------------------------------------------------------------------------------------- plan

    def _protected(self, *ids: str) -> bool:
        return any(i and i in self.o.protect_ids for i in ids)

    def _select(self, kind: str, rid: str, names: tuple[str, ...], tags: dict[str, str], **kw: str) -> PlanEntry:
        """The safety rails common to every kind; returns a delete entry or a skip entry with its reason."""
        if self._protected(rid, *names):
            return PlanEntry(kind, rid, "skip", "in the protect list (Terraform state)", name=names[0] if names else "")
        owner = classify_tags(tags, self.o.cluster_names, kind=kind, **kw)
        name = names[0] if names else ""
        if owner.state == "ours":
            return PlanEntry(kind, rid, "delete", owner.reason, name=name)
        if owner.state == "ours_unknown":
            if self.o.include_unknown_owned:
                return PlanEntry(kind, rid, "delete", owner.reason + "; include_unknown_owned=true", name=name)
            return PlanEntry(kind, rid, "skip", owner.reason + "; set include_unknown_owned to delete", name=name)
        return PlanEntry(kind, rid, "skip", owner.reason, name=name)

    def build_plan(self, inv: Inventory) -> Plan:
        plan = Plan()
        self.plan = plan  # classify_eni reads the load balancer part while the plan is being built
        self.live_lb_descriptions = {lb_eni_description(lb) for lb in [*inv.elbv2, *inv.classic]}
        vpc = self.o.vpc_id
        # Load balancers.
        for lb in [*inv.elbv2, *inv.classic]:
            rid, name, tags = lb_id(lb), lb["LoadBalancerName"], lb.get("Tags", {})
            lb_vpc = lb.get("VpcId") or lb.get("VPCId")
            if lb_vpc != vpc:
                if classify_tags(tags, self.o.cluster_names, kind="load_balancer").state in ("ours", "ours_unknown"):
                    plan.load_balancers.append(
                        PlanEntry("load_balancer", rid, "skip", f"outside VPC {vpc} ({lb_vpc})", name)
                    )
                continue
            entry = self._select("load_balancer", rid, (name,), tags)
            entry.details = {"type": lb.get("Type", "classic"), "eni_description": lb_eni_description(lb)}
            if entry.action == "delete" and "LoadBalancerArn" in lb:
                attrs = self.aws.call("elbv2", "describe_load_balancer_attributes", LoadBalancerArn=rid)["Attributes"]
                protected = any(a["Key"] == "deletion_protection.enabled" and a["Value"] == "true" for a in attrs)
                if protected and not self.o.allow_disable_deletion_protection:
                    entry.action = "blocker"
                    entry.reason += "; deletion protection is enabled (set allow_disable_deletion_protection)"
                elif protected:
                    entry.details["disable_deletion_protection"] = True
                    entry.reason += "; deletion protection will be disabled (allow_disable_deletion_protection)"
            if entry.action in ("delete", "blocker") or entry.action == "skip":
                plan.load_balancers.append(entry)
            if entry.action == "delete":
                plan.lb_eni_descriptions[entry.details["eni_description"]] = rid
        # Target groups (one still used by a load balancer that stays cannot go).
        deleting = set(plan.ids(plan.load_balancers, "delete"))
        for tg in inv.target_groups:
            entry = self._select("target_group", tg["TargetGroupArn"], (tg["TargetGroupName"],), tg.get("Tags", {}))
            entry.details = {"load_balancers": tg.get("LoadBalancerArns", [])}
            staying = sorted(set(entry.details["load_balancers"]) - deleting)
            if entry.action == "delete" and staying:
                entry.action = "blocker"
                entry.reason += f"; in use by load balancer(s) that stay: {', '.join(staying)}"
            plan.target_groups.append(entry)
        # Security groups.
        self.protected_sgs = {g["GroupId"] for g in inv.security_groups if g["GroupId"] in self.o.protect_ids}
        for group in inv.foreign_security_groups:
            plan.security_groups.append(
                PlanEntry(
                    "security_group",
                    group["GroupId"],
                    "skip",
                    f"outside VPC {vpc} ({group.get('VpcId')})",
                    group["GroupName"],
                )
            )
        for group in inv.security_groups:
            gid, name = group["GroupId"], group["GroupName"]
            if name == "default":
                plan.security_groups.append(PlanEntry("security_group", gid, "skip", "default security group", name))
                continue
            entry = self._select(
                "security_group",
                gid,
                (name,),
                tag_dict(group.get("Tags")),
                name=name,
                description=group.get("Description", ""),
            )
            if entry.action == "skip" and entry.reason == "no cluster tag of ours":
                continue  # unrelated groups (Terraform's, other teams') are not listed unless relevant
            plan.security_groups.append(entry)
        candidates = set(plan.ids(plan.security_groups, "delete"))
        groups_by_id = {g["GroupId"]: g for g in inv.security_groups}
        # Rules that reference a candidate SG (inside any other group of the VPC).
        for group in inv.security_groups:
            holder = group["GroupId"]
            for direction, perms in (
                ("ingress", group.get("IpPermissions", [])),
                ("egress", group.get("IpPermissionsEgress", [])),
            ):
                for perm in perms:
                    for pair in perm.get("UserIdGroupPairs", []):
                        target = pair.get("GroupId")
                        if target not in candidates or target == holder:
                            continue
                        owner = classify_tags(tag_dict(group.get("Tags")), self.o.cluster_names, kind="security_group")
                        rid = f"{holder}:{direction}:{target}:{perm.get('IpProtocol')}:{perm.get('FromPort')}-{perm.get('ToPort')}"
                        details = {
                            "group_id": holder,
                            "direction": direction,
                            "referenced_group_id": target,
                            "permission": perm,
                        }
                        if owner.state in ("other_cluster", "shared") and holder not in self.protected_sgs:
                            plan.rules.append(
                                PlanEntry(
                                    "sg_rule",
                                    rid,
                                    "blocker",
                                    f"rule in {holder} which {owner.reason}; not modified",
                                    details=details,
                                )
                            )
                        else:
                            why = (
                                "Terraform stack SG"
                                if holder in self.protected_sgs
                                else f"SG {groups_by_id[holder]['GroupName']}"
                            )
                            plan.rules.append(
                                PlanEntry(
                                    "sg_rule",
                                    rid,
                                    "revoke",
                                    f"rule in {why} references candidate {target}",
                                    details=details,
                                )
                            )
        # ENIs.
        for eni in inv.enis:
            entry = self.classify_eni(eni, candidates, inv.instances, initial=True)
            if entry is not None:
                plan.network_interfaces.append(entry)
        return plan

    def classify_eni(
        self,
        eni: dict[str, Any],
        candidate_sgs: set[str],
        instances: dict[str, str],
        *,
        initial: bool,
    ) -> PlanEntry | None:
        """What to do with one ENI of the VPC; None when it is none of our business."""
        eid = eni["NetworkInterfaceId"]
        description = eni.get("Description", "")
        groups = {g["GroupId"] for g in eni.get("Groups", [])}
        held = sorted(groups & (candidate_sgs | self.protected_sgs))
        attachment = eni.get("Attachment") or {}
        owner_id = attachment.get("InstanceOwnerId", "")
        details: dict[str, Any] = {"description": description, "status": eni.get("Status"), "groups": sorted(groups)}
        ela = attachment.get("AttachmentId", "").startswith("ela-attach-") or owner_id == "amazon-aws"
        is_lb_eni = description.startswith("ELB ") and (
            eni.get("RequesterManaged") or owner_id in ("amazon-elb", "amazon-aws")
        )
        if is_lb_eni:
            ours = self.plan.lb_eni_descriptions.get(description)
            live = description in self.live_lb_descriptions
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
        if not held:
            return None
        why = f"holds {'candidate' if set(held) & candidate_sgs else 'Terraform stack'} SG(s) {', '.join(held)}"
        if self._protected(eid):
            return PlanEntry("network_interface", eid, "skip", "in the protect list (Terraform state)", details=details)
        owner = classify_tags(tag_dict(eni.get("TagSet")), self.o.cluster_names, kind="network_interface")
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
        if owner_id and owner_id != self.account_id:
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

    # -------------------------------------------------------------------------------------------- phases

    def _pool_map(self, func: Callable[[Any], Any], items: list[Any]) -> list[Any]:
        if not items:
            return []
        with ThreadPoolExecutor(max_workers=min(self.o.workers, len(items))) as pool:
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
                if error_code(exc) not in NOT_FOUND_CODES:
                    self._blocker("load_balancer", entry.id, f"delete failed: {exc}")
                    return
            self._record("load_balancers", entry.id, entry.reason)
            with self._lock:
                self.live_lb_descriptions.discard(entry.details["eni_description"])

        self._pool_map(delete_lb, lbs)
        # Bounded wait until none of ours is listed any more (one batched describe per service per poll).
        wanted = {e.id for e in lbs} - {b["id"] for b in self.blockers}
        end = self.deadline.bound(self.o.lb_timeout_s)
        while wanted:
            present = {
                lb_id(lb)
                for lb in self.aws.paginate(
                    "elbv2", "describe_load_balancers", "LoadBalancers", "Marker", "NextMarker", PageSize=400
                )
            }
            present |= {
                lb["LoadBalancerName"]
                for lb in self.aws.paginate(
                    "elb", "describe_load_balancers", "LoadBalancerDescriptions", "Marker", "NextMarker", PageSize=400
                )
            }
            wanted &= present
            if not wanted:
                break
            if time.monotonic() >= end:
                self.deadline.check()  # the global deadline, not the phase bound, ended the wait
                for rid in sorted(wanted):
                    self._blocker("load_balancer", rid, f"still present after {self.o.lb_timeout_s}s")
                break
            self._sleep(self.o.poll_interval_s, end)
        self._delete_target_groups(end)

    def _delete_target_groups(self, lb_end: float) -> None:
        tgs = [e for e in self.plan.target_groups if e.action == "delete"]
        end = max(lb_end, self.deadline.bound(self.o.lb_timeout_s))

        def delete_tg(entry: PlanEntry) -> None:
            attempt = 0
            while True:
                try:
                    self.aws.call("elbv2", "delete_target_group", TargetGroupArn=entry.id)
                except ClientError as exc:
                    code = error_code(exc)
                    if code == "ResourceInUse" and time.monotonic() < end:
                        attempt += 1
                        self._sleep(self._backoff(attempt, self.o.backoff_base_s * 5, self.o.poll_interval_s), end)
                        continue
                    if code == "ResourceInUse":
                        self.deadline.check()
                    if code not in NOT_FOUND_CODES:
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
        blocking = candidates | self.protected_sgs
        end = self.deadline.bound(self.o.eni_timeout_s)
        instances = self._instances()
        reported: set[str] = set()
        while True:
            waiting: list[PlanEntry] = []
            work: list[tuple[PlanEntry, dict[str, Any]]] = []
            for eni in self.describe_enis():
                entry = self.classify_eni(eni, candidates, instances, initial=False)
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
                        "network_interface", entry.id, f"{entry.reason}; still present after {self.o.eni_timeout_s}s"
                    )
                return
            self._sleep(self.o.poll_interval_s, end)

    def _remove_eni(self, item: tuple[PlanEntry, dict[str, Any]]) -> None:
        entry, eni = item
        eid = eni["NetworkInterfaceId"]
        attachment = eni.get("Attachment") or {}
        if attachment.get("AttachmentId") and eni.get("Status") != "available":
            self.audit.write("detach:network_interface", eid, entry.reason, attachment=attachment)
            try:
                self.aws.call("ec2", "detach_network_interface", AttachmentId=attachment["AttachmentId"], Force=True)
            except ClientError as exc:
                if error_code(exc) == "InvalidAttachmentID.NotFound" and entry.details.get("load_balancer"):
                    self._released(eid)  # AWS released the lingering ENI itself meanwhile
                    return
                if error_code(exc) not in NOT_FOUND_CODES:
                    self._blocker("network_interface", eid, f"detach failed: {exc}")
                    return
        try:
            self.aws.call("ec2", "delete_network_interface", NetworkInterfaceId=eid)
        except ClientError as exc:
            code = error_code(exc)
            if code in ("InvalidNetworkInterface.InUse", "InvalidParameterValue"):
                return  # still detaching; the next poll retries it
            if code == "InvalidNetworkInterfaceID.NotFound":
                self._released(eid)
                return
            if code not in NOT_FOUND_CODES:
                self._blocker("network_interface", eid, f"delete failed: {exc}")
                return
        self._record("network_interfaces", eid, entry.reason, description=eni.get("Description", ""))

    def _released(self, eid: str) -> None:
        with self._lock:
            if eid not in self.released_enis:
                self.released_enis.append(eid)
        self.audit.write("released:network_interface", eid, "already gone (released by AWS or a concurrent run)")

    def _instances(self) -> dict[str, str]:
        reservations = self.aws.paginate(
            "ec2",
            "describe_instances",
            "Reservations",
            "NextToken",
            "NextToken",
            Filters=[{"Name": "vpc-id", "Values": [self.o.vpc_id]}],
        )
        return {i["InstanceId"]: i["State"]["Name"] for r in reservations for i in r.get("Instances", [])}

    def phase_sg(self) -> None:
        candidates = self._candidate_sgs()
        if not candidates:
            return
        # Candidates still held by an ENI or instance would only produce DependencyViolation: report them.
        held: dict[str, list[str]] = {}
        for eni in self.describe_enis(
            [{"Name": "group-id", "Values": sorted(candidates)}] if len(candidates) <= 200 else None
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
        end = self.deadline.bound(self.o.sg_timeout_s)
        names = {e.id: e for e in self.plan.security_groups}

        def delete_sg(gid: str) -> None:
            attempt = 0
            while True:
                try:
                    self.aws.call("ec2", "delete_security_group", GroupId=gid)
                except ClientError as exc:
                    code = error_code(exc)
                    if code == "DependencyViolation" and time.monotonic() < end:
                        attempt += 1
                        self._sleep(self._backoff(attempt, self.o.sg_backoff_base_s, self.o.sg_backoff_cap_s), end)
                        continue
                    if code == "DependencyViolation":
                        self.deadline.check()
                    if code not in NOT_FOUND_CODES:
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
                "SecurityGroupRules",
                "NextToken",
                "NextToken",
                Filters=[{"Name": "group-id", "Values": batch}],
                MaxResults=1000,
            )
        forbidden = {e.details["group_id"] for e in self.plan.rules if e.action == "blocker"} - self.protected_sgs
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
                if error_code(exc) not in NOT_FOUND_CODES:
                    self._blocker("sg_rule", holder, f"revoke failed: {exc}", rules=ids)
                    return
            with self._lock:
                self.revoked_rules.extend(ids)

        self._pool_map(revoke_group, list(grouped.items()))

    def verify(self) -> dict[str, Any]:
        """Gate for `terraform destroy` of the SG and network stacks; waits (bounded) for lingering LB ENIs."""
        end = self.deadline.bound(self.o.eni_timeout_s)
        while True:
            blockers, lingering = self._verify_once()
            if lingering and time.monotonic() >= end:
                self.deadline.check()
            if not lingering or time.monotonic() >= end:
                ok = not blockers and not lingering
                report = {"ok": ok, "blockers": blockers + lingering}
                self.audit.write(
                    "verify",
                    self.o.vpc_id,
                    "ok" if ok else f"{len(report['blockers'])} blocker(s)",
                    blockers=report["blockers"],
                )
                return report
            self._sleep(self.o.poll_interval_s, end)

    def _verify_once(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        blockers: list[dict[str, Any]] = []
        lingering: list[dict[str, Any]] = []
        vpc_filter = [{"Name": "vpc-id", "Values": [self.o.vpc_id]}]
        live: set[str] = set()
        for lb in self.aws.paginate(
            "elbv2", "describe_load_balancers", "LoadBalancers", "Marker", "NextMarker", PageSize=400
        ):
            live.add(lb_eni_description(lb))
            if lb.get("VpcId") == self.o.vpc_id and not self._protected(lb_id(lb), lb["LoadBalancerName"]):
                blockers.append(
                    {
                        "kind": "load_balancer",
                        "id": lb_id(lb),
                        "blocks": "network",
                        "reason": "load balancer in the VPC",
                    }
                )
        for lb in self.aws.paginate(
            "elb", "describe_load_balancers", "LoadBalancerDescriptions", "Marker", "NextMarker", PageSize=400
        ):
            live.add(lb_eni_description(lb))
            if lb.get("VPCId") == self.o.vpc_id and not self._protected(lb["LoadBalancerName"]):
                blockers.append(
                    {
                        "kind": "load_balancer",
                        "id": lb["LoadBalancerName"],
                        "blocks": "network",
                        "reason": "load balancer in the VPC",
                    }
                )
        for tg in self.aws.paginate(
            "elbv2", "describe_target_groups", "TargetGroups", "Marker", "NextMarker", PageSize=400
        ):
            if tg.get("VpcId") == self.o.vpc_id and not self._protected(tg["TargetGroupArn"], tg["TargetGroupName"]):
                blockers.append(
                    {
                        "kind": "target_group",
                        "id": tg["TargetGroupArn"],
                        "blocks": "network",
                        "reason": "target group in the VPC",
                    }
                )
        groups = self.aws.paginate(
            "ec2", "describe_security_groups", "SecurityGroups", "NextToken", "NextToken", Filters=vpc_filter
        )
        stack_sgs = {g["GroupId"] for g in groups if g["GroupId"] in self.o.protect_ids}
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
        for eni in self.describe_enis():
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

    def _backoff(self, attempt: int, base: float, cap: float) -> float:
        return self.random.uniform(base / 2, min(cap, base * 2 ** min(attempt, 10)))

    def _sleep(self, seconds: float, end: float) -> None:
        self.deadline.check()
        time.sleep(max(0.0, min(seconds, end - time.monotonic(), self.deadline.remaining())))
        self.deadline.check()
