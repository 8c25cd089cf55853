# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Everything the runner checks before any Terraform command runs (bad input fails here, nothing changed).

Every stack must declare ``backend "s3" {}``, every value given must be for a variable its files declare (and,
for a contract stack, fit the declared type), every required variable must have a value, and every wired input
must name an output its upstream declares. The declarations are read offline from the stack's ``*.tf`` and
``*.tf.json`` files.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._terraform.backend import BackendConfig
from ansible_collections.org.platform.plugins.module_utils._terraform.config import (
    TerraformStaticError,
    load_module,
)
from ansible_collections.org.platform.plugins.module_utils._terraform.errors import StackRunnerError
from ansible_collections.org.platform.plugins.module_utils.stack_graph import Stack, StackGraph, type_errors


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


@dataclass(frozen=True)
class RunInputs:
    """What a run is given: the graph, where its state goes and the inventory's values."""

    graph: StackGraph
    environment: str
    backend: BackendConfig
    work_root: Path
    common_values: Mapping[str, Any]
    stack_values: Mapping[str, Mapping[str, Any]]


def validate(given: RunInputs) -> dict[str, Declarations]:
    """Check every stack of the graph against its own files; returns their declarations by stack name."""
    for name in given.stack_values:
        if name not in given.graph:
            raise StackRunnerError(f"variables given for unknown stack {name!r}")
    declarations = {}
    for name, stack in given.graph.stacks.items():
        declarations[name] = declared = _stack_files(given, stack)
        check_backend(given, stack, declared)
        _check_declared(stack, declared, given.stack_values.get(name, {}))
        if stack.contract:
            _check_contract_values(given, stack)
    # Every wired input names an output its upstream declares: knowable before anything runs.
    for name, stack in given.graph.stacks.items():
        for var, ref in sorted(stack.inputs.items()):
            outputs = declarations[ref.stack].outputs
            if ref.output not in outputs:
                raise StackRunnerError(
                    f"stack {name!r} variable {var!r} comes from {ref}, but stack {ref.stack!r} declares no "
                    f"output {ref.output!r} (its outputs: {', '.join(sorted(outputs)) or 'none'})"
                )
    return declarations


def _stack_files(given: RunInputs, stack: Stack) -> Declarations:
    name = stack.name
    if not stack.path.is_dir():
        raise StackRunnerError(f"stack {name!r}: directory {stack.path} does not exist")
    if not any(stack.path.glob("*.tf")) and not any(stack.path.glob("*.tf.json")):
        raise StackRunnerError(f"stack {name!r}: no Terraform files in {stack.path}")
    if given.work_root.resolve().is_relative_to(stack.path.resolve()):
        raise StackRunnerError(
            f"work_dir {given.work_root.parent} is inside stack {name!r}'s directory {stack.path}; "
            "the runner's data dirs and plans must stay out of the stacks' source"
        )
    try:
        return stack_declarations(stack.path)
    except TerraformStaticError as exc:
        raise StackRunnerError(f"stack {name!r}: {exc}") from exc


def _check_declared(stack: Stack, declared: Declarations, own: Mapping[str, Any]) -> None:
    """Values and wired inputs only for variables the stack's files declare."""
    name = stack.name
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


def _check_contract_values(given: RunInputs, stack: Stack) -> None:
    """Catch undeclared or mistyped inventory values before anything runs; wired inputs are checked when
    their upstream's outputs are known."""
    name = stack.name
    own = given.stack_values.get(name, {})
    for var in own:
        spec = stack.variables.get(var)
        if spec is None:
            raise StackRunnerError(f"stack {name!r} declares no variable {var!r}")
        if spec.source is not None:
            raise StackRunnerError(f"stack {name!r} variable {var!r} comes from {spec.source}")
    missing = [
        v
        for v, spec in stack.variables.items()
        if spec.source is None and not spec.has_default and v not in own and v not in given.common_values
    ]
    if missing:
        raise StackRunnerError(f"stack {name!r}: no value for required variable(s) {', '.join(missing)}")
    errors = [
        error
        for var, value in {**given.common_values, **own}.items()
        if var in stack.variables
        for error in type_errors(value, stack.variables[var].type, f"stack {name!r} variable {var!r}")
    ]
    if errors:
        raise StackRunnerError("; ".join(errors))


def check_backend(given: RunInputs, stack: Stack, declared: Declarations) -> None:
    """Refuse a stack whose state would not go to the configured S3 backend (e.g. a local tfstate)."""
    where = f"{given.backend.bucket}/{given.backend.key(given.environment, stack.name)}"
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
