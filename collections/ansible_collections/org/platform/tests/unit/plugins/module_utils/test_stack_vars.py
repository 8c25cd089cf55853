# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""stack_vars: rendering per-stack variable sets from the inventory and rejecting bad values early."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
from ansible_collections.org.platform.plugins.module_utils import stack_vars
from ansible_collections.org.platform.plugins.module_utils.stack_vars import (
    StackVarsError,
    check_network,
    check_vpc_overlaps,
    conforms,
    tier_layout,
    validate,
)

CONTRACT: dict[str, Any] = {
    "common_variables": {
        "environment": {"type": "string"},
        "aws_region": {"type": "string"},
        "tags": {"type": "map(string)"},
    },
    "stacks": {
        "00-network": {
            "variables": {
                "vpc_cidr": {"type": "string"},
                "azs": {"type": "list(string)"},
                "nat_mode": {"type": "string", "default": "single"},
            }
        },
        "10-security": {"variables": {"vpc_id": {"type": "string", "from": "00-network.vpc_id"}}},
        "50-rke2": {
            "variables": {
                "cluster_name": {"type": "string"},
                "server_count": {"type": "number", "default": 1},
                "ami_id": {"type": "string", "default": ""},
            }
        },
        "60-db": {"variables": {"multi_az": {"type": "bool", "default": False}}},
    },
}
TAGS = {
    "Environment": "dev",
    "Service": "platform",
    "Team": "platform",
    "Owner": "o@example.com",
    "CostCenter": "c",
    "ManagedBy": "terraform",
}
GOOD = {
    "00-network": {"vpc_cidr": "10.0.0.0/16", "azs": ["a", "b"], "nat_mode": "single"},
    "50-rke2": {"cluster_name": "dev-platform"},
}


@pytest.mark.parametrize(
    ("value", "type_expr", "expected"),
    [
        ("x", "string", True),
        (1, "string", True),  # Terraform converts a number to a string
        ({"a": 1}, "string", False),
        (3, "number", True),
        (2.5, "number", True),
        (True, "number", False),
        ("3", "number", True),  # and a decimal string to a number
        ("3x", "number", False),
        (False, "bool", True),
        ("false", "bool", True),  # and "true"/"false" to a bool
        ("no", "bool", False),
        (["a"], "list(string)", True),
        (["a", 1], "list(string)", True),
        (["a", {}], "list(string)", False),
        ("a", "list(string)", False),
        ({"a": "b"}, "map(string)", True),
        ({"a": ["b"]}, "map(list(string))", True),
        ({"a": "b"}, "map(list(string))", False),
        ({"x": 1}, "any", True),
    ],
)
def test_conforms(value: Any, type_expr: str, expected: bool) -> None:
    assert conforms(value, type_expr) is expected


def test_unsupported_type_is_an_error() -> None:
    with pytest.raises(ValueError, match="unsupported type"):
        conforms({}, "object({a=string})")


def test_tier_layout_matches_the_network_stack() -> None:
    # terraform/stacks/00-network/main.tf: cidrsubnet(vpc, 8, i), cidrsubnet(vpc, 4, i + 1), cidrsubnet(vpc, 8, 64 + i)
    assert tier_layout("10.0.0.0/16", 3) == {
        "public": ["10.0.0.0/24", "10.0.1.0/24", "10.0.2.0/24"],
        "private": ["10.0.16.0/20", "10.0.32.0/20", "10.0.48.0/20"],
        "db": ["10.0.64.0/24", "10.0.65.0/24", "10.0.66.0/24"],
    }
    assert tier_layout("10.1.0.0/20", 2)["db"] == ["10.1.4.0/28", "10.1.4.16/28"]


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"vpc_cidr": "10.0.0.0/16", "azs": ["a", "b"], "nat_mode": "per_az"}, None),
        ({"vpc_cidr": "10.0.0.0/16", "azs": ["a"], "nat_mode": "single"}, "at least 2 are required"),
        ({"vpc_cidr": "10.0.0.0/16", "azs": ["a", "b", "c", "d"]}, "at most 3"),
        ({"vpc_cidr": "10.0.0.0/16", "azs": ["a", "a"]}, "duplicates"),
        ({"vpc_cidr": "10.0.0.0/16", "azs": ["a", "b"], "nat_mode": "dual"}, "nat_mode 'dual' is unknown"),
        ({"vpc_cidr": "10.0.0.1/16", "azs": ["a", "b"]}, "not a valid IPv4 network"),
        ({"vpc_cidr": "10.0.0.0/24", "azs": ["a", "b"]}, "between /16 and /20"),
        ({"vpc_cidr": "10.0.0.0/8", "azs": ["a", "b"]}, "between /16 and /20"),
        ({"vpc_cidr": "8.8.0.0/16", "azs": ["a", "b"]}, "not a private"),
    ],
    ids=["good", "one-az", "four-azs", "duplicate-az", "unknown-nat", "host-bits", "too-small", "too-big", "public"],
)
def test_check_network(values: dict, message: str | None) -> None:
    problems = check_network("dev", values)
    if message is None:
        assert problems == []
    else:
        assert any(message in problem for problem in problems), problems


