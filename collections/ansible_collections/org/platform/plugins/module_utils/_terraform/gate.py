# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The plan gate between a stack's plan and its apply (``policy/README.md`` in the repository).

``RunGate`` wraps one ``PlanGate`` (the policies, waivers and prices, compiled once per run) with the run's
choices: the mode (``enforce``: a deny stops the stack before apply, so its dependents are skipped as on a
failure; ``warn``: denies are reported and the apply goes on), the protected addresses per stack, the explicit
overrides and the cost thresholds. It sees the saved plan's ``show -json`` document in memory only; the gate's
messages are scrubbed of sensitive values by the gate itself.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._terraform.errors import StackRunnerError
from ansible_collections.org.platform.plugins.module_utils.plan_gate import GateResult, PlanGate, PolicyError
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import TerraformError

GATE_MODES = ("enforce", "warn", "off")


class GateDeniedError(TerraformError):
    """The plan gate denied a stack's plan: the stack is not applied (nor are its dependents)."""


def denial_text(result: GateResult) -> str:
    return "; ".join(finding.message for finding in result.denies)


class RunGate:
    """The plan gate of one run; ``evaluate`` per stack plan with changes."""

    def __init__(
        self,
        policy_dir: str | Path,
        mode: str = "enforce",
        environment: str | None = None,
        region: str | None = None,
        protected_addresses: Mapping[str, Sequence[str]] | None = None,
        protected_overrides: Sequence[str] = (),
        cost_warn_percent: float = 10.0,
        cost_deny_percent: float = 30.0,
    ):
        if mode not in GATE_MODES:
            raise StackRunnerError(f"gate must be one of {', '.join(GATE_MODES)}, not {mode!r}")
        if not Path(policy_dir).is_dir():
            raise StackRunnerError(f"policy_dir {str(policy_dir)!r} is not a directory")
        try:
            self.gate = PlanGate(policy_dir)
        except PolicyError as exc:
            raise StackRunnerError(f"plan gate: {exc}") from exc
        self.mode = mode
        self.environment = environment
        self.region = region
        self.protected_addresses = {k: list(v or []) for k, v in (protected_addresses or {}).items()}
        self.protected_overrides = list(protected_overrides)
        self.cost_warn_percent = float(cost_warn_percent)
        self.cost_deny_percent = float(cost_deny_percent)
        if not 0 <= self.cost_warn_percent <= self.cost_deny_percent:
            raise StackRunnerError(
                f"cost thresholds must satisfy 0 <= cost_warn_percent ({cost_warn_percent}) <= "
                f"cost_deny_percent ({cost_deny_percent})"
            )

    def evaluate(self, stack: str, plan: Mapping[str, Any]) -> dict[str, Any]:
        """The gate's verdict on one plan, as the per-stack result's ``gate`` entry; raises nothing on a deny."""
        started = time.monotonic()
        try:
            result = self.gate.evaluate(
                plan,
                stack=stack,
                environment=self.environment,
                region=self.region,
                protected_addresses=self.protected_addresses.get(stack, ()),
                protected_overrides=self.protected_overrides,
                cost_warn_percent=self.cost_warn_percent,
                cost_deny_percent=self.cost_deny_percent,
            )
        except PolicyError as exc:
            raise TerraformError(f"plan gate: {exc}") from exc
        verdict = result.as_dict()
        verdict["mode"] = self.mode
        verdict["duration_ms"] = round((time.monotonic() - started) * 1000, 1)
        verdict["summary"] = denial_text(result)
        return verdict

    def blocks(self, verdict: Mapping[str, Any]) -> bool:
        return self.mode == "enforce" and not verdict["passed"]
