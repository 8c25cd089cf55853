# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stack graph: which Terraform stacks exist, what each depends on, and how outputs feed variables.

Plain Python, no Ansible: the ``terraform_stacks`` module, the twin renderer and the tests use it.
A graph comes either from the contract file (``terraform/stacks.yml``) or from an inline list of
stacks. Everything here is pure: loading validates, ordering is deterministic, errors name the problem.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

STACK_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
IDENTIFIER_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]*$")


class StackGraphError(ValueError):
    """The stack graph or the values given for it are invalid."""


# --------------------------------------------------------------------------------------------------
# Terraform type constraints (the subset the contract uses): string, number, bool, any,
# list(T), set(T), map(T), object({...}) is not used by the contract.
# --------------------------------------------------------------------------------------------------

_TYPE_RE = re.compile(r"^\s*(string|number|bool|any|list|set|map)\s*(?:\((.*)\))?\s*$")


def parse_type(expr: str) -> tuple:
    """Parse a type constraint into a tuple tree: ("string",), ("list", ("string",)), ..."""
    match = _TYPE_RE.match(expr or "")
    if not match:
        raise StackGraphError(f"unsupported type constraint {expr!r}")
    kind, inner = match.group(1), match.group(2)
    if kind in ("list", "set", "map"):
        if inner is None:
            raise StackGraphError(f"type {expr!r}: {kind} needs an element type, e.g. {kind}(string)")
        return (kind, parse_type(inner))
    if inner is not None:
        raise StackGraphError(f"type {expr!r}: {kind} takes no element type")
    return (kind,)


def type_errors(value: Any, expr: str, where: str = "value") -> list[str]:
    """Why ``value`` does not conform to the type constraint ``expr`` (empty when it does).

    The one type checker of the collection (the runner, the contract loader and the preflight's
    ``stack_vars`` use it), with Terraform's own conversion rules for a variable value: a number or a
    bool converts to ``string``; a string converts to ``number`` when it is a decimal number and to
    ``bool`` when it is ``"true"`` or ``"false"``; a bool is never a number and a number never a bool.
    Collections convert element by element (a list or tuple to ``list``/``set``, a mapping to ``map``).
    """
    return _type_errors(value, parse_type(expr), where)


def conforms(value: Any, expr: str) -> bool:
    """Whether Terraform accepts ``value`` for a variable of type ``expr`` (see ``type_errors``)."""
    return not type_errors(value, expr)


def convert(value: Any, expr: str) -> Any:
    """``value`` converted to the type ``expr`` the way Terraform converts a variable value.

    ``"3"`` for a number is 3, ``true`` for a string is ``"true"``, element by element in collections; a
    value that does not conform (``type_errors``) raises StackGraphError naming the problem.
    """
    errors = type_errors(value, expr)
    if errors:
        raise StackGraphError("; ".join(errors))
    return _convert(value, parse_type(expr))


def _convert(value: Any, tree: tuple) -> Any:
    kind = tree[0]
    if kind == "string" and not isinstance(value, str):
        return ("true" if value else "false") if isinstance(value, bool) else _number_text(value)
    if kind == "number" and isinstance(value, str):
        number = float(value.strip())
        return int(number) if number.is_integer() and not any(c in value for c in ".eE") else number
    if kind == "bool" and isinstance(value, str):
        return value == "true"
    if kind in ("list", "set"):
        return [_convert(item, tree[1]) for item in value]
    if kind == "map":
        return {key: _convert(item, tree[1]) for key, item in value.items()}
    return value


def _number_text(value: float) -> str:
    """A number as Terraform writes it as a string: 3, 2.5 (no trailing .0)."""
    return str(int(value)) if float(value).is_integer() else repr(float(value))