@pytest.mark.parametrize(
    ("cidrs", "overlap"),
    [
        ({"dev": "10.0.0.0/16", "stg": "10.1.0.0/16", "prod": "10.2.0.0/16"}, False),
        ({"dev": "10.0.0.0/16", "stg": "10.0.0.0/16"}, True),
        ({"dev": "10.0.0.0/16", "stg": "10.0.128.0/17"}, True),
        ({"dev": "10.0.0.0/16", "stg": "not-a-cidr"}, False),
    ],
    ids=["distinct", "equal", "nested", "invalid-ignored-here"],
)
def test_check_vpc_overlaps(cidrs: dict, overlap: bool) -> None:
    assert bool(check_vpc_overlaps(cidrs)) is overlap


def test_validate_renders_defaults_and_skips_wired_variables() -> None:
    rendered = validate(CONTRACT, "dev", "ap-northeast-2", TAGS, GOOD)
    assert rendered["00-network"] == {
        "environment": "dev",
        "aws_region": "ap-northeast-2",
        "tags": TAGS,
        "vpc_cidr": "10.0.0.0/16",
        "azs": ["a", "b"],
        "nat_mode": "single",
    }
    assert "vpc_id" not in rendered["10-security"]
    assert rendered["50-rke2"]["server_count"] == 1
    assert rendered["60-db"]["multi_az"] is False


def test_common_values_apply_to_stacks_that_declare_them() -> None:
    stack_values = {**GOOD, "common": {"ami_id": "ami-0123"}}
    rendered = validate(CONTRACT, "dev", "ap-northeast-2", TAGS, stack_values)
    assert rendered["50-rke2"]["ami_id"] == "ami-0123"
    assert "ami_id" not in rendered["60-db"]


def with_change(path: tuple[str, ...], value: Any) -> dict:
    changed = copy.deepcopy(GOOD)
    target = changed
    for key in path[:-1]:
        target = target.setdefault(key, {})
    if value is KeyError:
        del target[path[-1]]
    else:
        target[path[-1]] = value
    return changed


@pytest.mark.parametrize(
    ("environment", "stack_values", "message"),
    [
        ("dev", with_change(("00-network", "azs"), ["a"]), "at least 2 are required"),
        ("dev", with_change(("00-network", "nat_mode"), "nat"), "nat_mode 'nat' is unknown"),
        ("dev", with_change(("00-network", "vpc_cidr"), KeyError), "00-network.vpc_cidr is required"),
        ("dev", with_change(("00-network", "azs"), "a,b"), "does not match type list(string)"),
        ("dev", with_change(("50-rke2", "server_count"), "three"), "does not match type number"),
        ("dev", with_change(("50-rke2", "server_count"), "2"), "must be odd"),
        ("dev", with_change(("60-db", "multi_az"), "yes"), "does not match type bool"),
        ("dev", with_change(("50-rke2", "colour"), "blue"), "50-rke2.colour is not a variable"),
        ("dev", with_change(("10-security", "vpc_id"), "vpc-1"), "wired from 00-network.vpc_id"),
        ("dev", with_change(("00-network", "environment"), "dev"), "comes from platform_* variables"),
        ("dev", with_change(("99-extra",), {}), "unknown stack '99-extra'"),
        ("dev", with_change(("50-rke2", "server_count"), 2), "must be odd"),
        ("prod", with_change(("50-rke2", "server_count"), 1), "prod needs HA"),
    ],
    ids=[
        "one-az",
        "unknown-nat",
        "missing-required",
        "list-as-string",
        "number-as-string",
        "numeric-string-converted-then-checked",
        "bool-as-string",
        "unknown-variable",
        "wired-variable",
        "platform-variable",
        "unknown-stack",
        "even-servers",
        "prod-single-server",
    ],
)
def test_validate_rejects(environment: str, stack_values: dict, message: str) -> None:
    tags = {**TAGS, "Environment": environment}
    with pytest.raises(StackVarsError) as raised:
        validate(CONTRACT, environment, "ap-northeast-2", tags, stack_values)
    assert any(message in problem for problem in raised.value.problems), raised.value.problems
    assert message in str(raised.value)


