# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Static view of Terraform configurations: parse HCL offline, resolve references, check the contract.

Nothing here needs a provider or the network. ``load_module`` parses every ``*.tf`` file of one
directory with python-hcl2 into a ``TerraformModule``; ``check_references`` reports references to
variables, locals, resources, data sources, modules and module outputs that do not exist (and module
calls passing unknown or missing arguments); ``check_contract`` compares a stack with its entry in
``terraform/stacks.yml``; ``fmt_check`` runs ``terraform fmt -check`` through the bundled engine.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ansible_collections.org.platform.plugins.module_utils._terraform.config import (
    TerraformModule,
    TerraformStaticError,
    load_module,
    parse_hcl,
)
from ansible_collections.org.platform.plugins.module_utils._terraform.launcher import run_bundled
from ansible_collections.org.platform.plugins.module_utils.constants import REQUIRED_TAG_KEYS
from ansible_collections.org.platform.plugins.module_utils.stack_graph import load_contract

__all__ = [
    "REQUIRED_TAG_KEYS",
    "Finding",
    "TerraformModule",
    "TerraformStaticError",
    "load_contract",
    "load_module",
    "parse_hcl",
]


@dataclass(frozen=True)
class Finding:
    """One problem found by a static check or a policy rule."""

    rule: str
    module: str
    address: str
    message: str

    def __str__(self) -> str:
        return f"[{self.rule}] {self.module}: {self.address}: {self.message}"


def iter_module_dirs(root: Path | str) -> Iterator[Path]:
    """Every directory under ``root`` that holds ``*.tf`` files, skipping ``.terraform``."""
    for directory, subdirs, files in os.walk(root):
        subdirs[:] = sorted(d for d in subdirs if not d.startswith("."))
        if any(name.endswith(".tf") for name in files):
            yield Path(directory)


# --------------------------------------------------------------------------------------------------
# Expressions
# --------------------------------------------------------------------------------------------------


def expression_text(value: str) -> str:
    """The expression parts of a (template) string: text inside ``${...}``, string literals blanked.

    ``"${local.name}-nat"`` gives ``local.name``; ``${merge(module.tags.tags, {Name = "a.b"})}`` gives
    ``merge(module.tags.tags, {Name =  })``. Interpolations nested in string literals are kept.
    """
    out: list[str] = []
    modes = ["template"]  # template | expr | string
    depth: list[int] = []  # brace depth within each expr
    index = 0
    while index < len(value):
        char = value[index]
        mode = modes[-1]
        if mode in ("template", "string"):
            if char == "\\":
                index += 2
                continue
            if value.startswith("${", index):
                modes.append("expr")
                depth.append(0)
                out.append(" ")
                index += 2
                continue
            if mode == "string" and char == '"':
                modes.pop()
            index += 1
            continue
        # expression mode
        if char == '"':
            modes.append("string")
            out.append(" ")
        elif char == "{":
            depth[-1] += 1
            out.append(char)
        elif char == "}":
            if depth[-1] == 0:
                modes.pop()
                depth.pop()
                out.append(" ")
            else:
                depth[-1] -= 1
                out.append(char)
        else:
            out.append(char)
        index += 1
    return "".join(out)


_VAR = re.compile(r"(?<![\w.])var\.([A-Za-z_][\w-]*)")
_LOCAL = re.compile(r"(?<![\w.])local\.([A-Za-z_][\w-]*)")
_MODULE = re.compile(r"(?<![\w.])module\.([A-Za-z_][\w-]*)(?:\[[^\]]*\])?(?:\.([A-Za-z_][\w-]*))?")
_DATA = re.compile(r"(?<![\w.])data\.([A-Za-z_][\w-]*)\.([A-Za-z_][\w-]*)")
_RESOURCE = re.compile(r"(?<![\w.\"])((?:aws|terraform|random|tls|null|time)_[a-z0-9_]*)\.([A-Za-z_][\w-]*)")


@dataclass(frozen=True)
class References:
    variables: frozenset[str]
    locals: frozenset[str]
    modules: frozenset[tuple[str, str | None]]
    data: frozenset[str]
    resources: frozenset[str]


def references(value: Any) -> References:
    """Every variable, local, module (with output), data source and resource referenced in ``value``."""
    texts = [expression_text(text) for text in iter_strings(value)]
    joined = "\n".join(texts)
    resources = {f"{kind}.{name}" for kind, name in _RESOURCE.findall(joined) if kind != "terraform_remote_state"}
    return References(
        variables=frozenset(_VAR.findall(joined)),
        locals=frozenset(_LOCAL.findall(joined)),
        modules=frozenset((name, output or None) for name, output in _MODULE.findall(joined)),
        data=frozenset(f"{kind}.{name}" for kind, name in _DATA.findall(joined)),
        resources=frozenset(resources),
    )


