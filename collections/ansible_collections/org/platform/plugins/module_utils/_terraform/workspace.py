# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-stack Terraform work: init, plan, show, apply, output and state reads, force-unlock.

Each stack has a private directory ``work_dir/<env>/<stack>`` (0700) holding its ``TF_DATA_DIR``, the
rendered ``-backend-config`` file and, only while a command needs them, the variables file and the saved plan
(both 0600: they carry values and a state snapshot; ``cleanup`` removes them when the stack is done). ``init``
runs again only when the backend config, the engine or a Terraform file of the stack changed.
Command reference: https://developer.hashicorp.com/terraform/cli/commands
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import threading
import zipfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._runlog import write_private
from ansible_collections.org.platform.plugins.module_utils._terraform.backend import BackendConfig, lock_message
from ansible_collections.org.platform.plugins.module_utils._terraform.results import StackResult
from ansible_collections.org.platform.plugins.module_utils.stack_graph import Stack
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import (
    CommandResult,
    PlanSummary,
    StateLockedError,
    TerraformEngine,
    TerraformError,
    diagnostics,
    last_error,
    parse_events,
    parse_lock_info,
    plan_resource_changes,
    summarize_plan,
)

SIMULATED_MARKER = "# SIMULATED"
ID_ATTRIBUTES = ("id", "arn")
# Files the runner leaves nowhere once a stack is done: plans carry variable values and a state snapshot.
TRANSIENT_FILES = ("plan.tfplan", "refresh.tfplan", "inputs.tfvars.json")
# Terraform 1.15's S3 backend, both locks configured (internal/backend/remote-state/s3/client.go, Unlock): the
# one half that failed, because it did not exist, while the other half (ID checked) was released.
BOTH_FAILED = "failed to unlock both S3 and DynamoDB"
HALF_LOCKS = (
    ("failed to unlock S3: unable to retrieve file from S3 bucket", "NoSuchKey", "in DynamoDB"),
    (
        "failed to unlock DynamoDB: failed to retrieve lock info for lock ID",
        "unexpected end of JSON input",
        "as the S3 lock file",
    ),
)


