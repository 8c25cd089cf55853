# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stack graph: loading, validation, ordering, selection and variable wiring."""

from __future__ import annotations

import pytest
import yaml
from ansible_collections.org.platform.plugins.module_utils.stack_graph import (
    OutputRef,
    StackGraphError,
    graph_from_contract,
    graph_from_list,
    parse_type,
    stack_variables,
    type_errors,
)


def diamond():
    return graph_from_list(
        [
            {"name": "d", "depends_on": ["b", "c"], "inputs": {"x": "b.out", "y": "c.out"}},
            {"name": "c", "depends_on": ["a"], "inputs": {"x": "a.out"}},
            {"name": "b", "depends_on": ["a"]},
            {"name": "a"},
            {"name": "z"},
        ],
        "/stacks",
    )


def test_order_is_topological_and_deterministic():
    graph = diamond()
    assert graph.order() == ["a", "z", "b", "c", "d"]
    assert graph.reverse_order() == ["d", "c", "b", "z", "a"]


@pytest.mark.parametrize(
    ("only", "exclude", "destroying", "expected"),
    [
        ([], [], False, ["a", "z", "b", "c", "d"]),
        (["c"], [], False, ["c"]),
        ([], ["z"], False, ["a", "b", "c", "d"]),
        (["b"], [], True, ["d", "b"]),
        (["a"], [], True, ["d", "c", "b", "a"]),
        ([], ["z"], True, ["d", "c", "b", "a"]),
    ],
)
def test_select(only, exclude, destroying, expected):
    assert diamond().select(only, exclude, destroying) == expected


@pytest.mark.parametrize(
    ("stacks", "message"),
    [
        ([{"name": "a", "depends_on": ["b"]}, {"name": "b", "depends_on": ["a"]}], "dependency cycle: a -> b -> a"),
        (
            [
                {"name": "c", "depends_on": ["a"]},
                {"name": "b", "depends_on": ["c"]},
                {"name": "a", "depends_on": ["b"]},
            ],
            "dependency cycle: a -> b -> c -> a",
        ),
        ([{"name": "a", "depends_on": ["a"]}], "depends on itself"),
        ([{"name": "a", "depends_on": ["ghost"]}], "unknown stack 'ghost'"),
        ([{"name": "a"}, {"name": "a"}], "defined twice"),
        ([{"name": "a b"}], "invalid stack name"),
        ([{"name": ""}], "invalid stack name"),
        ([{"name": "a", "inputs": {"v": "b.out"}}, {"name": "b"}], "not in its depends_on"),
        ([{"name": "a", "inputs": {"v": "nodot"}}], "not of the form"),
        ([{"name": "a", "depends_on": "b"}, {"name": "b"}], "depends_on must be a list"),
    ],
)
def test_invalid_graphs_are_rejected(stacks, message):
    with pytest.raises(StackGraphError, match=message):
        graph_from_list(stacks, "/stacks")


def test_unknown_stack_in_selection_is_named():
    with pytest.raises(StackGraphError, match="unknown stack 'nope'"):
        diamond().select(["nope"])


def test_destroying_under_an_excluded_dependent_is_refused():
    with pytest.raises(StackGraphError, match="excluded dependent"):
        diamond().select(["a"], ["d"], destroying=True)


@pytest.mark.parametrize(
    ("value", "type_expr", "ok"),
    [
        ("x", "string", True),
        (3, "string", True),
        (True, "string", True),  # Terraform converts a bool to "true"/"false"
        (None, "string", False),
        (["a"], "string", False),
        (3, "number", True),
        ("3.5", "number", True),
        ("three", "number", False),
        (True, "bool", True),
        ("yes", "bool", False),
        (["a", "b"], "list(string)", True),
        (["a", {}], "list(string)", False),
        ({"a": ["x"]}, "map(list(string))", True),
        ({"a": "x"}, "map(list(string))", False),
        ({"k": 1}, "any", True),
    ],
)
def test_type_checks(value, type_expr, ok):
    assert (type_errors(value, type_expr) == []) is ok