def iter_strings(value: Any) -> Iterator[str]:
    """Every string in a parsed value, keys of dicts included (object keys may be expressions)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from iter_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from iter_strings(item)


def refers_to(value: Any, reference: str) -> bool:
    """Whether ``reference`` (e.g. ``var.vpc_cidr``) appears as a reference in the expression(s)."""
    pattern = re.compile(r"(?<![\w.])" + re.escape(reference) + r"(?![\w-])")
    return any(pattern.search(expression_text(text)) for text in iter_strings(value))


def literal(value: Any, module: TerraformModule | None = None) -> Any:
    """A literal value, following ``${local.x}`` one level when the local is itself literal; else None."""
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        match = re.fullmatch(r"\$\{local\.([A-Za-z_][\w-]*)\}", value)
        if match and module is not None and match.group(1) in module.locals:
            return literal(module.locals[match.group(1)], None)
        if "${" in value:
            return None
        return value
    return None


def type_expression(value: Any) -> str:
    """A variable's type as written, without the ``${}`` wrapper and whitespace."""
    text = str(value or "any")
    if text.startswith("${") and text.endswith("}"):
        text = text[2:-1]
    return re.sub(r"\s+", "", text)


# --------------------------------------------------------------------------------------------------
# Reference resolution
# --------------------------------------------------------------------------------------------------


def _bodies(module: TerraformModule) -> Iterator[tuple[str, Any]]:
    for name, body in module.outputs.items():
        yield f"output.{name}", body
    for name, body in module.locals.items():
        yield f"local.{name}", body
    for address, body in module.resources.items():
        yield address, body
    for address, body in module.data.items():
        yield f"data.{address}", body
    for name, body in module.modules.items():
        yield f"module.{name}", body
    for index, body in enumerate(module.providers):
        yield f"provider[{index}]", body
    for name, body in module.variables.items():
        # validation blocks may only refer to their own variable
        yield f"var.{name}", body.get("validation", [])


def check_references(module: TerraformModule) -> list[Finding]:
    """References that do not resolve, and module calls that do not match the called module."""
    findings: list[Finding] = []
    child_cache: dict[str, TerraformModule | None] = {}

    def child(name: str) -> TerraformModule | None:
        if name not in child_cache:
            child_cache[name] = module.child_module(name)
        return child_cache[name]

    def report(address: str, message: str) -> None:
        findings.append(Finding("references", str(module.path), address, message))

    for address, body in _bodies(module):
        refs = references(body)
        for name in sorted(refs.variables - module.variables.keys()):
            report(address, f"var.{name} is not declared")
        for name in sorted(refs.locals - module.locals.keys()):
            report(address, f"local.{name} is not declared")
        for name in sorted(refs.data - module.data.keys()):
            report(address, f"data.{name} is not declared")
        for name in sorted(refs.resources - module.resources.keys()):
            report(address, f"{name} is not declared")
        for name, output in sorted(refs.modules, key=lambda ref: (ref[0], ref[1] or "")):
            if name not in module.modules:
                report(address, f"module.{name} is not declared")
                continue
            called = child(name)
            if output and called is not None and output not in called.outputs:
                report(address, f"module.{name} has no output {output!r}")

    meta_arguments = {"source", "version", "count", "for_each", "providers", "depends_on"}
    for name, body in module.modules.items():
        called = child(name)
        if called is None:
            if not module.module_source(name):
                report(f"module.{name}", "module call has no source")
            continue
        passed = set(body) - meta_arguments
        for argument in sorted(passed - called.variables.keys()):
            report(f"module.{name}", f"argument {argument!r} is not a variable of {called.path.name}")
        required = {var for var, spec in called.variables.items() if "default" not in spec}
        for argument in sorted(required - passed):
            report(f"module.{name}", f"required variable {argument!r} of {called.path.name} is not passed")
    return findings


# --------------------------------------------------------------------------------------------------
# Contract (terraform/stacks.yml)
# --------------------------------------------------------------------------------------------------


def contract_variables(contract: dict[str, Any], stack: str) -> dict[str, dict[str, Any]]:
    """common_variables plus the stack's own variables."""
    variables = dict(contract.get("common_variables") or {})
    variables.update(contract["stacks"][stack].get("variables") or {})
    return variables


