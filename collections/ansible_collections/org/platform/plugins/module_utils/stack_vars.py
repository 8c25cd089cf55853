# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Per-environment Terraform variables: render them per stack from the inventory and check them.

The inventory (``inventories/<env>/group_vars/all/stacks.yml``) gives ``terraform_stack_vars``, a dict
keyed by stack name (plus an optional ``common`` key merged into every stack that declares the variable)
holding the values of the contract's variables that are not wired from upstream outputs. ``environment``,
``aws_region`` and ``tags`` come from ``platform_env``, ``platform_region`` and ``platform_tags``.

``render_stack_vars`` builds, for each stack, the variable set the runner will write as
``*.auto.tfvars.json`` (without the ``from`` variables, which the runner wires), and ``validate`` checks
it before Terraform runs: unknown or missing variables, values that do not match the contract's type,
VPC CIDRs that are invalid or overlap across environments, tier layouts that overlap, fewer than two
availability zones, unknown NAT modes, a prod control plane without HA. All problems are reported
together in one ``StackVarsError``.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ansible_collections.org.platform.plugins.module_utils.constants import REQUIRED_TAG_KEYS
from ansible_collections.org.platform.plugins.module_utils.pure_module import PureModule
from ansible_collections.org.platform.plugins.module_utils.stack_graph import (
    StackGraphError,
    conforms,
    convert,
    load_contract,
)

NAT_MODES = ("none", "single", "per_az")
NETWORK_STACK = "00-network"
RKE2_STACK = "50-rke2"
MIN_AZS = 2
MAX_AZS = 3
MIN_VPC_PREFIX = 16
MAX_VPC_PREFIX = 20
PROD_MIN_SERVERS = 3
COMMON_KEY = "common"


class StackVarsError(Exception):
    """The inventory's stack variables are not valid; ``problems`` lists every reason."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid Terraform stack variables:\n  - " + "\n  - ".join(problems))


# --------------------------------------------------------------------------------------------------
# Network layout (mirrors terraform/stacks/00-network/main.tf locals)
# --------------------------------------------------------------------------------------------------


def _cidrsubnet(network: ipaddress.IPv4Network, newbits: int, netnum: int) -> ipaddress.IPv4Network:
    """Terraform's cidrsubnet()."""
    prefix = network.prefixlen + newbits
    if prefix > 32 or netnum >= 2**newbits:
        raise ValueError(f"cidrsubnet({network}, {newbits}, {netnum}) does not fit")
    size = 2 ** (32 - prefix)
    return ipaddress.IPv4Network((int(network.network_address) + netnum * size, prefix))


def tier_layout(vpc_cidr: str, azs: int) -> dict[str, list[str]]:
    """Subnet CIDRs per tier exactly as 00-network computes them."""
    network = ipaddress.IPv4Network(vpc_cidr, strict=True)
    return {
        "public": [str(_cidrsubnet(network, 8, index)) for index in range(azs)],
        "private": [str(_cidrsubnet(network, 4, index + 1)) for index in range(azs)],
        "db": [str(_cidrsubnet(network, 8, 64 + index)) for index in range(azs)],
    }


def _overlaps(named: Iterable[tuple[str, str]]) -> list[str]:
    items = [(name, ipaddress.IPv4Network(cidr)) for name, cidr in named]
    problems = []
    for index, (name_a, net_a) in enumerate(items):
        for name_b, net_b in items[index + 1 :]:
            if net_a.overlaps(net_b):
                problems.append(f"{name_a} {net_a} overlaps {name_b} {net_b}")
    return problems