# What Terraform's string-to-number conversion accepts (cty: a decimal number, no inf/nan/hex).
_NUMBER_TEXT_RE = re.compile(r"^-?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _type_errors(value: Any, tree: tuple, where: str) -> list[str]:
    kind = tree[0]
    if kind == "any":
        return []
    if kind == "string":
        ok = isinstance(value, (str, bool)) or _is_number(value)
        return [] if ok else [f"{where}: expected string, got {type(value).__name__}"]
    if kind == "number":
        ok = _is_number(value) or (isinstance(value, str) and bool(_NUMBER_TEXT_RE.fullmatch(value.strip())))
        return [] if ok else [f"{where}: expected number, got {value!r}"]
    if kind == "bool":
        ok = isinstance(value, bool) or value in ("true", "false")
        return [] if ok else [f"{where}: expected bool, got {value!r}"]
    if kind in ("list", "set"):
        if not isinstance(value, (list, tuple)):
            return [f"{where}: expected {kind}, got {type(value).__name__}"]
        return [e for i, item in enumerate(value) for e in _type_errors(item, tree[1], f"{where}[{i}]")]
    if kind == "map":
        if not isinstance(value, Mapping):
            return [f"{where}: expected map, got {type(value).__name__}"]
        return [e for k, item in value.items() for e in _type_errors(item, tree[1], f"{where}[{k!r}]")]
    raise StackGraphError(f"unsupported type {kind}")


# --------------------------------------------------------------------------------------------------
# The graph
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OutputRef:
    """``<stack>.<output>[.<key>...]``: a value taken from an upstream stack's output."""

    stack: str
    output: str
    path: tuple[str, ...] = ()

    @classmethod
    def parse(cls, text: str, where: str) -> OutputRef:
        if not isinstance(text, str) or "." not in text:
            raise StackGraphError(f"{where}: {text!r} is not of the form <stack>.<output>[.<key>...]")
        stack, output, *path = text.split(".")
        if not STACK_NAME_RE.fullmatch(stack) or not IDENTIFIER_RE.fullmatch(output):
            raise StackGraphError(f"{where}: {text!r} is not of the form <stack>.<output>[.<key>...]")
        return cls(stack, output, tuple(path))

    def __str__(self) -> str:
        return ".".join((self.stack, self.output, *self.path))

    def resolve(self, outputs: Mapping[str, Any]) -> Any:
        """The referenced value from ``outputs`` (the upstream's output values by name)."""
        if self.output not in outputs:
            raise StackGraphError(f"stack {self.stack} has no output {self.output!r} (needed as {self})")
        value = outputs[self.output]
        for key in self.path:
            if isinstance(value, Mapping) and key in value:
                value = value[key]
            elif isinstance(value, list) and key.isdigit() and int(key) < len(value):
                value = value[int(key)]
            else:
                raise StackGraphError(f"output {self.stack}.{self.output} has no element {key!r} (needed as {self})")
        return value


@dataclass(frozen=True)
class VariableSpec:
    name: str
    type: str = "any"
    description: str = ""
    has_default: bool = False
    default: Any = None
    source: OutputRef | None = None


@dataclass(frozen=True)
class OutputSpec:
    name: str
    type: str = "any"
    description: str = ""
    example: Any = None
    sensitive: bool = False


@dataclass(frozen=True)
class Stack:
    name: str
    path: Path
    depends_on: tuple[str, ...] = ()
    variables: Mapping[str, VariableSpec] = field(default_factory=dict)
    outputs: Mapping[str, OutputSpec] = field(default_factory=dict)
    description: str = ""
    # True when variables/outputs come from a contract (so unknown variables can be rejected).
    contract: bool = False

    @property
    def inputs(self) -> dict[str, OutputRef]:
        """Variables wired from upstream outputs."""
        return {name: spec.source for name, spec in self.variables.items() if spec.source is not None}


class StackGraph:
    """A validated DAG of stacks."""

    def __init__(self, stacks: Iterable[Stack]):
        self.stacks: dict[str, Stack] = {}
        for stack in stacks:
            if stack.name in self.stacks:
                raise StackGraphError(f"stack {stack.name!r} is defined twice")
            self.stacks[stack.name] = stack
        self._validate()

    def __contains__(self, name: str) -> bool:
        return name in self.stacks

    def __getitem__(self, name: str) -> Stack:
        return self.stacks[name]

    def _validate(self) -> None:
        for stack in self.stacks.values():
            for dep in stack.depends_on:
                if dep not in self.stacks:
                    raise StackGraphError(f"stack {stack.name!r} depends on unknown stack {dep!r}")
                if dep == stack.name:
                    raise StackGraphError(f"stack {stack.name!r} depends on itself")
            for var, ref in stack.inputs.items():
                if ref.stack not in stack.depends_on:
                    raise StackGraphError(
                        f"stack {stack.name!r} variable {var!r} comes from {ref} but {ref.stack!r} is not in its depends_on"
                    )
                upstream = self.stacks[ref.stack]
                if upstream.contract and ref.output not in upstream.outputs:
                    raise StackGraphError(
                        f"stack {stack.name!r} variable {var!r} comes from {ref}, which stack {ref.stack!r} does not declare"
                    )
        self.order()  # a dependency cycle is refused here

    def order(self, names: Iterable[str] | None = None) -> list[str]:
        """Dependency order (upstreams first), ties broken by name; restricted to ``names`` if given.

        ``graphlib.TopologicalSorter`` in waves: every stack whose dependencies are all placed, by name.
        """
        sorter: TopologicalSorter[str] = TopologicalSorter()
        for name in sorted(self.stacks):
            sorter.add(name, *self.stacks[name].depends_on)
        try:
            sorter.prepare()
        except CycleError as exc:
            raise StackGraphError(f"dependency cycle: {' -> '.join(_dependency_cycle(exc.args[1]))}") from None
        placed: list[str] = []
        while sorter.is_active():
            wave = sorted(sorter.get_ready())
            placed += wave
            sorter.done(*wave)
        wanted = set(self.stacks if names is None else names)
        return [n for n in placed if n in wanted]

    def reverse_order(self, names: Iterable[str] | None = None) -> list[str]:
        return list(reversed(self.order(names)))

    def dependents(self, name: str) -> set[str]:
        """Every stack that depends on ``name``, directly or not."""
        found: set[str] = set()
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for other in self.stacks.values():
                if current in other.depends_on and other.name not in found:
                    found.add(other.name)
                    frontier.append(other.name)
        return found

    def dependencies(self, name: str) -> set[str]:
        """Every stack ``name`` depends on, directly or not."""
        found: set[str] = set()
        frontier = [name]
        while frontier:
            for dep in self.stacks[frontier.pop()].depends_on:
                if dep not in found:
                    found.add(dep)
                    frontier.append(dep)
        return found

    def select(self, only: Iterable[str] = (), exclude: Iterable[str] = (), destroying: bool = False) -> list[str]:
        """The stacks to act on, in the order of the action.

        Destroying a stack means destroying its dependents first, so for ``destroying`` the selection
        grows to include every dependent of a selected stack (an excluded dependent is an error, since
        destroying under it would break it).
        """
        only, exclude = list(only), list(exclude)
        for name in [*only, *exclude]:
            if name not in self.stacks:
                raise StackGraphError(f"unknown stack {name!r} (known: {', '.join(self.order())})")
        selected = set(only or self.stacks) - set(exclude)
        if destroying:
            for name in list(selected):
                blocked = self.dependents(name) & set(exclude)
                if blocked:
                    raise StackGraphError(
                        f"cannot destroy {name!r} while excluded dependent(s) {', '.join(sorted(blocked))} remain"
                    )
                selected |= self.dependents(name)
            return self.reverse_order(selected)
        return self.order(selected)


def _dependency_cycle(found: Sequence[str]) -> list[str]:
    """graphlib's cycle (``[a, c, b, a]``: each node is depended on by the next) as ``a -> b -> c -> a`` (each
    depends on the next), starting at the first name in sort order, so the message does not depend on input order."""
    cycle = list(reversed(found))[:-1]
    start = cycle.index(min(cycle))
    cycle = cycle[start:] + cycle[:start]
    return [*cycle, cycle[0]]


# --------------------------------------------------------------------------------------------------
# Loading
# --------------------------------------------------------------------------------------------------


def _variable_specs(raw: Any, where: str) -> dict[str, VariableSpec]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise StackGraphError(f"{where}: variables must be a mapping")
    specs = {}
    for name, spec in raw.items():
        if not IDENTIFIER_RE.fullmatch(str(name)):
            raise StackGraphError(f"{where}: invalid variable name {name!r}")
        spec = spec or {}
        if not isinstance(spec, Mapping):
            raise StackGraphError(f"{where}.{name}: must be a mapping")
        vtype = spec.get("type", "any")
        parse_type(vtype)
        source = OutputRef.parse(spec["from"], f"{where}.{name}.from") if spec.get("from") else None
        if "default" in spec:
            errors = type_errors(spec["default"], vtype, f"{where}.{name}.default")
            if errors:
                raise StackGraphError("; ".join(errors))
        specs[name] = VariableSpec(
            name=name,
            type=vtype,
            description=str(spec.get("description", "")),
            has_default="default" in spec,
            default=spec.get("default"),
            source=source,
        )
    return specs


def _output_specs(raw: Any, where: str) -> dict[str, OutputSpec]:
    if raw is None:
        return {}
    if not isinstance(raw, Mapping):
        raise StackGraphError(f"{where}: outputs must be a mapping")
    specs = {}
    for name, spec in raw.items():
        if not IDENTIFIER_RE.fullmatch(str(name)):
            raise StackGraphError(f"{where}: invalid output name {name!r}")
        spec = spec or {}
        otype = spec.get("type", "any")
        parse_type(otype)
        if "example" in spec:
            errors = type_errors(spec["example"], otype, f"{where}.{name}.example")
            if errors:
                raise StackGraphError("; ".join(errors))
        specs[name] = OutputSpec(
            name=name,
            type=otype,
            description=str(spec.get("description", "")),
            example=spec.get("example"),
            sensitive=bool(spec.get("sensitive", False)),
        )
    return specs


def _check_name(name: Any) -> str:
    if not isinstance(name, str) or not STACK_NAME_RE.fullmatch(name):
        raise StackGraphError(f"invalid stack name {name!r} (letters, digits, '-' and '_', at most 64)")
    return name


def load_contract(path: str | Path, what: str = "contract") -> dict[str, Any]:
    """The parsed contract file (``terraform/stacks.yml``): the one loader the modules and devtools use."""
    import yaml

    try:
        with open(path, encoding="utf-8") as handle:
            contract = yaml.safe_load(handle)
    except OSError as exc:
        raise StackGraphError(f"cannot read {what}: {exc}") from exc
    except yaml.YAMLError as exc:
        raise StackGraphError(f"{what} is not valid YAML: {exc}") from exc
    if not isinstance(contract, dict) or "stacks" not in contract:
        raise StackGraphError(f"{path}: not a stack contract (no 'stacks')")
    return contract


def graph_from_contract(contract: Mapping[str, Any], stacks_root: str | Path) -> StackGraph:
    """Build the graph from a parsed contract (``terraform/stacks.yml``) and a stacks directory."""
    if not isinstance(contract, Mapping) or not isinstance(contract.get("stacks"), Mapping):
        raise StackGraphError("contract: a mapping with a 'stacks' mapping is required")
    if contract.get("version", 1) != 1:
        raise StackGraphError(f"contract: unsupported version {contract.get('version')!r}")
    root = Path(stacks_root)
    common = _variable_specs(contract.get("common_variables"), "common_variables")
    stacks = []
    for name, spec in contract["stacks"].items():
        _check_name(name)
        spec = spec or {}
        where = f"stacks.{name}"
        own = _variable_specs(spec.get("variables"), f"{where}.variables")
        clash = set(own) & set(common)
        if clash:
            raise StackGraphError(f"{where}: variables {sorted(clash)} are already common variables")
        depends_on = spec.get("depends_on") or []
        if not isinstance(depends_on, list):
            raise StackGraphError(f"{where}.depends_on must be a list")
        stacks.append(
            Stack(
                name=name,
                path=root / name,
                depends_on=tuple(_check_name(d) for d in depends_on),
                variables={**common, **own},
                outputs=_output_specs(spec.get("outputs"), f"{where}.outputs"),
                description=str(spec.get("description", "")),
                contract=True,
            )
        )
    return StackGraph(stacks)


def graph_from_list(items: Iterable[Mapping[str, Any]], stacks_root: str | Path | None = None) -> StackGraph:
    """Build the graph from inline stacks: ``{name, path?, depends_on?, inputs?: {var: stack.output}}``."""
    stacks = []
    for index, item in enumerate(items):
        if not isinstance(item, Mapping):
            raise StackGraphError(f"stacks[{index}] must be a mapping")
        name = _check_name(item.get("name"))
        if item.get("path"):
            path = Path(item["path"])
        elif stacks_root:
            path = Path(stacks_root) / name
        else:
            raise StackGraphError(f"stack {name!r}: no path and no stacks_root")
        inputs = item.get("inputs") or {}
        if not isinstance(inputs, Mapping):
            raise StackGraphError(f"stack {name!r}: inputs must be a mapping of variable -> <stack>.<output>")
        variables = {
            var: VariableSpec(var, source=OutputRef.parse(ref, f"stack {name!r} inputs.{var}"))
            for var, ref in inputs.items()
        }
        depends_on = item.get("depends_on") or []
        if not isinstance(depends_on, list):
            raise StackGraphError(f"stack {name!r}: depends_on must be a list")
        stacks.append(
            Stack(name=name, path=path, depends_on=tuple(_check_name(d) for d in depends_on), variables=variables)
        )
    return StackGraph(stacks)


def stack_variables(
    stack: Stack,
    common_values: Mapping[str, Any],
    stack_values: Mapping[str, Any],
    upstream_outputs: Mapping[str, Mapping[str, Any]],
) -> dict[str, Any]:
    """The variable values for one stack: common values, its own values, then wired upstream outputs.

    For a contract stack, values for undeclared variables, values that don't fit the declared type and
    missing required variables are errors; wired variables cannot also be given a value.
    """
    values: dict[str, Any] = {}
    if stack.contract:
        for name, value in common_values.items():
            if name in stack.variables:
                values[name] = value
    else:
        values.update(common_values)
    for name, value in stack_values.items():
        if stack.contract and name not in stack.variables:
            raise StackGraphError(f"stack {stack.name!r} declares no variable {name!r}")
        if name in stack.inputs:
            raise StackGraphError(
                f"stack {stack.name!r} variable {name!r} comes from {stack.inputs[name]}; it cannot also be set"
            )
        values[name] = value
    for name, ref in stack.inputs.items():
        values[name] = ref.resolve(upstream_outputs.get(ref.stack, {}))
    if stack.contract:
        errors = []
        for name, spec in stack.variables.items():
            if name not in values:
                if not spec.has_default:
                    errors.append(f"stack {stack.name!r}: no value for required variable {name!r}")
                continue
            errors += type_errors(values[name], spec.type, f"stack {stack.name!r} variable {name!r}")
        if errors:
            raise StackGraphError("; ".join(errors))
    return values
