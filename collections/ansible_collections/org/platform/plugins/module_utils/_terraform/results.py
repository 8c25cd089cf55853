# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What a run reports: one ``StackResult`` per stack and the ``RunReport`` around them."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class StackResult:
    name: str
    action: str = "none"  # apply, destroy, plan, plan-destroy, read
    status: str = "pending"  # ok, changed, planned, deferred, failed, skipped; drift: clean, pending, drifted
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
    gate: dict[str, Any] | None = None  # the plan gate's verdict on the stack's plan (gate.py)
    drift: dict[str, Any] | None = None  # state: drift, the stack's classification (drift.py)

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
    drift: dict[str, dict[str, Any]] | None = None  # state: drift, per stack
    drift_files: list[str] = field(default_factory=list)  # state: drift, the JSON and Markdown reports

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
    def denied(self) -> list[str]:
        """Stacks whose plan an enforcing gate denied (failed when applying; planned, in check mode)."""
        return [
            n
            for n in self.order
            if (g := self.results[n].gate) is not None and not g["passed"] and g.get("mode") == "enforce"
        ]

    @property
    def not_clean(self) -> list[str]:
        """state: drift, the stacks that drifted, have pending changes or errored."""
        return [n for n in self.order if self.drift is not None and self.drift[n]["status"] != "clean"]

    @property
    def ok(self) -> bool:
        """False when anything failed, was not run because of a failure, the run was interrupted, or (check
        mode) the gate would deny an apply."""
        if self.drift is not None:
            return not (self.not_clean or self.interrupted)
        return not (self.failed or self.skipped or self.read_failures or self.interrupted or self.denied)

    def failure_message(self) -> str:
        """Root causes first, then what they stopped."""
        if self.drift is not None:
            parts = [
                f"{n}: {self.drift[n]['status']}"
                + (f" ({self.drift[n]['error']})" if self.drift[n].get("error") else "")
                for n in self.not_clean
            ]
            if self.interrupted:
                parts.append("interrupted (SIGINT)")
            return f"drift found: {'; '.join(parts)}; report {', '.join(self.drift_files)}. Per stack: {self.summary()}"
        causes = [f"{n} ({self.results[n].error})" for n in self.failed]
        causes += [
            f"{n} (plan gate would deny the apply: {self.results[n].gate['summary']})"
            for n in self.denied
            if self.results[n].status != "failed"
        ]
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
            gate = ""
            if r.gate is not None:
                gate = f"; gate {'passed' if r.gate['passed'] else 'DENIED'}"
                gate += "".join(f", {len(r.gate[k])} {k}" for k in ("deny", "warn", "waived") if r.gate[k])
            parts.append(f"{name}{label}: {r.status} ({r.action}; {counts}{gate})")
        return "; ".join(parts)


def counts_text(counts: Mapping[str, int]) -> str:
    """``create 2, delete 1`` (no-ops left out), or ``no changes``."""
    return ", ".join(f"{a} {c}" for a, c in counts.items() if a != "noop") or "no changes"