def check_network(environment: str, values: Mapping[str, Any]) -> list[str]:
    """vpc_cidr, azs and nat_mode of 00-network, and the subnet layout they produce."""
    problems: list[str] = []
    where = f"{environment}: {NETWORK_STACK}"
    vpc_cidr = values.get("vpc_cidr")
    network = None
    if isinstance(vpc_cidr, str):
        try:
            network = ipaddress.IPv4Network(vpc_cidr, strict=True)
        except ValueError as error:
            problems.append(f"{where}.vpc_cidr {vpc_cidr!r} is not a valid IPv4 network ({error})")
        else:
            if not MIN_VPC_PREFIX <= network.prefixlen <= MAX_VPC_PREFIX:
                problems.append(f"{where}.vpc_cidr {vpc_cidr} must be between /{MIN_VPC_PREFIX} and /{MAX_VPC_PREFIX}")
                network = None
            elif not network.is_private:
                problems.append(f"{where}.vpc_cidr {vpc_cidr} is not a private (RFC 1918) range")
    azs = values.get("azs")
    if isinstance(azs, list):
        if len(azs) < MIN_AZS:
            problems.append(f"{where}.azs lists {len(azs)} availability zone(s); at least {MIN_AZS} are required")
        elif len(azs) > MAX_AZS:
            problems.append(f"{where}.azs lists {len(azs)} availability zones; the layout supports at most {MAX_AZS}")
        if len(set(azs)) != len(azs):
            problems.append(f"{where}.azs has duplicates: {azs}")
    if "nat_mode" in values and values["nat_mode"] not in NAT_MODES:
        problems.append(f"{where}.nat_mode {values['nat_mode']!r} is unknown; use one of {', '.join(NAT_MODES)}")
    if network is not None and isinstance(azs, list) and MIN_AZS <= len(azs) <= MAX_AZS:
        layout = tier_layout(str(network), len(azs))
        named = [(f"{tier}[{i}]", cidr) for tier, cidrs in layout.items() for i, cidr in enumerate(cidrs)]
        problems += [f"{where}: subnet {problem}" for problem in _overlaps(named)]
        problems += [
            f"{where}: subnet {name} {cidr} is outside {network}"
            for name, cidr in named
            if not ipaddress.IPv4Network(cidr).subnet_of(network)
        ]
    return problems


def check_vpc_overlaps(vpc_cidrs: Mapping[str, str]) -> list[str]:
    """VPC CIDRs of different environments must not overlap (peering, transit, shared DNS)."""
    valid = []
    for environment, cidr in sorted(vpc_cidrs.items()):
        try:
            valid.append((environment, str(ipaddress.IPv4Network(cidr, strict=True))))
        except ValueError:
            continue  # reported by check_network
    return [f"VPC CIDRs overlap across environments: {problem}" for problem in _overlaps(valid)]


# --------------------------------------------------------------------------------------------------
# Rendering and validation
# --------------------------------------------------------------------------------------------------


