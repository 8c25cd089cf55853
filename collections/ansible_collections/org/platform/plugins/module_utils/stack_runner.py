# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply, plan or destroy an environment's Terraform stacks in dependency order.

* apply: a stack starts as soon as every stack it depends on has been applied (bounded parallelism);
  its variables are the inventory's values plus its upstreams' outputs, written to a 0600
  ``*.tfvars.json`` so complex types pass losslessly; ``plan -detailed-exitcode -out`` decides, and
  only a plan with changes is applied (the saved plan, so what was planned is what runs).
* destroy: the reverse; a stack goes once every dependent is destroyed.
* plan (Ansible check mode): plans only, reports per stack the resource actions and addresses; check
  mode with ``absent`` plans ``-destroy`` for the stacks a real destroy would take.

Before any Terraform command runs, every stack is checked: it must declare ``backend "s3" {}`` (its
state then lives in the configured bucket under ``{env}/{stack}/terraform.tfstate``, never in the
stack's directory), every value given must be for a variable it declares, and every wired input must
name an output its upstream declares. A stack that is not run because another failed, or whose inputs
cannot be resolved, fails the run (``skipped`` never hides an error).

A failed stack stops its dependents; independent stacks carry on; a rerun resumes (applied stacks plan
as no-ops). ``init`` is skipped while the backend config and the stack's files are unchanged. State
locks held by others are reported with their owner and never force-unlocked. Sensitive outputs are
masked in results and never written to logs.
"""

from __future__ import annotations

import contextlib
import getpass
import hashlib
import json
import os
import re
import socket
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._terraform.config import (
    TerraformStaticError,
    load_module,
)
from ansible_collections.org.platform.plugins.module_utils.stack_graph import (
    Stack,
    StackGraph,
    StackGraphError,
    stack_variables,
    type_errors,
)
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import (
    MASK,
    StateLockedError,
    TerraformEngine,
    TerraformError,
    diagnostics,
    parse_events,
    parse_lock_info,
    plan_resource_changes,
    secret_strings,
    summarize_plan,
)

SIMULATED_MARKER = "# SIMULATED"
STATES = ("present", "absent", "planned", "read")
ID_ATTRIBUTES = ("id", "arn")
# Files the runner leaves nowhere once a stack is done: plans carry variable values and a state snapshot.
TRANSIENT_FILES = ("plan.tfplan", "inputs.tfvars.json")
LOCK_ID_RE = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
PROJECT_MARKER = Path("collections/ansible_collections/org/platform/galaxy.yml")
UNLOCK_PLAYBOOK = "playbooks/stacks_unlock.yml"


class StackRunnerError(Exception):
    """The run cannot start (bad input); nothing was changed."""


class UnknownInputError(TerraformError):
    """Planning only: a variable's upstream output is known only after that upstream is applied."""


class InputMissingError(TerraformError):
    """A variable's upstream output is missing although the upstream is applied (or has no state)."""


@dataclass(frozen=True)
class Declarations:
    """What a stack's own Terraform files declare (parsed offline, before anything runs)."""

    variables: frozenset[str]
    outputs: frozenset[str]
    backends: tuple[str, ...]  # backend types, "cloud" for a cloud block


def stack_declarations(path: Path) -> Declarations:
    """The variables, outputs and backend types declared by the ``*.tf`` / ``*.tf.json`` files in ``path``."""
    variables: set[str] = set()
    outputs: set[str] = set()
    terraform_blocks: list[Mapping[str, Any]] = []
    if any(path.glob("*.tf")):
        module = load_module(path)
        variables |= set(module.variables)
        outputs |= set(module.outputs)
        terraform_blocks += module.terraform
    for json_file in sorted(path.glob("*.tf.json")):
        try:
            document = json.loads(json_file.read_text(encoding="utf-8"))
        except ValueError as exc:
            raise TerraformStaticError(f"{json_file}: not valid JSON: {exc}") from exc
        variables |= set(document.get("variable") or {})
        outputs |= set(document.get("output") or {})
        blocks = document.get("terraform") or []
        terraform_blocks += blocks if isinstance(blocks, list) else [blocks]
    backends: list[str] = []
    for block in terraform_blocks:
        for backend in _as_list(block.get("backend")):
            backends += list(backend) if isinstance(backend, Mapping) else [str(backend)]
        if block.get("cloud") is not None:
            backends.append("cloud")
    return Declarations(frozenset(variables), frozenset(outputs), tuple(backends))


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def project_root(paths: Sequence[str | Path | None]) -> Path | None:
    """The org.platform repository holding one of ``paths`` (the directory with the collection), or None."""
    for given in paths:
        if not given:
            continue
        current = Path(given).resolve()
        for candidate in (current, *current.parents):
            if (candidate / PROJECT_MARKER).is_file():
                return candidate
    return None


def local_identity() -> str:
    """``user@host`` as Terraform writes it into a lock's ``Who``."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = str(os.getuid())
    return f"{user}@{socket.gethostname()}"


@dataclass(frozen=True)
class BackendConfig:
    """The S3 backend every stack uses; the key is ``{env}/{stack}/terraform.tfstate``."""

    bucket: str
    region: str
    dynamodb_table: str | None = "terraform-state-lock"
    kms_key_id: str | None = None
    endpoint_url: str | None = None
    key_prefix: str = ""

    def key(self, environment: str, stack: str) -> str:
        prefix = f"{self.key_prefix.strip('/')}/" if self.key_prefix.strip("/") else ""
        return f"{prefix}{environment}/{stack}/terraform.tfstate"

    def render(self, environment: str, stack: str) -> str:
        """The ``-backend-config`` file for one stack, as HCL."""
        settings: dict[str, Any] = {
            "bucket": self.bucket,
            "key": self.key(environment, stack),
            "region": self.region,
            "encrypt": True,
        }
        if self.kms_key_id:
            settings["kms_key_id"] = self.kms_key_id
        # Only the DynamoDB lock SPEC M2 names. S3-native locking (`use_lockfile = true`, Terraform >= 1.10) was
        # tried beside it: with both configured, `force-unlock` of the lock a killed run left (the way out
        # playbooks/stacks_unlock.yml offers) was refused by the bundled Terraform 1.15 against the sandbox,
        # so the lockfile stays off until that path is proven (tests: test_force_unlock_releases_exactly_that_lock,
        # the lifecycle test's kill -9). Terraform logs the DynamoDB deprecation warning on every init meanwhile.
        if self.dynamodb_table:
            settings["dynamodb_table"] = self.dynamodb_table
        lines = [f"{k} = {json.dumps(v)}" for k, v in settings.items()]
        if self.endpoint_url:
            # A loopback emulator: no real account, no path-style DNS, no metadata service.
            endpoints = {svc: self.endpoint_url for svc in ("s3", "dynamodb", "sts", "iam")}
            lines.append("endpoints = {" + ", ".join(f"{k} = {json.dumps(v)}" for k, v in endpoints.items()) + "}")
            lines += [
                "use_path_style = true",
                "skip_credentials_validation = true",
                "skip_requesting_account_id = true",
                "skip_metadata_api_check = true",
                "skip_region_validation = true",
            ]
        return "\n".join(lines) + "\n"


@dataclass
class StackResult:
    name: str
    action: str = "none"  # apply, destroy, plan, plan-destroy, read
    status: str = "pending"  # ok, changed, planned, failed, skipped
    changed: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    resources: dict[str, list[str]] = field(default_factory=dict)
    resource_changes: list[dict[str, Any]] = field(default_factory=list)  # from the saved plan's JSON
    output_changes: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)  # masked
    duration_s: float = 0.0
    log_files: list[str] = field(default_factory=list)
    simulated: bool = False
    initialised: bool = False
    assumed_inputs: list[str] = field(default_factory=list)
    state_ids: list[str] = field(default_factory=list)  # state: read
    error: str | None = None
    blocked_by: str | None = None  # skipped: the stack (or read) whose failure stopped this one
    lock: dict[str, str] | None = None

    def as_dict(self) -> dict[str, Any]:
        result = asdict(self)
        result["duration_s"] = round(self.duration_s, 3)
        return {k: v for k, v in result.items() if v not in (None, [], {}) or k in ("changed", "counts")}


@dataclass
class RunReport:
    state: str
    order: list[str]
    results: dict[str, StackResult]
    terraform_calls: int
    duration_s: float
    read_failures: dict[str, str] = field(default_factory=dict)  # upstreams whose outputs could not be read
    interrupted: bool = False
    check: bool = False

    @property
    def changed(self) -> bool:
        return any(r.changed for r in self.results.values())

    @property
    def failed(self) -> list[str]:
        return [n for n in self.order if self.results[n].status == "failed"]

    @property
    def skipped(self) -> list[str]:
        return [n for n in self.order if self.results[n].status == "skipped"]

    @property
    def ok(self) -> bool:
        """False when anything failed, was not run because of a failure, or the run was interrupted."""
        return not (self.failed or self.skipped or self.read_failures or self.interrupted)

    def failure_message(self) -> str:
        """Root causes first, then what they stopped."""
        causes = [f"{n} ({self.results[n].error})" for n in self.failed]
        causes += [f"reading {n}'s outputs failed ({error})" for n, error in self.read_failures.items()]
        parts = []
        if causes:
            parts.append(f"stack(s) failed: {', '.join(causes)}")
        if self.interrupted:
            parts.append("interrupted (SIGINT): running Terraform commands were let finish and released their locks")
        stopped = [f"{n} (by {self.results[n].blocked_by})" for n in self.skipped]
        if stopped:
            parts.append(f"not run because of that: {', '.join(stopped)}")
        return "; ".join(parts)

    def summary(self) -> str:
        parts = []
        for name in self.order:
            r = self.results[name]
            counts = ", ".join(f"{a}={c}" for a, c in r.counts.items() if a != "noop") or "no changes"
            label = " SIMULATED" if r.simulated else ""
            parts.append(f"{name}{label}: {r.status} ({r.action}; {counts})")
        return "; ".join(parts)


def is_simulated(stack: Stack) -> bool:
    main = stack.path / "main.tf"
    try:
        with main.open() as handle:
            return handle.readline().startswith(SIMULATED_MARKER)
    except OSError:
        return False


def config_fingerprint(stack_dir: Path, backend_text: str, engine_name: str) -> str:
    """Changes when the backend, the engine or any Terraform file of the stack changes (=> re-init)."""
    digest = hashlib.sha256()
    digest.update(backend_text.encode())
    digest.update(engine_name.encode())
    for path in sorted(stack_dir.rglob("*")):
        if path.is_file() and path.suffix in (".tf", ".hcl") and ".terraform" not in path.parts:
            digest.update(str(path.relative_to(stack_dir)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)


class StackRunner:
    def __init__(
        self,
        graph: StackGraph,
        engine: TerraformEngine,
        environment: str,
        backend: BackendConfig,
        work_dir: str | Path,
        common_values: Mapping[str, Any] | None = None,
        stack_values: Mapping[str, Mapping[str, Any]] | None = None,
        lock_timeout: str = "60s",
        max_parallel: int = 4,
        on_event: Callable[[str, str, str], None] | None = None,
        diff: bool = False,
    ):
        self.graph = graph
        self.engine = engine
        self.environment = environment
        self.backend = backend
        self.work_root = Path(work_dir) / environment
        self.common_values = dict(common_values or {})
        self.stack_values = {k: dict(v or {}) for k, v in (stack_values or {}).items()}
        self.lock_timeout = lock_timeout
        self.max_parallel = max(1, int(max_parallel))
        self.on_event = on_event or (lambda stack, level, message: None)
        self.diff = diff
        self._outputs: dict[str, dict[str, Any]] = {}  # real values, never returned as is
        self._pending_apply: set[str] = set()  # planning: stacks whose plan has changes (outputs may be unknown)
        self._plan_documents: dict[str, dict[str, Any]] = {}  # the saved plan's show -json, while it exists
        self._lock = threading.Lock()
        self.declarations: dict[str, Declarations] = {}
        self._validate()

    # ---------------------------------------------------------------------------------- validation
    def _validate(self) -> None:
        for name in self.stack_values:
            if name not in self.graph:
                raise StackRunnerError(f"variables given for unknown stack {name!r}")
        work_root = self.work_root.resolve()
        for name, stack in self.graph.stacks.items():
            if not stack.path.is_dir():
                raise StackRunnerError(f"stack {name!r}: directory {stack.path} does not exist")
            if not any(stack.path.glob("*.tf")) and not any(stack.path.glob("*.tf.json")):
                raise StackRunnerError(f"stack {name!r}: no Terraform files in {stack.path}")
            if work_root.is_relative_to(stack.path.resolve()):
                raise StackRunnerError(
                    f"work_dir {self.work_root.parent} is inside stack {name!r}'s directory {stack.path}; "
                    "the runner's data dirs and plans must stay out of the stacks' source"
                )
            try:
                self.declarations[name] = declared = stack_declarations(stack.path)
            except TerraformStaticError as exc:
                raise StackRunnerError(f"stack {name!r}: {exc}") from exc
            self._check_backend(stack, declared)
            own = self.stack_values.get(name, {})
            undeclared = sorted(set(own) - declared.variables)
            if undeclared:
                raise StackRunnerError(
                    f"stack {name!r} declares no variable {undeclared[0]!r} (given in its variables"
                    f"{'; also ' + ', '.join(map(repr, undeclared[1:])) if undeclared[1:] else ''}); "
                    f"it declares: {', '.join(sorted(declared.variables)) or 'none'}"
                )
            for var in sorted(stack.inputs):
                if var not in declared.variables:
                    raise StackRunnerError(
                        f"stack {name!r} declares no variable {var!r} (wired from {stack.inputs[var]}); "
                        f"it declares: {', '.join(sorted(declared.variables)) or 'none'}"
                    )
            if stack.contract:
                # Catch undeclared or mistyped inventory values before anything runs; wired inputs
                # are checked when their upstream's outputs are known.
                own = self.stack_values.get(name, {})
                for var, _value in own.items():
                    spec = stack.variables.get(var)
                    if spec is None:
                        raise StackRunnerError(f"stack {name!r} declares no variable {var!r}")
                    if spec.source is not None:
                        raise StackRunnerError(f"stack {name!r} variable {var!r} comes from {spec.source}")
                missing = [
                    v
                    for v, spec in stack.variables.items()
                    if spec.source is None and not spec.has_default and v not in own and v not in self.common_values
                ]
                if missing:
                    raise StackRunnerError(f"stack {name!r}: no value for required variable(s) {', '.join(missing)}")
                errors = [
                    error
                    for var, value in {**self.common_values, **own}.items()
                    if var in stack.variables
                    for error in type_errors(value, stack.variables[var].type, f"stack {name!r} variable {var!r}")
                ]
                if errors:
                    raise StackRunnerError("; ".join(errors))
        # Every wired input names an output its upstream declares: knowable before anything runs.
        for name, stack in self.graph.stacks.items():
            for var, ref in sorted(stack.inputs.items()):
                outputs = self.declarations[ref.stack].outputs
                if ref.output not in outputs:
                    raise StackRunnerError(
                        f"stack {name!r} variable {var!r} comes from {ref}, but stack {ref.stack!r} declares no "
                        f"output {ref.output!r} (its outputs: {', '.join(sorted(outputs)) or 'none'})"
                    )

    def _check_backend(self, stack: Stack, declared: Declarations) -> None:
        """Refuse a stack whose state would not go to the configured S3 backend (e.g. a local tfstate)."""
        where = f"{self.backend.bucket}/{self.backend.key(self.environment, stack.name)}"
        if declared.backends == ("s3",):
            return
        if not declared.backends:
            raise StackRunnerError(
                f"stack {stack.name!r} has no backend block, so Terraform would keep its state in a local "
                f"terraform.tfstate in {stack.path} (no lock, shared by every environment): add "
                f'`terraform {{ backend "s3" {{}} }}` to one of its .tf files (the runner supplies bucket, key '
                f"and lock table; its state will be {where})"
            )
        kinds = ", ".join(f'"{kind}"' for kind in declared.backends)
        raise StackRunnerError(
            f"stack {stack.name!r} declares backend {kinds}; the runner keeps every stack's state in the S3 "
            f'backend ({where}): replace it with `backend "s3" {{}}`'
        )

    # ------------------------------------------------------------------------------------- running
    def run(self, state: str, only: Sequence[str] = (), exclude: Sequence[str] = (), check: bool = False) -> RunReport:
        """Act on the selected stacks. ``check`` (Ansible check mode) only plans: ``present`` plans an
        apply (as ``planned`` does), ``absent`` plans ``-destroy`` for every stack a destroy would take."""
        if state not in STATES:
            raise StackRunnerError(f"state must be one of {', '.join(STATES)}, not {state!r}")
        if check and state == "present":
            state = "planned"
        destroying = state == "absent"
        try:
            order = self.graph.select(only, exclude, destroying=destroying)
        except StackGraphError as exc:
            raise StackRunnerError(str(exc)) from exc
        started = time.monotonic()
        calls_before = self.engine.calls
        self._prepare_work_root()
        results = {name: StackResult(name, simulated=is_simulated(self.graph[name])) for name in order}
        selected = set(order)
        upstreams = set() if state == "read" else {d for n in order for d in self.graph.dependencies(n)}
        # Upstreams outside the selection are read, never changed; when destroying, every upstream is
        # read first, because its dependents are destroyed (and need its outputs) before it is.
        readers = self.graph.order(upstreams if destroying else upstreams - selected)
        read_failures = self._read_outputs(readers, results) if readers else {}

        if destroying:

            def blockers(name: str) -> set[str]:
                return self.graph.dependents(name) & selected

            job = self._plan_destroy_stack if check else self._destroy_stack
        elif state == "read":

            def blockers(name: str) -> set[str]:
                return set()  # reading state needs nothing from anyone

            job = self._read_stack

        else:

            def blockers(name: str) -> set[str]:
                return set(self.graph[name].depends_on)

            job = self._plan_stack if state == "planned" else self._apply_stack

        def upstream_failed(name: str) -> str | None:
            """The root cause that stops ``name``: a failed stack, or an upstream whose read failed."""
            for other in sorted(blockers(name)):
                if other in read_failures:
                    return other
                if other in results and results[other].status == "failed":
                    return other
                if other in results and results[other].status == "skipped":
                    return results[other].blocked_by or other
            return None

        interrupted = self._schedule(order, blockers, job, results, upstream_failed)
        self._sweep_transient()
        return RunReport(
            state,
            order,
            results,
            self.engine.calls - calls_before,
            time.monotonic() - started,
            read_failures=read_failures,
            interrupted=interrupted,
            check=check or state == "planned",
        )

    def _schedule(self, order, blockers, job, results, upstream_failed) -> bool:
        """Run the jobs; returns True when SIGINT stopped the run (running commands are let finish)."""
        done: set[str] = set()
        pending = list(order)
        running: dict[Future, str] = {}
        interrupted = False
        with ThreadPoolExecutor(max_workers=self.max_parallel, thread_name_prefix="stack") as pool:
            while pending or running:
                for name in list(pending):
                    cause = "SIGINT" if interrupted else upstream_failed(name)
                    if cause:
                        pending.remove(name)
                        results[name].status = "skipped"
                        results[name].blocked_by = cause
                        results[name].error = (
                            "not run: the run was interrupted" if interrupted else f"not run: {cause} did not complete"
                        )
                        self.on_event(name, "ERR", results[name].error)
                        done.add(name)
                        continue
                    waiting = (blockers(name) & set(order)) - done
                    if not waiting and len(running) < self.max_parallel:
                        pending.remove(name)
                        running[pool.submit(self._guarded, job, results[name])] = name
                if not running:
                    if pending:  # cannot happen in a validated DAG; never spin
                        raise StackRunnerError(f"no runnable stack among {', '.join(pending)}")
                    continue
                try:
                    finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                except KeyboardInterrupt:
                    # Terraform runs in its own session, so the terminal's Ctrl-C does not reach it: the
                    # running commands finish (and release their locks); nothing new starts.
                    if not interrupted:
                        self.on_event("-", "WARN", "interrupted: letting running Terraform commands finish")
                    interrupted = True
                    continue
                for future in finished:
                    done.add(running.pop(future))
        return interrupted

    def _guarded(self, job, result: StackResult) -> None:
        started = time.monotonic()
        stack = self.graph[result.name]
        try:
            job(stack, result)
        except UnknownInputError as exc:
            # Planning only: the value exists once the upstream's planned changes are applied; this stack's
            # own outputs are then unknown too, so its dependents are deferred in turn.
            result.status, result.error = "deferred", str(exc)
            with self._lock:
                self._pending_apply.add(stack.name)
            self.on_event(stack.name, "WARN", str(exc))
        except StateLockedError as exc:
            result.status, result.error, result.lock = "failed", str(exc), exc.lock
            self.on_event(stack.name, "ERR", str(exc))
        except (TerraformError, StackGraphError, OSError) as exc:
            result.status, result.error = "failed", str(exc)
            self.on_event(stack.name, "ERR", str(exc))
        finally:
            result.duration_s = time.monotonic() - started
            self._cleanup(stack)

    # ----------------------------------------------------------------------------------- per stack
    def _workspace(self, stack: Stack) -> Path:
        return self.work_root / stack.name

    def _cleanup(self, stack: Stack) -> None:
        workspace = self._workspace(stack)
        for leftover in TRANSIENT_FILES:
            with contextlib.suppress(FileNotFoundError):
                (workspace / leftover).unlink()
        with self._lock:
            self._plan_documents.pop(stack.name, None)
        _make_private(workspace)

    # ------------------------------------------------------------------------------------ state locks
    def lock_message(self, stack: str, lock: Mapping[str, str]) -> str:
        """Who holds the lock, whether that is us (likely a run that died), and the one command that frees it."""
        who = lock.get("Who", "unknown")
        lock_id = lock.get("ID", "<ID>")
        holder = (
            f"this user and host ({who}), most likely an earlier run that was killed or crashed"
            if who == local_identity()
            else f"{who} (another user or host: wait for that run to finish)"
        )
        return (
            f"state of {stack} is locked by {holder}; lock ID {lock_id}, operation {lock.get('Operation', '?')}, "
            f"created {lock.get('Created', '?')}; not force-unlocking it on our own. If no run holds it any more, "
            f"release exactly this lock with: ansible-playbook {UNLOCK_PLAYBOOK} -i inventories/{self.environment} "
            f"-e terraform_unlock_stack={stack} -e terraform_unlock_id={lock_id} "
            f"(module option: force_unlock: {{stack: {stack}, lock_id: {lock_id}}})"
        )

    def force_unlock(self, stack_name: str, lock_id: str) -> StackResult:
        """Release exactly lock ``lock_id`` of ``stack_name``; Terraform checks the lock still carries that ID."""
        if stack_name not in self.graph:
            raise StackRunnerError(
                f"force_unlock: unknown stack {stack_name!r} (known: {', '.join(self.graph.order())})"
            )
        if not LOCK_ID_RE.fullmatch(lock_id or ""):
            raise StackRunnerError(f"force_unlock: {lock_id!r} is not a Terraform lock ID (a UUID)")
        stack = self.graph[stack_name]
        result = StackResult(stack_name, action="force-unlock", simulated=is_simulated(stack))
        self._prepare_work_root()
        started = time.monotonic()
        try:
            self._init(stack, result)
            run = self._terraform(stack, result, "force-unlock", ["-force", lock_id], action="force-unlock")
            if run.rc != 0:
                raise TerraformError(
                    f"force-unlock of lock {lock_id} on {stack_name} refused: {_last_error(run.stdout + run.stderr)}",
                    run.log_file,
                )
            result.status, result.changed = "changed", True
            self.on_event(stack_name, "WARN", f"released state lock {lock_id} (force_unlock)")
        except TerraformError as exc:
            result.status, result.error = "failed", str(exc)
            self.on_event(stack_name, "ERR", str(exc))
        finally:
            result.duration_s = time.monotonic() - started
            self._cleanup(stack)
        return result

    def _prepare_work_root(self) -> None:
        """``work_dir/<env>`` exists, owner-only (0700), with no plan left by an earlier run that died."""
        for directory in (self.work_root.parent, self.work_root):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            directory.chmod(0o700)
        self._sweep_transient()

    def _sweep_transient(self) -> None:
        if not self.work_root.is_dir():
            return
        for name in TRANSIENT_FILES:
            for leftover in self.work_root.glob(f"*/{name}"):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()

    def _terraform(self, stack: Stack, result: StackResult, command: str, args: list[str], **kwargs):
        run = self.engine.run(
            stack.name, command, args, cwd=stack.path, data_dir=self._workspace(stack) / ".terraform", **kwargs
        )
        result.log_files.append(run.log_file)
        return run

    def _init(self, stack: Stack, result: StackResult) -> None:
        workspace = self._workspace(stack)
        backend_text = self.backend.render(self.environment, stack.name)
        fingerprint = config_fingerprint(stack.path, backend_text, self.engine.name)
        stamp = workspace / "init.sha256"
        if (workspace / ".terraform").is_dir() and stamp.is_file() and stamp.read_text() == fingerprint:
            return
        backend_file = workspace / "backend.hcl"
        _write_private(backend_file, backend_text)
        run = self._terraform(
            stack,
            result,
            "init",
            ["-input=false", "-no-color", "-reconfigure", f"-backend-config={backend_file}"],
        )
        if run.rc != 0:
            raise TerraformError(f"init failed: {_last_error(run.stdout + run.stderr)}", run.log_file)
        _write_private(stamp, fingerprint)
        result.initialised = True

    def _variables_file(self, stack: Stack, result: StackResult, assume_examples: bool) -> Path:
        upstream = {}
        for ref in stack.inputs.values():
            with self._lock:
                known = self._outputs.get(ref.stack)
            if known is None or ref.output not in known:
                example = self.graph[ref.stack].outputs.get(ref.output)
                with self._lock:
                    upstream_pending = ref.stack in self._pending_apply
                if assume_examples and example is not None and example.example is not None:
                    known = {**(known or {}), ref.output: example.example}
                    result.assumed_inputs.append(str(ref))
                elif assume_examples and upstream_pending:
                    raise UnknownInputError(f"input {ref} is unknown until {ref.stack} is applied")
                else:
                    raise InputMissingError(
                        f"input {ref}: stack {ref.stack} has no output {ref.output!r} in its state "
                        f"(declared, but not set: was {ref.stack} applied from these files?)"
                    )
            upstream[ref.stack] = known
        common = self.common_values
        if not stack.contract:
            # Common values go to the stacks that declare them, never as undeclared variables.
            common = {k: v for k, v in common.items() if k in self.declarations[stack.name].variables}
        values = stack_variables(stack, common, self.stack_values.get(stack.name, {}), upstream)
        path = self._workspace(stack) / "inputs.tfvars.json"
        _write_private(path, json.dumps(values, indent=2, sort_keys=True))
        return path

    def _plan(self, stack: Stack, result: StackResult, destroy: bool, assume_examples: bool) -> tuple[bool, Path]:
        self._init(stack, result)
        var_file = self._variables_file(stack, result, assume_examples)
        plan_file = self._workspace(stack) / "plan.tfplan"
        args = [
            "-input=false",
            "-json",
            "-detailed-exitcode",
            f"-lock-timeout={self.lock_timeout}",
            f"-out={plan_file}",
            f"-var-file={var_file}",
        ]
        if destroy:
            args.append("-destroy")
        run = self._terraform(stack, result, "plan", args, action="plan-destroy" if destroy else "plan")
        events = parse_events(run.stdout)
        if run.rc not in (0, 2):
            self._raise_failure(stack, run, events)
        summary = summarize_plan(events)
        result.counts = summary.counts
        result.resources = {a: addrs for a, addrs in summary.changes.items() if a != "noop"}
        result.output_changes = {k: v for k, v in summary.output_changes.items() if v != "noop"}
        if run.rc == 2 and self.diff:
            result.resource_changes = plan_resource_changes(self._show_plan(stack, result, plan_file))
        return run.rc == 2, plan_file

    def _show_plan(self, stack: Stack, result: StackResult, plan_file: Path) -> dict[str, Any]:
        """The saved plan as JSON (``show -json``), read once per plan; never logged (it carries values)."""
        with self._lock:
            cached = self._plan_documents.get(stack.name)
        if cached is not None:
            return cached
        run = self._terraform(stack, result, "show", ["-json", str(plan_file)], action="show", log_stdout=False)
        if run.rc != 0:
            raise TerraformError(f"show failed: {_last_error(run.stdout + run.stderr)}", run.log_file)
        try:
            document = json.loads(run.stdout or "{}")
        except ValueError as exc:
            raise TerraformError(f"show -json returned no JSON: {exc}", run.log_file) from exc
        with self._lock:
            self._plan_documents[stack.name] = document
        return document

    def _raise_failure(self, stack: Stack, run, events) -> None:
        text = "\n".join(diagnostics(events)) + "\n" + run.stderr
        lock = parse_lock_info(text)
        if lock and ("ID" in lock or "Who" in lock):
            raise StateLockedError(self.lock_message(stack.name, lock), lock, run.log_file)
        errors = diagnostics(events) or [_last_error(run.stdout + run.stderr)]
        raise TerraformError(f"{run.command} failed: {errors[0]}", run.log_file)

    def _apply_plan(self, stack: Stack, result: StackResult, plan_file: Path) -> dict[str, Any] | None:
        """Apply a saved plan; return apply's ``outputs`` event when it carried every value, else None."""
        run = self._terraform(
            stack, result, "apply", ["-input=false", "-json", f"-lock-timeout={self.lock_timeout}", str(plan_file)]
        )
        events = parse_events(run.stdout)
        if run.rc != 0:
            self._raise_failure(stack, run, events)
        reported = [e.get("outputs") or {} for e in events if e.get("type") == "outputs"]
        if not reported:
            return None
        outputs = reported[-1]
        # Sensitive values are left out of the event stream: those need `terraform output`.
        if any(item.get("sensitive") or "value" not in item for item in outputs.values()):
            return None
        return outputs

    def _read_stack_outputs(self, stack: Stack, result: StackResult) -> dict[str, Any]:
        run = self._terraform(stack, result, "output", ["-json"], log_stdout=False)
        if run.rc != 0:
            raise TerraformError(f"output failed: {_last_error(run.stdout + run.stderr)}", run.log_file)
        try:
            raw = json.loads(run.stdout or "{}")
        except ValueError as exc:
            raise TerraformError(f"output -json returned no JSON: {exc}", run.log_file) from exc
        return self._remember_outputs(stack, result, raw)

    def _remember_outputs(self, stack: Stack, result: StackResult, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Keep ``{name: {value, sensitive}}`` outputs for downstream stacks; the result gets them masked."""
        values = {name: item.get("value") for name, item in raw.items()}
        sensitive = {name for name, item in raw.items() if item.get("sensitive")}
        for name in sensitive:
            self.engine.add_secrets(secret_strings(values[name]))
        with self._lock:
            self._outputs[stack.name] = values
        result.outputs = {name: (MASK if name in sensitive else value) for name, value in values.items()}
        return values

    def _read_planned_outputs(self, stack: Stack, result: StackResult, plan_file: Path) -> None:
        planned = (self._show_plan(stack, result, plan_file).get("planned_values") or {}).get("outputs") or {}
        known = {name: item["value"] for name, item in planned.items() if "value" in item}
        for name, item in planned.items():
            if item.get("sensitive") and name in known:
                self.engine.add_secrets(secret_strings(known[name]))
        with self._lock:
            current = self._outputs.get(stack.name, {})
            # An output the plan changes but cannot know yet must not be taken from today's state.
            stale = {name for name, action in result.output_changes.items() if name not in known}
            self._outputs[stack.name] = {k: v for k, v in current.items() if k not in stale} | known

    def _apply_stack(self, stack: Stack, result: StackResult) -> None:
        result.action = "apply"
        self.on_event(stack.name, "OK", "planning")
        has_changes, plan_file = self._plan(stack, result, destroy=False, assume_examples=False)
        applied_outputs = None
        if has_changes:
            self.on_event(stack.name, "OK", f"applying {_counts_text(result.counts)}")
            applied_outputs = self._apply_plan(stack, result, plan_file)
            result.changed = True
        if applied_outputs is None:
            self._read_stack_outputs(stack, result)
        else:
            self._remember_outputs(stack, result, applied_outputs)
        result.status = "changed" if result.changed else "ok"
        self.on_event(stack.name, "OK", f"{result.status}: {_counts_text(result.counts)}")

    def _plan_stack(self, stack: Stack, result: StackResult) -> None:
        result.action = "plan"
        has_changes, plan_file = self._plan(stack, result, destroy=False, assume_examples=True)
        result.changed = has_changes
        if has_changes:
            with self._lock:
                self._pending_apply.add(stack.name)
        # Downstream plans use this stack's outputs as planned (known values), else today's outputs,
        # else the contract's examples (reported as assumed_inputs).
        with contextlib.suppress(TerraformError):
            self._read_stack_outputs(stack, result)
        if has_changes:
            self._read_planned_outputs(stack, result, plan_file)
        result.status = "planned"
        self.on_event(stack.name, "OK", f"plan: {_counts_text(result.counts)}")

    def _read_stack(self, stack: Stack, result: StackResult) -> None:
        """Outputs and every resource id/ARN in the stack's state, changing nothing (``terraform show``)."""
        result.action = "read"
        self._init(stack, result)
        run = self._terraform(stack, result, "show", ["-json"], action="show-state", log_stdout=False)
        if run.rc != 0:
            raise TerraformError(f"show failed: {_last_error(run.stdout + run.stderr)}", run.log_file)
        document = json.loads(run.stdout or "{}")
        values = document.get("values") or {}
        self._remember_outputs(stack, result, values.get("outputs") or {})
        result.state_ids = sorted(set(state_ids(values.get("root_module") or {})))
        result.status = "ok"

    def _destroy_plan(self, stack: Stack, result: StackResult) -> tuple[bool, Path | None]:
        """Plan ``-destroy``; a stack with an unresolvable input and nothing in its state has nothing to do."""
        try:
            return self._plan(stack, result, destroy=True, assume_examples=True)
        except InputMissingError:
            if self._state_resource_count(stack, result):
                raise
            result.counts = {}
            self.on_event(stack.name, "OK", "nothing to destroy: its state holds no resources")
            return False, None

    def _state_resource_count(self, stack: Stack, result: StackResult) -> int:
        self._init(stack, result)
        run = self._terraform(stack, result, "show", ["-json"], action="show-state", log_stdout=False)
        if run.rc != 0:
            raise TerraformError(f"show failed: {_last_error(run.stdout + run.stderr)}", run.log_file)
        values = json.loads(run.stdout or "{}").get("values") or {}
        return len(_managed_resources(values.get("root_module") or {}))

    def _plan_destroy_stack(self, stack: Stack, result: StackResult) -> None:
        """Check mode with state absent: plan ``-destroy`` and report what would be deleted."""
        result.action = "plan-destroy"
        self.on_event(stack.name, "OK", "planning destroy (check mode)")
        has_changes, _ = self._destroy_plan(stack, result)
        result.changed = has_changes
        result.status = "planned"
        self.on_event(stack.name, "OK", f"plan-destroy: {_counts_text(result.counts)}")

    def _destroy_stack(self, stack: Stack, result: StackResult) -> None:
        result.action = "destroy"
        self.on_event(stack.name, "OK", "planning destroy")
        has_changes, plan_file = self._destroy_plan(stack, result)
        if has_changes and plan_file is not None:
            self.on_event(stack.name, "OK", f"destroying {_counts_text(result.counts)}")
            self._apply_plan(stack, result, plan_file)
            result.changed = True
        result.status = "changed" if result.changed else "ok"
        with self._lock:
            self._outputs.pop(stack.name, None)
        self.on_event(stack.name, "OK", f"destroyed: {_counts_text(result.counts)}")

    def _read_outputs(self, names: Sequence[str], results: dict[str, StackResult]) -> dict[str, str]:
        """Read the current outputs of stacks we only need values from; returns the failures."""
        failures = {}
        for name in names:
            stack = self.graph[name]
            scratch = results.get(name) or StackResult(name)
            try:
                self._init(stack, scratch)
                self._read_stack_outputs(stack, scratch)
            except TerraformError as exc:
                failures[name] = str(exc)
            finally:
                self._cleanup(stack)
        return failures


def _managed_resources(module: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    found = [r for r in module.get("resources") or [] if r.get("mode") == "managed"]
    for child in module.get("child_modules") or []:
        found += _managed_resources(child)
    return found


def _make_private(root: Path) -> None:
    """Owner-only permissions under ``root``: directories 0700, files 0600 (0700 if executable)."""
    if not root.is_dir():
        return
    for directory, _subdirs, files in os.walk(root):
        os.chmod(directory, 0o700)
        for name in files:
            path = os.path.join(directory, name)
            with contextlib.suppress(FileNotFoundError):
                if not os.path.islink(path):
                    mode = os.stat(path).st_mode
                    os.chmod(path, 0o700 if mode & 0o100 else 0o600)


def state_ids(module: Mapping[str, Any]) -> list[str]:
    """Every ``id``/``arn`` attribute of the managed resources in a ``show -json`` module, recursively."""
    found = []
    for resource in module.get("resources") or []:
        if resource.get("mode") != "managed":
            continue
        attributes = resource.get("values") or {}
        sensitive = resource.get("sensitive_values") or {}
        found += [
            str(attributes[key])
            for key in ID_ATTRIBUTES
            if attributes.get(key) and sensitive.get(key) is not True and isinstance(attributes[key], str)
        ]
    for child in module.get("child_modules") or []:
        found += state_ids(child)
    return found


def _counts_text(counts: Mapping[str, int]) -> str:
    return ", ".join(f"{a} {c}" for a, c in counts.items() if a != "noop") or "no changes"


def _last_error(text: str) -> str:
    lines = [line.strip(" │╷╵") for line in text.splitlines() if line.strip(" │╷╵")]
    for index, line in enumerate(lines):
        if line.startswith("Error"):
            return " ".join(lines[index : index + 3])
    return lines[-1] if lines else "no output"