def test_validate_rejects_overlap_with_peer_environment() -> None:
    with pytest.raises(StackVarsError, match=r"overlap across environments: dev 10\.0\.0\.0/16 overlaps stg"):
        validate(CONTRACT, "dev", "r", TAGS, GOOD, peer_vpc_cidrs={"stg": "10.0.0.0/16", "prod": "10.2.0.0/16"})
    # the environment's own entry among the peers is not an overlap
    validate(CONTRACT, "dev", "r", TAGS, GOOD, peer_vpc_cidrs={"dev": "10.0.0.0/16", "stg": "10.1.0.0/16"})


@pytest.mark.parametrize(
    ("tags", "message"),
    [
        ({k: v for k, v in TAGS.items() if k != "Owner"}, "platform_tags lacks Owner"),
        ({**TAGS, "CostCenter": " "}, "platform_tags lacks CostCenter"),
        ({**TAGS, "Environment": "prod"}, "platform_tags.Environment is 'prod', not 'dev'"),
    ],
)
def test_validate_checks_tags(tags: dict, message: str) -> None:
    with pytest.raises(StackVarsError) as raised:
        validate(CONTRACT, "dev", "r", tags, GOOD)
    assert message in str(raised.value)


def test_all_problems_are_reported_together() -> None:
    values = with_change(("00-network", "azs"), ["a"])
    values["00-network"]["nat_mode"] = "nat"
    with pytest.raises(StackVarsError) as raised:
        validate(CONTRACT, "dev", "r", TAGS, values)
    assert len(raised.value.problems) == 2


def test_load_peer_vpc_cidrs(tmp_path: Path) -> None:
    for env, cidr in (("dev", "10.0.0.0/16"), ("stg", "10.1.0.0/16")):
        directory = tmp_path / env / "group_vars" / "all"
        directory.mkdir(parents=True)
        (directory / "stacks.yml").write_text(f"terraform_stack_vars:\n  00-network:\n    vpc_cidr: {cidr}\n")
    (tmp_path / "empty" / "group_vars" / "all").mkdir(parents=True)
    (tmp_path / "empty" / "group_vars" / "all" / "stacks.yml").write_text("---\n")
    assert stack_vars.load_peer_vpc_cidrs(tmp_path) == {"dev": "10.0.0.0/16", "stg": "10.1.0.0/16"}


# stack_graph.type_errors (the runner, the contract) and stack_vars.conforms (the preflight) used to disagree:
# a number passed as a string in one and not the other. Now both are one checker with Terraform's conversions.
@pytest.mark.parametrize(
    ("value", "type_expr", "ok", "converted"),
    [
        (3, "string", True, "3"),
        (2.5, "string", True, "2.5"),
        (True, "string", True, "true"),
        ("3", "number", True, 3),
        ("3.5", "number", True, 3.5),
        ("1e3", "number", True, 1000.0),
        ("nan", "number", False, None),
        ("inf", "number", False, None),
        (True, "number", False, None),
        ("true", "bool", True, True),
        ("false", "bool", True, False),
        (1, "bool", False, None),
        ("yes", "bool", False, None),
        ([1, True], "list(string)", True, ["1", "true"]),
        ({"a": "2"}, "map(number)", True, {"a": 2}),
        ("a,b", "list(string)", False, None),
    ],
)
def test_one_type_checker_with_terraform_conversions(value: Any, type_expr: str, ok: bool, converted: Any) -> None:
    from ansible_collections.org.platform.plugins.module_utils import stack_graph

    assert conforms(value, type_expr) is ok
    assert (stack_graph.type_errors(value, type_expr) == []) is ok
    if ok:
        assert stack_graph.convert(value, type_expr) == converted
    else:
        with pytest.raises(stack_graph.StackGraphError, match="expected"):
            stack_graph.convert(value, type_expr)


def test_validate_renders_the_converted_value() -> None:
    stacks = validate(CONTRACT, "dev", "us-east-1", TAGS, with_change(("50-rke2", "server_count"), "3"))
    assert stacks["50-rke2"]["server_count"] == 3
