# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Contract twins: HCL literals and the committed twins matching the contract."""

from __future__ import annotations

import subprocess
import sys

import hcl2
import pytest
import yaml
from ansible_collections.org.platform.plugins.module_utils.stack_graph import graph_from_contract

from devtools.stack_twins import hcl_literal, render_twin
from sandbox.pytest_plugin import REPO_ROOT

REPO = REPO_ROOT


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("plain", '"plain"'),
        ("${not.interpolated}", '"$${not.interpolated}"'),
        ("%{if x}", '"%%{if x}"'),
        ('quote " and \\', '"quote \\" and \\\\"'),
        (True, "true"),
        (None, "null"),
        (3, "3"),
        (2.5, "2.5"),
        ([], "[]"),
        (["a", 1], '["a", 1]'),
        ({}, "{}"),
        ({"k": ["v"]}, '{\n  "k" = ["v"]\n}'),
    ],
)
def test_hcl_literal(value, expected):
    assert hcl_literal(value) == expected


def test_hcl_literal_rejects_what_hcl_cannot_say():
    with pytest.raises(ValueError, match="no HCL literal"):
        hcl_literal(float("nan"))
    with pytest.raises(ValueError, match="no HCL literal"):
        hcl_literal(object())


def test_committed_twins_match_the_contract():
    result = subprocess.run(
        [sys.executable, str(REPO / "tools" / "render_twins.py"), "--check"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_twins_declare_the_contract_variables_and_outputs():
    contract = yaml.safe_load((REPO / "terraform" / "stacks.yml").read_text())
    graph = graph_from_contract(contract, REPO / "terraform" / "sandbox")
    for name in graph.order():
        stack = graph[name]
        parsed = hcl2.loads(render_twin(stack))
        variables = {k for block in parsed.get("variable", []) for k in block}
        outputs = {k for block in parsed.get("output", []) for k in block}
        assert {v.strip('"') for v in variables} == set(stack.variables), name
        assert {o.strip('"') for o in outputs} == set(stack.outputs), name
        assert render_twin(stack).startswith("# SIMULATED")