def render_stack_vars(
    contract: Mapping[str, Any],
    environment: str,
    aws_region: str,
    tags: Mapping[str, str],
    stack_vars: Mapping[str, Any],
) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Variable sets per stack (common + inventory values + contract defaults) and the problems found."""
    problems: list[str] = []
    stacks: Mapping[str, Any] = contract["stacks"]
    common_values = dict(stack_vars.get(COMMON_KEY) or {})
    for key in stack_vars:
        if key != COMMON_KEY and key not in stacks:
            problems.append(f"{environment}: terraform_stack_vars has unknown stack {key!r}")
    rendered: dict[str, dict[str, Any]] = {}
    for stack, spec in stacks.items():
        variables: Mapping[str, Any] = {**(contract.get("common_variables") or {}), **(spec.get("variables") or {})}
        own = stack_vars.get(stack) or {}
        if not isinstance(own, dict):
            problems.append(f"{environment}: terraform_stack_vars[{stack!r}] must be a mapping")
            own = {}
        values: dict[str, Any] = {"environment": environment, "aws_region": aws_region, "tags": dict(tags)}
        for name in own:
            if name not in variables:
                problems.append(f"{environment}: {stack}.{name} is not a variable of the stack")
            elif variables[name].get("from"):
                problems.append(f"{environment}: {stack}.{name} is wired from {variables[name]['from']}; remove it")
            elif name in ("environment", "aws_region", "tags"):
                problems.append(f"{environment}: {stack}.{name} comes from platform_* variables; remove it")
        for name, variable in variables.items():
            if variable.get("from") or name in ("environment", "aws_region", "tags"):
                continue
            if name in own:
                values[name] = own[name]
            elif name in common_values:
                values[name] = common_values[name]
            elif "default" in variable:
                values[name] = variable["default"]
            else:
                problems.append(f"{environment}: {stack}.{name} is required and has no value")
                continue
        for name, value in values.items():
            type_expr = str(variables[name].get("type", "any"))
            if not conforms(value, type_expr):
                problems.append(f"{environment}: {stack}.{name} = {value!r} does not match type {type_expr}")
            else:
                # The value Terraform will see ("3" for a number is 3), so the checks below see it too.
                values[name] = convert(value, type_expr)
        rendered[stack] = values
    return rendered, problems


def check_domain(environment: str, rendered: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """Checks beyond types: tags, network layout, HA control plane in prod."""
    problems: list[str] = []
    any_stack = next(iter(rendered.values()), {})
    tags = any_stack.get("tags") or {}
    missing = [key for key in REQUIRED_TAG_KEYS if not str(tags.get(key, "")).strip()]
    if missing:
        problems.append(f"{environment}: platform_tags lacks {', '.join(missing)}")
    if tags.get("Environment") not in (None, environment):
        problems.append(f"{environment}: platform_tags.Environment is {tags.get('Environment')!r}, not {environment!r}")
    if NETWORK_STACK in rendered:
        problems += check_network(environment, rendered[NETWORK_STACK])
    rke2 = rendered.get(RKE2_STACK, {})
    servers = rke2.get("server_count")
    if isinstance(servers, int | float) and not isinstance(servers, bool):
        if servers < 1 or servers % 2 != 1:
            problems.append(f"{environment}: {RKE2_STACK}.server_count {servers} must be odd (etcd quorum)")
        if environment == "prod" and servers < PROD_MIN_SERVERS:
            problems.append(f"{environment}: {RKE2_STACK}.server_count {servers} < {PROD_MIN_SERVERS}: prod needs HA")
    return problems


def validate(
    contract: Mapping[str, Any],
    environment: str,
    aws_region: str,
    tags: Mapping[str, str],
    stack_vars: Mapping[str, Any],
    peer_vpc_cidrs: Mapping[str, str] | None = None,
) -> dict[str, dict[str, Any]]:
    """Rendered variable sets per stack; raises StackVarsError listing every problem."""
    if not isinstance(stack_vars, Mapping):
        raise StackVarsError([f"{environment}: terraform_stack_vars must be a mapping keyed by stack"])
    rendered, problems = render_stack_vars(contract, environment, aws_region, tags, stack_vars)
    problems += check_domain(environment, rendered)
    own_cidr = rendered.get(NETWORK_STACK, {}).get("vpc_cidr")
    if peer_vpc_cidrs and isinstance(own_cidr, str):
        peers = {env: cidr for env, cidr in peer_vpc_cidrs.items() if env != environment and isinstance(cidr, str)}
        problems += check_vpc_overlaps({environment: own_cidr, **peers})
    if problems:
        raise StackVarsError(problems)
    return rendered


def load_peer_vpc_cidrs(inventories_dir: Path | str, file_name: str = "stacks.yml") -> dict[str, str]:
    """vpc_cidr of 00-network per environment from ``<inventories_dir>/<env>/group_vars/all/<file_name>``."""
    import yaml

    cidrs: dict[str, str] = {}
    for path in sorted(Path(inventories_dir).glob(f"*/group_vars/all/{file_name}")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        network = (document.get("terraform_stack_vars") or {}).get(NETWORK_STACK) or {}
        if isinstance(network.get("vpc_cidr"), str):
            cidrs[path.parents[2].name] = network["vpc_cidr"]
    return cidrs


# The module stack_vars_check, described once for its main() and its controller-side action plugin
# (module_utils/pure_module.py).
ARGUMENT_SPEC: dict[str, Any] = {
    "contract_path": {"type": "path", "required": True},
    "environment": {"type": "str", "required": True},
    "aws_region": {"type": "str", "required": True},
    "tags": {"type": "dict", "required": True},
    "stack_vars": {"type": "dict", "required": True},
    "inventories_dir": {"type": "path"},
    "peer_vpc_cidrs": {"type": "dict", "default": {}},
}


def module_result(params: Mapping[str, Any]) -> dict[str, Any]:
    """stack_vars_check's result; raises ``StackVarsError``, ``StackGraphError`` or ``OSError`` on a problem."""
    contract = load_contract(params["contract_path"])
    peers = load_peer_vpc_cidrs(params["inventories_dir"]) if params["inventories_dir"] else {}
    peers.update(params["peer_vpc_cidrs"])
    peers.pop(params["environment"], None)
    stacks = validate(
        contract,
        params["environment"],
        params["aws_region"],
        params["tags"],
        params["stack_vars"],
        peer_vpc_cidrs=peers,
    )
    return {"changed": False, "stacks": stacks, "peer_vpc_cidrs": peers}


def failure(error: BaseException) -> dict[str, Any]:
    """The failed result: the message, and each problem on its own (one when the error has no list)."""
    return {"msg": str(error), "problems": getattr(error, "problems", [str(error)])}


MODULE = PureModule(ARGUMENT_SPEC, module_result, (StackVarsError, StackGraphError, OSError), failure)
