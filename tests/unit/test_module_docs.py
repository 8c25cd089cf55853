# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Every module's DOCUMENTATION and RETURN have the shape validate-modules and users rely on."""

from __future__ import annotations

import copy
import importlib
import json
import re

import pytest
import yaml
from ansible.module_utils.testing import patch_module_args
from ansible_collections.org.platform.tests.unit.plugins.modules.module_docs import assert_documented, undocumented

from sandbox.pytest_plugin import REPO_ROOT
from tests.repo.test_stack_vars_check_module import inventory_args

MODULES_DIR = REPO_ROOT / "collections" / "ansible_collections" / "org" / "platform" / "plugins" / "modules"
MODULES = sorted(path.stem for path in MODULES_DIR.glob("*.py") if path.stem != "__init__")
AUTHOR = re.compile(r".+ \(@[\w-]+\)")


def load(name: str):
    module = importlib.import_module(f"ansible_collections.org.platform.plugins.modules.{name}")
    return yaml.safe_load(module.DOCUMENTATION), yaml.safe_load(module.RETURN) or {}


def return_problems(spec: dict, path: str = "") -> list[str]:
    problems = []
    for key, entry in spec.items():
        where = f"{path}{key}"
        for field in ("description", "type"):
            if field not in entry:
                problems.append(f"{where}: no {field}")
        if not path and "returned" not in entry:
            problems.append(f"{where}: no returned")
        if entry.get("contains"):
            problems += return_problems(entry["contains"], f"{where}.")
        elif "sample" not in entry:
            problems.append(f"{where}: no sample")
    return problems


@pytest.mark.parametrize("name", MODULES)
def test_documentation_has_author_version_and_attributes(name):
    documentation = load(name)[0]
    assert documentation["module"] == name
    assert documentation.get("version_added"), "version_added"
    authors = documentation["author"] if isinstance(documentation["author"], list) else [documentation["author"]]
    assert all(AUTHOR.fullmatch(author) for author in authors), authors
    attributes = documentation.get("attributes") or {}
    for attribute in ("check_mode", "diff_mode"):
        assert attributes.get(attribute, {}).get("support") in {"full", "partial", "none"}, attribute
        assert attributes[attribute].get("description"), attribute


@pytest.mark.parametrize("name", MODULES)
def test_every_return_key_has_description_type_and_sample(name):
    returned = load(name)[1]
    assert returned, "RETURN documents the result"
    assert return_problems(returned) == []


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"changed": False, "a": 1}, []),
        ({"a": 1, "b": 2}, ["b"]),
        ({"a": 1, "d": {"x": 1, "y": 2}}, ["d.y"]),
        ({"l": [{"x": 1}, {"z": 1}]}, ["l[1].z"]),
        ({"k": {"one": {"x": 1}, "two": {"w": 1}}}, ["k.two.w"]),
        ({"failed": True, "msg": "boom"}, []),
        ({"msg": "said on success"}, ["msg"]),
    ],
)
def test_undocumented_finds_keys_at_every_documented_depth(result, expected):
    spec = {
        "a": {"type": "int"},
        "d": {"type": "dict", "contains": {"x": {"type": "int"}}},
        "l": {"type": "list", "contains": {"x": {"type": "int"}}},
        "k": {"type": "dict", "description": "Keyed by stack name.", "contains": {"x": {"type": "int"}}},
    }
    assert undocumented(result, spec) == expected


def run_main(name: str, args: dict, capsys) -> dict:
    module = importlib.import_module(f"ansible_collections.org.platform.plugins.modules.{name}")
    with patch_module_args(args), pytest.raises(SystemExit):
        module.main()
    return json.loads(capsys.readouterr().out)


def _bad_azs(args: dict) -> dict:
    stack_vars = copy.deepcopy(args["stack_vars"])
    stack_vars["00-network"]["azs"] = stack_vars["00-network"]["azs"][:1]
    return args | {"stack_vars": stack_vars}


# Modules that need no AWS run for real here; the AWS modules' results are checked where they run against
# the sandbox emulator.
REAL_RUNS = {
    "shared_rds_services": lambda: {
        "env": "dev",
        "services": ["fileflow", {"name": "auth_hub", "privileges": ["SELECT", "INSERT"]}],
        "rotate": ["fileflow"],
    },
    "stack_vars_check": lambda: inventory_args("dev"),
    "stack_vars_check-failure": lambda: _bad_azs(inventory_args("dev")),
}


@pytest.mark.parametrize("case", sorted(REAL_RUNS))
def test_a_real_result_has_only_documented_keys(case: str, capsys):
    name = case.split("-", maxsplit=1)[0]
    result = run_main(name, REAL_RUNS[case](), capsys)
    assert bool(result.get("failed")) is case.endswith("-failure"), result
    assert_documented(name, result)
