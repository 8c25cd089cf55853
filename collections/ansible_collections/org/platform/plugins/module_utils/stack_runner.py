# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply, plan or destroy an environment's Terraform stacks in dependency order.

* apply: a stack starts as soon as every stack it depends on has been applied (bounded parallelism);
  its variables are the inventory's values plus its upstreams' outputs, written to a 0600
  ``*.tfvars.json`` so complex types pass losslessly; ``plan -detailed-exitcode -out`` decides, and
  only a plan with changes is applied (the saved plan, so what was planned is what runs).
* destroy: the reverse; a stack goes once every dependent is destroyed.
* drift: per stack a refresh-only and a normal plan, nothing applied, no state written; every stack runs (an
  error never hides another stack's drift) and the run writes ``<drift_dir>/<stamp>-<run id>_drift_<env>.json``
  and ``.md`` (``_terraform/drift.py``); the run is ok only when every stack is clean.
* plan (Ansible check mode): plans only, reports per stack the resource actions and addresses; check
  mode with ``absent`` plans ``-destroy`` for the stacks a real destroy would take.

Before any Terraform command runs, every stack is checked (``_terraform/validate.py``): it must declare
``backend "s3" {}`` (its state then lives in the configured bucket under ``{env}/{stack}/terraform.tfstate``,
never in the stack's directory), every value given must be for a variable it declares, and every wired input
must name an output its upstream declares. A stack that is not run because another failed, or whose inputs
cannot be resolved, fails the run (``skipped`` never hides an error).

A failed stack stops its dependents; independent stacks carry on; a rerun resumes (applied stacks plan
as no-ops). ``init`` is skipped while the backend config and the stack's files are unchanged. State
locks held by others are reported with their owner and never force-unlocked. Sensitive outputs are
masked in results and never written to logs.

This module is the orchestrator; the parts live in the private package ``_terraform``: ``validate``
(checks before anything runs), ``scheduler`` (graphlib ready-set scheduling), ``jobs`` (one job per stack and
action), ``workspace`` (the Terraform commands and the stack's private files), ``outputs`` (the output store
and its masking), ``backend`` (the S3 backend and lock messages), ``results`` (what a run reports).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._runlog import RunLogError, new_run_id, utc_stamp
from ansible_collections.org.platform.plugins.module_utils._terraform.backend import (
    LOCK_ID_RE,
    BackendConfig,
    lock_message,
)
from ansible_collections.org.platform.plugins.module_utils._terraform.drift import (
    DriftIgnore,
    error_entry,
    write_report,
)
from ansible_collections.org.platform.plugins.module_utils._terraform.errors import (
    StackRunnerError,
    UnknownInputError,
)
from ansible_collections.org.platform.plugins.module_utils._terraform.gate import RunGate
from ansible_collections.org.platform.plugins.module_utils._terraform.jobs import StackJobs
from ansible_collections.org.platform.plugins.module_utils._terraform.outputs import OutputStore
from ansible_collections.org.platform.plugins.module_utils._terraform.results import RunReport, StackResult
from ansible_collections.org.platform.plugins.module_utils._terraform.scheduler import INTERRUPTED, Scheduler
from ansible_collections.org.platform.plugins.module_utils._terraform.validate import RunInputs, validate
from ansible_collections.org.platform.plugins.module_utils._terraform.workspace import StackWorkspace, is_simulated
from ansible_collections.org.platform.plugins.module_utils.stack_graph import StackGraph, StackGraphError
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import (
    StateLockedError,
    TerraformEngine,
    TerraformError,
)

STATES = ("present", "absent", "planned", "read", "drift")
PROJECT_MARKER = Path("collections/ansible_collections/org/platform/galaxy.yml")


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
        gate: RunGate | None = None,
        drift_ignores: Sequence[DriftIgnore] = (),
        drift_dir: str | Path | None = None,
    ):
        self.graph = graph
        self.engine = engine
        self.environment = environment
        self.backend = backend
        self.work_root = Path(work_dir) / environment
        self.on_event = on_event or (lambda stack, level, message: None)
        common = dict(common_values or {})
        values = {k: dict(v or {}) for k, v in (stack_values or {}).items()}
        self.declarations = validate(RunInputs(graph, environment, backend, self.work_root, common, values))
        self.workspace = StackWorkspace(engine, backend, environment, self.work_root, lock_timeout, diff)
        self.outputs = OutputStore(graph, engine.add_secrets)  # kept across runs of this runner
        self.jobs = StackJobs(
            graph, self.workspace, self.outputs, self.declarations, common, values, self.on_event, gate, drift_ignores
        )
        self.drift_dir = Path(drift_dir) if drift_dir else Path(work_dir) / "drift"
        self.scheduler = Scheduler(max_parallel, self.on_event)

    def run(self, state: str, only: Sequence[str] = (), exclude: Sequence[str] = (), check: bool = False) -> RunReport:
        """Act on the selected stacks. ``check`` (Ansible check mode) only plans: ``present`` plans an
        apply (as ``planned`` does), ``absent`` plans ``-destroy`` for every stack a destroy would take."""
        if state not in STATES:
            raise StackRunnerError(f"state must be one of {', '.join(STATES)}, not {state!r}")
        if check and state == "present":
            state = "planned"
        destroying = state == "absent"
        drifting = state == "drift"
        try:
            order = self.graph.select(only, exclude, destroying=destroying)
        except StackGraphError as exc:
            raise StackRunnerError(str(exc)) from exc
        started = time.monotonic()
        calls_before = self.engine.calls
        self.workspace.prepare()
        jobs = self.jobs
        results = {name: StackResult(name, simulated=is_simulated(self.graph[name])) for name in order}
        selected = set(order)
        upstreams = set() if state == "read" else {d for n in order for d in self.graph.dependencies(n)}
        # Upstreams outside the selection are read, never changed; when destroying, every upstream is
        # read first, because its dependents are destroyed (and need its outputs) before it is; drift plans
        # every stack at once against today's outputs, so it reads every upstream first too.
        readers = self.graph.order(upstreams if destroying or drifting else upstreams - selected)
        read_failures = jobs.read_upstreams(readers, results, self.scheduler.max_parallel) if readers else {}
        # A destroy takes every dependent of the stacks it names along; those it did not name may be empty
        # already (destroy.yml destroys the compute stacks first): each is checked before it is planned.
        jobs.check_empty_first = (selected - set(only)) if destroying and only else set()
        if destroying:
            job = jobs.plan_destroy if check else jobs.destroy
        else:
            job = {"read": jobs.read, "planned": jobs.plan, "drift": jobs.drift}.get(state, jobs.apply)
        blockers, cause = self._waits(state, selected, results, read_failures)
        interrupted = self.scheduler.run(
            order,
            blockers,
            job=lambda name: self._guarded(job, results[name]),
            cause=cause,
            skip=lambda name, reason: self._skip(results[name], reason),
        )
        self.workspace.sweep_transient()
        report = RunReport(
            state,
            order,
            results,
            self.engine.calls - calls_before,
            time.monotonic() - started,
            read_failures=read_failures,
            interrupted=interrupted,
            check=check or state in ("planned", "drift"),
        )
        if drifting:
            self._drift_report(report)
        return report

    def _drift_report(self, report: RunReport) -> None:
        """Every stack's entry (a failed or skipped one is an error) and the report files."""
        entries = {}
        for name in report.order:
            result = report.results[name]
            if result.drift is None:
                result.drift = error_entry(result.error or f"{name} was not planned")
                result.status = "error"
            entries[name] = result.drift
        report.drift = entries
        report.drift_files = [
            str(p) for p in write_report(self.drift_dir, self.environment, entries, utc_stamp(), new_run_id())
        ]

    def _waits(
        self, state: str, selected: set[str], results: Mapping[str, StackResult], read_failures: Mapping[str, str]
    ) -> tuple[Callable[[str], set[str]], Callable[[str], str | None]]:
        """What each stack waits for (dependencies; dependents when destroying; nothing when reading) and the
        root cause that stops it: a failed stack, or an upstream whose read failed."""

        def blockers(name: str) -> set[str]:
            if state == "absent":
                return self.graph.dependents(name) & selected
            return set() if state in ("read", "drift") else set(self.graph[name].depends_on)

        def cause(name: str) -> str | None:
            if state == "drift":
                return None  # an upstream whose outputs cannot be read makes this stack's plan fail: an error
            for other in sorted(blockers(name)):
                if other in read_failures:
                    return other
                if other in results and results[other].status == "failed":
                    return other
                if other in results and results[other].status == "skipped":
                    return results[other].blocked_by or other
            return None

        return blockers, cause

    def _skip(self, result: StackResult, cause: str) -> None:
        result.status, result.blocked_by = "skipped", cause
        if cause == INTERRUPTED:
            result.error = "not run: the run was interrupted"
        else:
            result.error = f"not run: {cause} did not complete"
        self.on_event(result.name, "ERR", result.error)

    def _guarded(self, job: Callable[[Any, StackResult], None], result: StackResult) -> None:
        started = time.monotonic()
        stack = self.graph[result.name]
        try:
            job(stack, result)
        except UnknownInputError as exc:
            # Planning only: the value exists once the upstream's planned changes are applied; this stack's
            # own outputs are then unknown too, so its dependents are deferred in turn.
            result.status, result.error = "deferred", str(exc)
            self.outputs.mark_pending(stack.name)
            self.on_event(stack.name, "WARN", str(exc))
        except StateLockedError as exc:
            result.status, result.error, result.lock = "failed", str(exc), exc.lock
            self.on_event(stack.name, "ERR", str(exc))
        except (TerraformError, StackGraphError, RunLogError, OSError) as exc:
            result.status, result.error = "failed", str(exc)
            self.on_event(stack.name, "ERR", str(exc))
        finally:
            result.duration_s = time.monotonic() - started
            self.workspace.cleanup(stack)

    def lock_message(self, stack: str, lock: Mapping[str, str]) -> str:
        """Who holds the lock, whether that is us (likely a run that died), and the one command that frees it."""
        return lock_message(self.environment, stack, lock)

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
        self.workspace.prepare()
        started = time.monotonic()
        try:
            released = self.workspace.force_unlock(stack, result, lock_id)
            result.status, result.changed = "changed", True
            self.on_event(stack_name, "WARN", f"state lock {lock_id} {released} (force_unlock)")
        except TerraformError as exc:
            result.status, result.error = "failed", str(exc)
            self.on_event(stack_name, "ERR", str(exc))
        finally:
            result.duration_s = time.monotonic() - started
            self.workspace.cleanup(stack)
        return result
