# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Apply, plan or destroy an environment's Terraform stacks in dependency order.

* apply: a stack starts as soon as every stack it depends on has been applied (bounded parallelism);
  its variables are the inventory's values plus its upstreams' outputs, written to a 0600
  ``*.tfvars.json`` so complex types pass losslessly; ``plan -detailed-exitcode -out`` decides, and
  only a plan with changes is applied (the saved plan, so what was planned is what runs).
* destroy: the reverse; a stack goes once every dependent is destroyed.
* plan (Ansible check mode): plans only, reports per stack the resource actions and addresses.

A failed stack stops its dependents; independent stacks carry on; a rerun resumes (applied stacks plan
as no-ops). ``init`` is skipped while the backend config and the stack's files are unchanged. State
locks held by others are reported with their owner and never force-unlocked. Sensitive outputs are
masked in results and never written to logs.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

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
    secret_strings,
    summarize_plan,
)

SIMULATED_MARKER = "# SIMULATED"
STATES = ("present", "absent", "planned", "read")
ID_ATTRIBUTES = ("id", "arn")


class StackRunnerError(Exception):
    """The run cannot start (bad input); nothing was changed."""


class UnknownInputError(TerraformError):
    """A variable's upstream output is not known (yet): nothing to plan against."""


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
    output_changes: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)  # masked
    duration_s: float = 0.0
    log_files: list[str] = field(default_factory=list)
    simulated: bool = False
    initialised: bool = False
    assumed_inputs: list[str] = field(default_factory=list)
    state_ids: list[str] = field(default_factory=list)  # state: read
    error: str | None = None
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

    @property
    def changed(self) -> bool:
        return any(r.changed for r in self.results.values())

    @property
    def failed(self) -> list[str]:
        return [n for n in self.order if self.results[n].status == "failed"]

    @property
    def skipped(self) -> list[str]:
        return [n for n in self.order if self.results[n].status == "skipped"]

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
        self._outputs: dict[str, dict[str, Any]] = {}  # real values, never returned as is
        self._lock = threading.Lock()
        self._validate()

    # ---------------------------------------------------------------------------------- validation
    def _validate(self) -> None:
        for name in self.stack_values:
            if name not in self.graph:
                raise StackRunnerError(f"variables given for unknown stack {name!r}")
        for name, stack in self.graph.stacks.items():
            if not stack.path.is_dir():
                raise StackRunnerError(f"stack {name!r}: directory {stack.path} does not exist")
            if not any(stack.path.glob("*.tf")) and not any(stack.path.glob("*.tf.json")):
                raise StackRunnerError(f"stack {name!r}: no Terraform files in {stack.path}")
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

    # ------------------------------------------------------------------------------------- running
    def run(self, state: str, only: Sequence[str] = (), exclude: Sequence[str] = ()) -> RunReport:
        if state not in STATES:
            raise StackRunnerError(f"state must be one of {', '.join(STATES)}, not {state!r}")
        destroying = state == "absent"
        try:
            order = self.graph.select(only, exclude, destroying=destroying)
        except StackGraphError as exc:
            raise StackRunnerError(str(exc)) from exc
        started = time.monotonic()
        calls_before = self.engine.calls
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

            job = self._destroy_stack
        elif state == "read":

            def blockers(name: str) -> set[str]:
                return set()  # reading state needs nothing from anyone

            job = self._read_stack

        else:

            def blockers(name: str) -> set[str]:
                return set(self.graph[name].depends_on)

            job = self._plan_stack if state == "planned" else self._apply_stack

        def upstream_failed(name: str) -> str | None:
            for other in sorted(blockers(name)):
                if other in results and results[other].status in ("failed", "skipped"):
                    return other
                if other in read_failures:
                    return other
            return None

        self._schedule(order, blockers, job, results, upstream_failed)
        return RunReport(state, order, results, self.engine.calls - calls_before, time.monotonic() - started)

    def _schedule(self, order, blockers, job, results, upstream_failed) -> None:
        done: set[str] = set()
        pending = list(order)
        running: dict[Future, str] = {}
        with ThreadPoolExecutor(max_workers=self.max_parallel, thread_name_prefix="stack") as pool:
            while pending or running:
                for name in list(pending):
                    failed_dep = upstream_failed(name)
                    if failed_dep:
                        pending.remove(name)
                        results[name].status = "skipped"
                        results[name].error = f"not run: {failed_dep} did not complete"
                        self.on_event(name, "WARN", results[name].error)
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
                finished, _ = wait(list(running), return_when=FIRST_COMPLETED)
                for future in finished:
                    done.add(running.pop(future))

    def _guarded(self, job, result: StackResult) -> None:
        started = time.monotonic()
        stack = self.graph[result.name]
        try:
            job(stack, result)
        except UnknownInputError as exc:
            result.status, result.error = "skipped", str(exc)
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
        for leftover in ("plan.tfplan", "inputs.tfvars.json"):
            with contextlib.suppress(FileNotFoundError):
                (workspace / leftover).unlink()

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
                if assume_examples and example is not None and example.example is not None:
                    known = {**(known or {}), ref.output: example.example}
                    result.assumed_inputs.append(str(ref))
                else:
                    raise UnknownInputError(f"input {ref} is unknown until {ref.stack} is applied")
            upstream[ref.stack] = known
        values = stack_variables(stack, self.common_values, self.stack_values.get(stack.name, {}), upstream)
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
        return run.rc == 2, plan_file

    def _raise_failure(self, stack: Stack, run, events) -> None:
        text = "\n".join(diagnostics(events)) + "\n" + run.stderr
        lock = parse_lock_info(text)
        if lock and ("ID" in lock or "Who" in lock):
            who = lock.get("Who", "unknown")
            raise StateLockedError(
                f"state of {stack.name} is locked by {who} (lock ID {lock.get('ID', '?')}, operation "
                f"{lock.get('Operation', '?')}, created {lock.get('Created', '?')}); not force-unlocking: "
                f"wait for it to finish, or if it is stale run `terraform force-unlock {lock.get('ID', '<ID>')}` yourself",
                lock,
                run.log_file,
            )
        errors = diagnostics(events) or [_last_error(run.stdout + run.stderr)]
        raise TerraformError(
            f"{run.argv[3] if not self.engine.binary_path else run.argv[1]} failed: {errors[0]}", run.log_file
        )

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
        run = self._terraform(stack, result, "show", ["-json", str(plan_file)], action="show", log_stdout=False)
        if run.rc != 0:
            raise TerraformError(f"show failed: {_last_error(run.stdout + run.stderr)}", run.log_file)
        planned = (json.loads(run.stdout or "{}").get("planned_values") or {}).get("outputs") or {}
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

    def _destroy_stack(self, stack: Stack, result: StackResult) -> None:
        result.action = "destroy"
        self.on_event(stack.name, "OK", "planning destroy")
        has_changes, plan_file = self._plan(stack, result, destroy=True, assume_examples=True)
        if has_changes:
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
