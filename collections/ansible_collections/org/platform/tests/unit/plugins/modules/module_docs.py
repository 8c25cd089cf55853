# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Keep a module's RETURN honest: every key a result carries is documented, at every documented depth.

Each module's unit test runs ``main()`` and hands the result to ``assert_documented``; test_module_docs.py
checks the shape of every module's DOCUMENTATION and RETURN.
"""

from __future__ import annotations

import importlib
from typing import Any

import yaml

# Keys Ansible itself defines for every module result; RETURN does not repeat them.
COMMON_KEYS = {"changed", "failed", "invocation", "warnings", "deprecations", "diff", "exception", "skipped"}


def return_spec(module_name: str) -> dict[str, Any]:
    module = importlib.import_module(f"ansible_collections.org.platform.plugins.modules.{module_name}")
    return yaml.safe_load(module.RETURN) or {}


def keyed_by_name(entry: dict[str, Any]) -> bool:
    """A dict RETURN entry whose description says it is keyed by a name: ``contains`` describes each value."""
    description = entry.get("description") or ""
    text = " ".join(description) if isinstance(description, list) else str(description)
    return "keyed by" in text.lower()


def undocumented(result: dict[str, Any], spec: dict[str, Any], path: str = "") -> list[str]:
    """Paths of keys in ``result`` that ``spec`` (a RETURN mapping) does not document."""
    missing = []
    for key, value in result.items():
        if not path and (key in COMMON_KEYS or key.startswith("_ansible") or (key == "msg" and result.get("failed"))):
            continue
        entry = spec.get(key)
        if entry is None:
            missing.append(f"{path}{key}")
            continue
        contains = entry.get("contains")
        if not contains:
            continue
        if entry.get("type") == "list":
            for index, item in enumerate(value or []):
                if isinstance(item, dict):
                    missing += undocumented(item, contains, f"{path}{key}[{index}].")
        elif isinstance(value, dict):
            if keyed_by_name(entry):  # a mapping of names to like entries (e.g. stacks by name)
                for name, item in value.items():
                    if isinstance(item, dict):
                        missing += undocumented(item, contains, f"{path}{key}.{name}.")
            else:
                missing += undocumented(value, contains, f"{path}{key}.")
    return sorted(set(missing))


def assert_documented(module_name: str, result: dict[str, Any]) -> None:
    missing = undocumented(result, return_spec(module_name))
    assert not missing, f"{module_name} returns keys its RETURN does not document: {missing}"