def check_contract(module: TerraformModule, contract: dict[str, Any], stack: str) -> list[Finding]:
    """Exactly the contract's variables (names, types, defaults), at least its outputs (sensitivity too)."""
    findings: list[Finding] = []

    def report(address: str, message: str) -> None:
        findings.append(Finding("contract", str(module.path), address, message))

    if stack not in contract["stacks"]:
        report(stack, "stack is not in the contract")
        return findings
    expected_vars = contract_variables(contract, stack)
    for name in sorted(expected_vars.keys() - module.variables.keys()):
        report(f"var.{name}", "declared by the contract but not by the stack")
    for name in sorted(module.variables.keys() - expected_vars.keys()):
        report(f"var.{name}", "declared by the stack but not by the contract")
    for name in sorted(expected_vars.keys() & module.variables.keys()):
        spec, declared = expected_vars[name], module.variables[name]
        if type_expression(spec.get("type")) != type_expression(declared.get("type")):
            report(f"var.{name}", f"type {declared.get('type')!r} differs from contract {spec.get('type')!r}")
        if ("default" in spec) != ("default" in declared):
            report(f"var.{name}", "default present in one of stack/contract only")
        elif "default" in spec and spec["default"] != declared["default"]:
            report(f"var.{name}", f"default {declared['default']!r} differs from contract {spec['default']!r}")
    expected_outputs = contract["stacks"][stack].get("outputs") or {}
    for name in sorted(expected_outputs.keys() - module.outputs.keys()):
        report(f"output.{name}", "promised by the contract but not declared")
    for name in sorted(expected_outputs.keys() & module.outputs.keys()):
        if bool(expected_outputs[name].get("sensitive")) and module.outputs[name].get("sensitive") is not True:
            report(f"output.{name}", "contract marks it sensitive; the stack does not")
    return findings


def check_wiring(contract: dict[str, Any]) -> list[Finding]:
    """Every ``from: <stack>.<output>[.<key>]`` names a declared upstream stack and output."""
    findings: list[Finding] = []
    stacks = contract["stacks"]
    for stack, spec in stacks.items():
        for name, variable in (spec.get("variables") or {}).items():
            source = variable.get("from")
            if not source:
                continue
            upstream, _, rest = str(source).partition(".")
            output = rest.split(".", 1)[0]
            address = f"{stack}.var.{name}"
            if upstream not in stacks:
                findings.append(Finding("contract", "stacks.yml", address, f"from {source}: unknown stack"))
            elif output not in (stacks[upstream].get("outputs") or {}):
                findings.append(Finding("contract", "stacks.yml", address, f"from {source}: no such output"))
            elif upstream not in (spec.get("depends_on") or []):
                findings.append(Finding("contract", "stacks.yml", address, f"from {source}: not in depends_on"))
    return findings


_CONSUMED_OUTPUT = re.compile(
    r"""outputs\s*\[\s*['"](?P<stack>\d\d-[\w-]+)['"]\s*\]\s*(?:\.(?P<attr>[A-Za-z_]\w*)|\[\s*['"](?P<key>[\w-]+)['"]\s*\])"""
)


def consumed_outputs(text: str) -> set[tuple[str, str]]:
    """``(stack, output)`` pairs a playbook/role reads from the stack runner's ``outputs`` result.

    Recognises ``<result>.outputs['60-db'].db_endpoint`` and ``<result>.outputs["60-db"]["db_endpoint"]``.
    """
    return {
        (match.group("stack"), match.group("attr") or match.group("key")) for match in _CONSUMED_OUTPUT.finditer(text)
    }


def check_consumed_outputs(contract: dict[str, Any], consumed: set[tuple[str, str]], where: str) -> list[Finding]:
    """Every consumed output is declared by the producing stack in the contract."""
    findings = []
    for stack, output in sorted(consumed):
        if stack not in contract["stacks"]:
            findings.append(Finding("contract", where, f"{stack}.{output}", "consumed from an unknown stack"))
        elif output not in (contract["stacks"][stack].get("outputs") or {}):
            findings.append(Finding("contract", where, f"{stack}.{output}", "consumed but not declared by the stack"))
    return findings


# --------------------------------------------------------------------------------------------------
# terraform fmt through the bundled engine
# --------------------------------------------------------------------------------------------------


def fmt_check(path: Path | str) -> tuple[bool, str]:
    """``terraform fmt -check -recursive -diff`` via the bundled engine: (clean, diff or error text)."""
    rc, stdout, stderr = run_bundled("fmt", ["-check", "-recursive", "-diff", str(path)])
    return rc == 0, f"{stdout}{stderr}"
