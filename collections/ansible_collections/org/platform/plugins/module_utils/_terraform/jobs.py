# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""One job per stack and action: apply, plan, plan-destroy, destroy, read; and reading upstreams' outputs.

A job runs in a scheduler thread; it fills its ``StackResult`` and raises on failure (the runner turns that
into the stack's ``failed`` or ``deferred`` status).

* apply: ``plan -detailed-exitcode -out``; only a plan with changes is applied (the saved plan, so what was
  planned is what runs), and only once the plan gate (``gate.py``, when the run has one) passed its
  ``show -json``: an enforced deny fails the stack before apply, so its dependents are skipped; the outputs
  come from apply's event stream (``terraform output`` when a value is sensitive), and when nothing changed
  from the state inside the saved plan: a no-change rerun is one Terraform command per stack.
* plan: the gate's verdict is reported, nothing stops; downstream plans use this stack's planned outputs
  (known values), else today's outputs, else the contract's examples.
* drift: a refresh-only plan and a normal plan, both saved and read as JSON (``drift.py`` classifies them),
  neither applied; plans never write state.
* destroy / plan-destroy: ``plan -destroy`` (and the saved plan's apply) when a plan gate or the diff needs the
  plan, else one ``destroy -auto-approve``; a stack with an unresolvable input and nothing in its state has
  nothing to do, and so has a dependent the run takes along without naming it whose ``state list`` is empty
  (no plan: a plan would start every provider).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._terraform.drift import DriftIgnore, classify
from ansible_collections.org.platform.plugins.module_utils._terraform.errors import InputMissingError
from ansible_collections.org.platform.plugins.module_utils._terraform.gate import GateDeniedError, RunGate
from ansible_collections.org.platform.plugins.module_utils._terraform.outputs import OutputStore
from ansible_collections.org.platform.plugins.module_utils._terraform.results import StackResult, counts_text
from ansible_collections.org.platform.plugins.module_utils._terraform.validate import Declarations
from ansible_collections.org.platform.plugins.module_utils._terraform.workspace import (
    StackWorkspace,
    managed_resources,
    state_ids,
)
from ansible_collections.org.platform.plugins.module_utils.stack_graph import Stack, StackGraph, stack_variables
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import TerraformError


class StackJobs:
    """The per-stack actions of one run, over the workspace (Terraform) and the output store (values)."""

    def __init__(
        self,
        graph: StackGraph,
        workspace: StackWorkspace,
        outputs: OutputStore,
        declarations: Mapping[str, Declarations],
        common_values: Mapping[str, Any],
        stack_values: Mapping[str, Mapping[str, Any]],
        on_event: Callable[[str, str, str], None],
        gate: RunGate | None = None,
        drift_ignores: Sequence[DriftIgnore] = (),
    ):
        self.graph = graph
        self.workspace = workspace
        self.outputs = outputs
        self.declarations = declarations
        self.common_values = common_values
        self.stack_values = stack_values
        self.on_event = on_event
        self.gate = gate
        self.drift_ignores = list(drift_ignores)
        # Destroying: the dependents a run takes along without naming them (checked for an empty state first).
        self.check_empty_first: set[str] = set()

    # ------------------------------------------------------------------------------------------ jobs
    def apply(self, stack: Stack, result: StackResult) -> None:
        result.action = "apply"
        self.on_event(stack.name, "OK", "planning")
        has_changes, plan_file = self._plan(stack, result, assume_examples=False)
        applied_outputs = None
        if has_changes and self._gate(stack, result, plan_file):
            raise GateDeniedError(f"plan gate denied the plan, nothing applied: {result.gate['summary']}")
        if has_changes:
            self.on_event(stack.name, "OK", f"applying {counts_text(result.counts)}")
            applied_outputs = self.workspace.apply_plan(stack, result, plan_file)
            result.changed = True
        if applied_outputs is None:
            # Nothing changed: the saved plan carries the state's outputs (no output command); after an apply whose
            # event stream left a value out, `output -json`.
            self.read_outputs(stack, result, None if has_changes else plan_file)
        else:
            result.outputs = self.outputs.remember(stack.name, applied_outputs)
        result.status = "changed" if result.changed else "ok"
        self.on_event(stack.name, "OK", f"{result.status}: {counts_text(result.counts)}")

    def plan(self, stack: Stack, result: StackResult) -> None:
        result.action = "plan"
        has_changes, plan_file = self._plan(stack, result, assume_examples=True)
        result.changed = has_changes
        if has_changes:
            self.outputs.mark_pending(stack.name)
        # Downstream plans use this stack's outputs as planned (known values), else today's outputs,
        # else the contract's examples (reported as assumed_inputs).
        with contextlib.suppress(TerraformError):
            self.read_outputs(stack, result, plan_file)
        if has_changes:
            self._gate(stack, result, plan_file)
            document = self.workspace.show_plan(stack, result, plan_file)
            planned = (document.get("planned_values") or {}).get("outputs") or {}
            self.outputs.remember_planned(stack.name, planned, result.output_changes)
        result.status = "planned"
        self.on_event(stack.name, "OK", f"plan: {counts_text(result.counts)}")

    def drift(self, stack: Stack, result: StackResult) -> None:
        """Refresh-only plan (drift outside Terraform) and normal plan (pending changes); nothing applied."""
        result.action = "drift"
        self.on_event(stack.name, "OK", "planning refresh-only and normal (drift)")
        self.workspace.init(stack, result)
        var_file = self._variables(stack, result, assume_examples=False)
        refresh_file = self.workspace.plan(stack, result, var_file, destroy=False, refresh_only=True)[1]
        refresh = self.workspace.show_plan(stack, result, refresh_file)
        plan_file = self.workspace.plan(stack, result, var_file, destroy=False)[1]
        planned = self.workspace.show_plan(stack, result, plan_file)
        result.drift = classify(stack.name, refresh, planned, self.drift_ignores)
        with contextlib.suppress(TerraformError):
            self.read_outputs(stack, result, plan_file)
        result.status = result.drift["status"]
        level = "OK" if result.status == "clean" else "WARN"
        self.on_event(stack.name, level, f"drift: {result.status}")

    def read(self, stack: Stack, result: StackResult) -> None:
        """Outputs and every resource id/ARN in the stack's state, changing nothing (``terraform show``)."""
        result.action = "read"
        values = self.workspace.state(stack, result)
        result.outputs = self.outputs.remember(stack.name, values.get("outputs") or {})
        result.state_ids = sorted(set(state_ids(values.get("root_module") or {})))
        result.status = "ok"

    def plan_destroy(self, stack: Stack, result: StackResult) -> None:
        """Check mode with state absent: plan ``-destroy`` and report what would be deleted."""
        result.action = "plan-destroy"
        if self._already_empty(stack, result):
            result.status = "planned"
            return
        self.on_event(stack.name, "OK", "planning destroy (check mode)")
        has_changes = self._destroy_plan(stack, result)[0]
        result.changed = has_changes
        result.status = "planned"
        self.on_event(stack.name, "OK", f"plan-destroy: {counts_text(result.counts)}")

    def destroy(self, stack: Stack, result: StackResult) -> None:
        result.action = "destroy"
        if self._already_empty(stack, result):
            result.status = "ok"
            self.outputs.forget(stack.name)
            return
        self.on_event(stack.name, "OK", "planning destroy")
        if (self.gate is None or self.gate.mode == "off") and not self.workspace.diff:
            # Nothing needs the saved plan (no gate to show it to, no diff): one command plans and deletes.
            var_file = self._destroy_variables(stack, result)
            if var_file is not None:
                result.changed = self.workspace.destroy(stack, result, var_file)
        else:
            has_changes, plan_file = self._destroy_plan(stack, result)
            if has_changes and plan_file is not None:
                self.on_event(stack.name, "OK", f"destroying {counts_text(result.counts)}")
                self.workspace.apply_plan(stack, result, plan_file)
                result.changed = True
        result.status = "changed" if result.changed else "ok"
        self.outputs.forget(stack.name)
        self.on_event(stack.name, "OK", f"destroyed: {counts_text(result.counts)}")

    # --------------------------------------------------------------------------------------- helpers
    def read_outputs(self, stack: Stack, result: StackResult, plan_file: Path | None = None) -> dict[str, Any]:
        """The stack's current outputs into the store; the result gets them masked. With a saved plan, the
        state it was made against (``plan_outputs``) answers, else ``terraform output -json``."""
        current = self.workspace.plan_outputs(plan_file) if plan_file is not None else None
        if current is None:
            current = self.workspace.outputs(stack, result)
        result.outputs = self.outputs.remember(stack.name, current)
        return result.outputs

    def read_upstreams(
        self, names: Sequence[str], results: Mapping[str, StackResult], parallel: int = 1
    ) -> dict[str, str]:
        """Read the current outputs of stacks we only need values from, ``parallel`` at a time (the reads are
        independent: each stack has its own directory and state); returns the failures by stack."""

        def read(name: str) -> str | None:
            stack = self.graph[name]
            scratch = results.get(name) or StackResult(name)
            try:
                self.workspace.init(stack, scratch)
                self.read_outputs(stack, scratch)
            except TerraformError as exc:
                return str(exc)
            finally:
                self.workspace.cleanup(stack)
            return None

        with ThreadPoolExecutor(max_workers=max(1, min(parallel, len(names))), thread_name_prefix="read") as pool:
            answers = dict(zip(names, pool.map(read, names), strict=True))
        return {name: error for name, error in answers.items() if error is not None}

    def _gate(self, stack: Stack, result: StackResult, plan_file: Path) -> bool:
        """The gate's verdict on the saved plan into ``result.gate``; True when it blocks the apply."""
        if self.gate is None or self.gate.mode == "off":
            return False
        verdict = self.gate.evaluate(stack.name, self.workspace.show_plan(stack, result, plan_file))
        result.gate = verdict
        for severity, level in (("deny", "ERR"), ("warn", "WARN"), ("waived", "WARN")):
            for finding in verdict[severity]:
                message = f"[{finding['rule']}] {finding['address']}: {finding['reason']}"
                self.on_event(stack.name, level, f"plan gate {severity}: {message}")
        return self.gate.blocks(verdict)

    def _variables(self, stack: Stack, result: StackResult, assume_examples: bool) -> Path:
        upstream = self.outputs.upstream(stack, assume_examples, result.assumed_inputs)
        common = self.common_values
        if not stack.contract:
            # Common values go to the stacks that declare them, never as undeclared variables.
            common = {k: v for k, v in common.items() if k in self.declarations[stack.name].variables}
        values = stack_variables(stack, common, self.stack_values.get(stack.name, {}), upstream)
        return self.workspace.write_variables(stack, values)

    def _plan(self, stack: Stack, result: StackResult, assume_examples: bool) -> tuple[bool, Path]:
        self.workspace.init(stack, result)
        var_file = self._variables(stack, result, assume_examples)
        return self.workspace.plan(stack, result, var_file, destroy=False)

    def _already_empty(self, stack: Stack, result: StackResult) -> bool:
        """A dependent the destroy takes along (not named by the run) whose state holds nothing: done after one
        ``state list``, with no destroy plan (destroy.yml's second call meets the compute stacks its first call
        destroyed). Any other stack is planned as it is."""
        if stack.name not in self.check_empty_first or self.workspace.holds_resources(stack, result):
            return False
        result.counts = {}
        self.on_event(stack.name, "OK", "nothing to destroy: its state holds no resources (state list)")
        return True

    def _destroy_variables(self, stack: Stack, result: StackResult) -> Path | None:
        """The variables file of a destroy (init first), or None: an input cannot be resolved and the state holds
        no resources, so there is nothing to destroy."""
        self.workspace.init(stack, result)
        try:
            return self._variables(stack, result, assume_examples=True)
        except InputMissingError:
            if managed_resources(self.workspace.state(stack, result).get("root_module") or {}):
                raise
            result.counts = {}
            self.on_event(stack.name, "OK", "nothing to destroy: its state holds no resources")
            return None

    def _destroy_plan(self, stack: Stack, result: StackResult) -> tuple[bool, Path | None]:
        var_file = self._destroy_variables(stack, result)
        if var_file is None:
            return False, None
        return self.workspace.plan(stack, result, var_file, destroy=True)