@pytest.mark.parametrize("bad", ["list", "strin", "map()", "string(x)", "object({a=string})"])
def test_unsupported_types_are_errors(bad):
    with pytest.raises(StackGraphError):
        parse_type(bad)


@pytest.mark.parametrize(
    ("ref", "outputs", "expected"),
    [
        ("n.vpc_id", {"vpc_id": "vpc-1"}, "vpc-1"),
        ("n.subnets.private", {"subnets": {"private": ["s1"]}}, ["s1"]),
        ("n.ids.1", {"ids": ["a", "b"]}, "b"),
        ("k.arns.secrets-manager", {"arns": {"secrets-manager": "arn"}}, "arn"),
    ],
)
def test_output_refs_resolve(ref, outputs, expected):
    assert OutputRef.parse(ref, "test").resolve(outputs) == expected


@pytest.mark.parametrize(
    ("ref", "outputs", "message"),
    [
        ("n.missing", {"vpc_id": "x"}, "has no output 'missing'"),
        ("n.subnets.public", {"subnets": {"private": []}}, "has no element 'public'"),
        ("n.ids.5", {"ids": ["a"]}, "has no element '5'"),
    ],
)
def test_output_refs_fail_clearly(ref, outputs, message):
    with pytest.raises(StackGraphError, match=message):
        OutputRef.parse(ref, "test").resolve(outputs)


CONTRACT = {
    "version": 1,
    "common_variables": {"environment": {"type": "string"}},
    "stacks": {
        "net": {
            "variables": {"cidr": {"type": "string"}, "azs": {"type": "list(string)", "default": ["a", "b"]}},
            "outputs": {"vpc_id": {"type": "string", "example": "vpc-1"}},
        },
        "sec": {
            "depends_on": ["net"],
            "variables": {"vpc_id": {"type": "string", "from": "net.vpc_id"}},
            "outputs": {},
        },
    },
}


def test_contract_variables_are_typed_and_wired():
    graph = graph_from_contract(CONTRACT, "/stacks")
    net, sec = graph["net"], graph["sec"]
    assert stack_variables(net, {"environment": "dev", "unrelated": 1}, {"cidr": "10.0.0.0/16"}, {}) == {
        "environment": "dev",
        "cidr": "10.0.0.0/16",
    }
    assert stack_variables(sec, {"environment": "dev"}, {}, {"net": {"vpc_id": "vpc-9"}}) == {
        "environment": "dev",
        "vpc_id": "vpc-9",
    }


@pytest.mark.parametrize(
    ("stack", "values", "message"),
    [
        ("net", {"cidr": "x", "bogus": 1}, "declares no variable 'bogus'"),
        ("net", {}, "no value for required variable 'cidr'"),
        ("net", {"cidr": ["not", "a", "string"]}, "expected string"),
        ("net", {"cidr": "x", "azs": "a"}, "expected list"),
        ("sec", {"vpc_id": "vpc-x"}, "comes from net.vpc_id; it cannot also be set"),
    ],
)
def test_contract_variable_errors(stack, values, message):
    graph = graph_from_contract(CONTRACT, "/stacks")
    with pytest.raises(StackGraphError, match=message):
        stack_variables(graph[stack], {"environment": "dev"}, values, {"net": {"vpc_id": "vpc-9"}})


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda c: c["stacks"]["sec"]["variables"]["vpc_id"].update({"from": "net.nope"}), "does not declare"),
        (lambda c: c["stacks"]["net"]["outputs"]["vpc_id"].update({"example": ["x"]}), "expected string"),
        (lambda c: c["stacks"]["net"]["variables"]["azs"].update({"default": "a"}), "expected list"),
        (lambda c: c.update({"version": 2}), "unsupported version"),
        (lambda c: c["stacks"]["net"]["variables"].update({"environment": {"type": "string"}}), "already common"),
    ],
)
def test_contract_errors(mutate, message):
    contract = yaml.safe_load(yaml.safe_dump(CONTRACT))
    mutate(contract)
    with pytest.raises(StackGraphError, match=message):
        graph_from_contract(contract, "/stacks")
