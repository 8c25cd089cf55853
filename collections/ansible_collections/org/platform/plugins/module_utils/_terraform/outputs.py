# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The output store: each stack's output values for the stacks downstream of it, and their masked copies.

The real values stay in the store (downstream variables need them); results only ever get the masked copy,
and the strings inside every sensitive value are handed to the engine so no log carries them. While
planning, a stack with changes is *pending*: its outputs may be unknown until it is applied, so a
downstream plan takes its planned values, else today's, else the contract's ``example`` (Terragrunt's
``mock_outputs``), reported as assumed inputs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._terraform.errors import (
    InputMissingError,
    UnknownInputError,
)
from ansible_collections.org.platform.plugins.module_utils.stack_graph import Stack, StackGraph
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import MASK, secret_strings


class OutputStore:
    """Thread-safe: stacks of one run remember and read outputs from the scheduler's worker threads."""

    def __init__(self, graph: StackGraph, add_secrets: Callable[[Iterable[str]], None]):
        self.graph = graph
        self._add_secrets = add_secrets
        self._values: dict[str, dict[str, Any]] = {}  # real values, never returned as is
        self._pending: set[str] = set()  # planning: stacks whose plan has changes (outputs may be unknown)
        self._lock = threading.Lock()

    def remember(self, stack: str, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Keep ``{name: {value, sensitive}}`` outputs for downstream stacks; returns them masked."""
        values = {name: item.get("value") for name, item in raw.items()}
        sensitive = {name for name, item in raw.items() if item.get("sensitive")}
        for name in sensitive:
            self._add_secrets(secret_strings(values[name]))
        with self._lock:
            self._values[stack] = values
        return {name: (MASK if name in sensitive else value) for name, value in values.items()}

    def remember_planned(self, stack: str, planned: Mapping[str, Any], output_changes: Mapping[str, str]) -> None:
        """Take the known values of a saved plan's ``planned_values.outputs`` over today's outputs."""
        known = {name: item["value"] for name, item in planned.items() if "value" in item}
        for name, item in planned.items():
            if item.get("sensitive") and name in known:
                self._add_secrets(secret_strings(known[name]))
        with self._lock:
            current = self._values.get(stack, {})
            # An output the plan changes but cannot know yet must not be taken from today's state.
            stale = {name for name in output_changes if name not in known}
            self._values[stack] = {k: v for k, v in current.items() if k not in stale} | known

    def forget(self, stack: str) -> None:
        with self._lock:
            self._values.pop(stack, None)

    def mark_pending(self, stack: str) -> None:
        with self._lock:
            self._pending.add(stack)

    def upstream(self, stack: Stack, assume_examples: bool, assumed: list[str]) -> dict[str, dict[str, Any]]:
        """The upstream outputs ``stack``'s wired inputs need, by upstream; inputs taken from the contract's
        examples are appended to ``assumed``.

        Raises UnknownInputError (planning: known only once a pending upstream is applied) or
        InputMissingError (the upstream's state does not have it).
        """
        upstream: dict[str, dict[str, Any]] = {}
        for ref in stack.inputs.values():
            with self._lock:
                # Another input from the same upstream may have taken an example already: build on that.
                known = upstream.get(ref.stack, self._values.get(ref.stack))
                upstream_pending = ref.stack in self._pending
            if known is None or ref.output not in known:
                example = self.graph[ref.stack].outputs.get(ref.output)
                if assume_examples and example is not None and example.example is not None:
                    known = {**(known or {}), ref.output: example.example}
                    assumed.append(str(ref))
                elif assume_examples and upstream_pending:
                    raise UnknownInputError(f"input {ref} is unknown until {ref.stack} is applied")
                else:
                    raise InputMissingError(
                        f"input {ref}: stack {ref.stack} has no output {ref.output!r} in its state "
                        f"(declared, but not set: was {ref.stack} applied from these files?)"
                    )
            upstream[ref.stack] = known
        return upstream