def is_simulated(stack: Stack) -> bool:
    """A contract twin (``terraform/sandbox/``) says so on the first line of its ``main.tf``."""
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
        if (
            path.is_file()
            and (path.suffix in (".tf", ".hcl") or path.name.endswith(".tf.json"))
            and ".terraform" not in path.parts
        ):
            digest.update(str(path.relative_to(stack_dir)).encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()


def managed_resources(module: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """The managed resources of a ``show -json`` module, recursively."""
    found = [r for r in module.get("resources") or [] if r.get("mode") == "managed"]
    for child in module.get("child_modules") or []:
        found += managed_resources(child)
    return found


def state_ids(module: Mapping[str, Any]) -> list[str]:
    """Every ``id``/``arn`` attribute of the managed resources in a ``show -json`` module, recursively."""
    found = []
    for resource in managed_resources(module):
        attributes = resource.get("values") or {}
        sensitive = resource.get("sensitive_values") or {}
        found += [
            str(attributes[key])
            for key in ID_ATTRIBUTES
            if attributes.get(key) and sensitive.get(key) is not True and isinstance(attributes[key], str)
        ]
    return found


def make_private(root: Path) -> None:
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


def _json(run: CommandResult, what: str) -> dict[str, Any]:
    try:
        return json.loads(run.stdout or "{}")
    except ValueError as exc:
        raise TerraformError(f"{what} returned no JSON: {exc}", run.log_file) from exc


class StackWorkspace:
    """The Terraform commands of one environment's stacks, each in its stack's private directory."""

    def __init__(
        self,
        engine: TerraformEngine,
        backend: BackendConfig,
        environment: str,
        work_root: Path,
        lock_timeout: str,
        diff: bool,
    ):
        self.engine = engine
        self.backend = backend
        self.environment = environment
        self.work_root = work_root
        self.lock_timeout = lock_timeout
        self.diff = diff
        # The saved plans' show -json per (stack, plan file), while the plan exists.
        self._plan_documents: dict[tuple[str, str], dict[str, Any]] = {}
        self._lock = threading.Lock()

    # ----------------------------------------------------------------------------------- directories
    def directory(self, stack: Stack) -> Path:
        return self.work_root / stack.name

    def prepare(self) -> None:
        """``work_dir/<env>`` exists, owner-only (0700), with no plan left by an earlier run that died."""
        for directory in (self.work_root.parent, self.work_root):
            directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            directory.chmod(0o700)
        self.sweep_transient()

    def sweep_transient(self) -> None:
        if not self.work_root.is_dir():
            return
        for name in TRANSIENT_FILES:
            for leftover in self.work_root.glob(f"*/{name}"):
                with contextlib.suppress(FileNotFoundError):
                    leftover.unlink()

    def cleanup(self, stack: Stack) -> None:
        """The stack is done: its plan and variables file go, what stays is owner-only."""
        directory = self.directory(stack)
        for leftover in TRANSIENT_FILES:
            with contextlib.suppress(FileNotFoundError):
                (directory / leftover).unlink()
        with self._lock:
            for key in [key for key in self._plan_documents if key[0] == stack.name]:
                del self._plan_documents[key]
        make_private(directory)

    def write_variables(self, stack: Stack, values: Mapping[str, Any]) -> Path:
        """The stack's variable values as a 0600 ``inputs.tfvars.json`` (complex types pass losslessly)."""
        return write_private(self.directory(stack) / "inputs.tfvars.json", json.dumps(values, indent=2, sort_keys=True))

    # -------------------------------------------------------------------------------------- commands
    def terraform(self, stack: Stack, result: StackResult, command: str, args: list[str], **kwargs) -> CommandResult:
        run = self.engine.run(
            stack.name, command, args, cwd=stack.path, data_dir=self.directory(stack) / ".terraform", **kwargs
        )
        result.log_files.append(run.log_file)
        return run

    def init(self, stack: Stack, result: StackResult) -> None:
        directory = self.directory(stack)
        backend_text = self.backend.render(self.environment, stack.name)
        fingerprint = config_fingerprint(stack.path, backend_text, self.engine.name)
        stamp = directory / "init.sha256"
        if (directory / ".terraform").is_dir() and stamp.is_file() and stamp.read_text() == fingerprint:
            return
        backend_file = write_private(directory / "backend.hcl", backend_text)
        run = self.terraform(
            stack,
            result,
            "init",
            ["-input=false", "-no-color", "-reconfigure", f"-backend-config={backend_file}"],
        )
        if run.rc != 0:
            raise TerraformError(f"init failed: {last_error(run.stdout + run.stderr)}", run.log_file)
        write_private(stamp, fingerprint)
        result.initialised = True

    def plan(
        self, stack: Stack, result: StackResult, var_file: Path, destroy: bool, refresh_only: bool = False
    ) -> tuple[bool, Path]:
        """``plan -detailed-exitcode -out``; fills the result's counts, resources and output changes (and, in
        diff mode, the resource changes of the saved plan). True when the plan has changes.

        ``refresh_only`` (drift) saves ``refresh.tfplan`` and leaves the result's counts alone; the exit code
        then says little (an output-only change exits 2), so the caller reads the plan's JSON."""
        plan_file = self.directory(stack) / ("refresh.tfplan" if refresh_only else "plan.tfplan")
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
        if refresh_only:
            args.append("-refresh-only")
        action = "plan-refresh-only" if refresh_only else "plan-destroy" if destroy else "plan"
        run = self.terraform(stack, result, "plan", args, action=action)
        events = parse_events(run.stdout)
        if run.rc not in (0, 2):
            self.raise_failure(stack, run, events)
        if refresh_only:
            return run.rc == 2, plan_file
        summary = self._record_changes(result, events)
        result.output_changes = {k: v for k, v in summary.output_changes.items() if v != "noop"}
        if run.rc == 2 and self.diff:
            result.resource_changes = plan_resource_changes(self.show_plan(stack, result, plan_file))
        return run.rc == 2, plan_file

    def show_plan(self, stack: Stack, result: StackResult, plan_file: Path) -> dict[str, Any]:
        """The saved plan as JSON (``show -json``), read once per plan; never logged (it carries values)."""
        key = (stack.name, plan_file.name)
        with self._lock:
            cached = self._plan_documents.get(key)
        if cached is not None:
            return cached
        run = self.terraform(stack, result, "show", ["-json", str(plan_file)], action="show", log_stdout=False)
        if run.rc != 0:
            raise TerraformError(f"show failed: {last_error(run.stdout + run.stderr)}", run.log_file)
        document = _json(run, "show -json")
        with self._lock:
            self._plan_documents[key] = document
        return document

    def destroy(self, stack: Stack, result: StackResult, var_file: Path) -> bool:
        """``terraform destroy -auto-approve``: plan and apply the deletion in one command (for a run with no plan
        gate and no diff, which would need the saved plan); fills the result's counts from its event stream. True
        when anything was deleted."""
        args = ["-auto-approve", "-input=false", "-json", f"-lock-timeout={self.lock_timeout}", f"-var-file={var_file}"]
        run = self.terraform(stack, result, "destroy", args)
        events = parse_events(run.stdout)
        if run.rc != 0:
            self.raise_failure(stack, run, events)
        summary = self._record_changes(result, events)
        return bool(summary.remove or result.resources)

    @staticmethod
    def _record_changes(result: StackResult, events: list[dict[str, Any]]) -> PlanSummary:
        """The resource actions of a plan's (or destroy's) event stream into the result: counts and addresses."""
        summary = summarize_plan(events)
        result.counts = summary.counts
        result.resources = {a: addrs for a, addrs in summary.changes.items() if a != "noop"}
        return summary

    def apply_plan(self, stack: Stack, result: StackResult, plan_file: Path) -> dict[str, Any] | None:
        """Apply a saved plan; return apply's ``outputs`` event when it carried every value, else None."""
        run = self.terraform(
            stack, result, "apply", ["-input=false", "-json", f"-lock-timeout={self.lock_timeout}", str(plan_file)]
        )
        events = parse_events(run.stdout)
        if run.rc != 0:
            self.raise_failure(stack, run, events)
        reported = [e.get("outputs") or {} for e in events if e.get("type") == "outputs"]
        if not reported:
            return None
        outputs = reported[-1]
        # Sensitive values are left out of the event stream: those need `terraform output`.
        if any(item.get("sensitive") or "value" not in item for item in outputs.values()):
            return None
        return outputs

    @staticmethod
    def plan_outputs(plan_file: Path) -> dict[str, Any] | None:
        """The outputs of the state a saved plan was made against, read from the plan file itself.

        A saved plan is a zip that holds the prior state as ``tfstate`` (Terraform's state JSON, version 4), with
        every root output's value, type and sensitivity, the same as ``terraform output -json`` when the plan
        changes nothing. Reading it costs no Terraform process. ``None`` when the file is not such a zip (an
        engine that encrypts its plans, another format): the caller then runs ``output -json``. Values are never
        logged.
        """
        try:
            with zipfile.ZipFile(plan_file) as plan:
                state = json.loads(plan.read("tfstate"))
        except (OSError, KeyError, ValueError, zipfile.BadZipFile):
            return None
        outputs = state.get("outputs") if isinstance(state, dict) and state.get("version") == 4 else None
        if not isinstance(outputs, dict) or not all(
            isinstance(item, dict) and "value" in item for item in outputs.values()
        ):
            return None
        return {
            name: {"value": item["value"], "type": item.get("type"), "sensitive": bool(item.get("sensitive"))}
            for name, item in outputs.items()
        }

    def outputs(self, stack: Stack, result: StackResult) -> dict[str, Any]:
        """``terraform output -json``: ``{name: {value, sensitive, type}}`` (stdout never logged)."""
        run = self.terraform(stack, result, "output", ["-json"], log_stdout=False)
        if run.rc != 0:
            raise TerraformError(f"output failed: {last_error(run.stdout + run.stderr)}", run.log_file)
        return _json(run, "output -json")

    def holds_resources(self, stack: Stack, result: StackResult) -> bool:
        """Whether the stack's state holds any resource: ``terraform state list``, which reads the state and starts
        no provider (a plan would start every provider of the stack). A state that was never written holds none."""
        self.init(stack, result)
        run = self.terraform(stack, result, "state", ["list"], action="state-list")
        if run.rc != 0:
            if "No state file was found" in run.stdout + run.stderr:
                return False
            raise TerraformError(f"state list failed: {last_error(run.stdout + run.stderr)}", run.log_file)
        return any(line.strip() for line in run.stdout.splitlines())

    def state(self, stack: Stack, result: StackResult) -> dict[str, Any]:
        """The ``values`` of ``terraform show -json`` of the stack's state (init first; stdout never logged)."""
        self.init(stack, result)
        run = self.terraform(stack, result, "show", ["-json"], action="show-state", log_stdout=False)
        if run.rc != 0:
            raise TerraformError(f"show failed: {last_error(run.stdout + run.stderr)}", run.log_file)
        return json.loads(run.stdout or "{}").get("values") or {}

    def force_unlock(self, stack: Stack, result: StackResult, lock_id: str) -> str:
        """``force-unlock -force <id>``: Terraform checks the lock still carries that ID; returns what was released.

        With both locks configured, Terraform releases the lock file and the DynamoDB item and fails unless both
        were there. A lock held in only one of them (a run with a DynamoDB-only configuration, or one killed
        between taking or releasing the two) is released all the same, ID checked, and Terraform then reports the
        other half as missing: that one case counts as released.
        """
        self.init(stack, result)
        run = self.terraform(stack, result, "force-unlock", ["-force", "-no-color", lock_id], action="force-unlock")
        if run.rc == 0:
            return "released"
        text = run.stdout + run.stderr
        for half, absent, held in HALF_LOCKS:
            if half in text and absent in text and BOTH_FAILED not in text:
                return f"released (it was held {held} only)"
        raise TerraformError(
            f"force-unlock of lock {lock_id} on {stack.name} refused: {last_error(text)}",
            run.log_file,
        )

    def raise_failure(self, stack: Stack, run: CommandResult, events: list[dict[str, Any]]) -> None:
        """A failed plan/apply: a StateLockedError naming the holder, else the first error diagnostic."""
        text = "\n".join(diagnostics(events)) + "\n" + run.stderr
        lock = parse_lock_info(text)
        if lock and ("ID" in lock or "Who" in lock):
            raise StateLockedError(lock_message(self.environment, stack.name, lock), lock, run.log_file)
        errors = diagnostics(events) or [last_error(run.stdout + run.stderr)]
        raise TerraformError(f"{run.command} failed: {errors[0]}", run.log_file)
