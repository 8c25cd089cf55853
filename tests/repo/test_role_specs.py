# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Each role's argument spec documents the default that really applies (defaults/main.yml)."""

from __future__ import annotations

import re

import pytest
import yaml

from sandbox.pytest_plugin import REPO_ROOT

ROLES = sorted((REPO_ROOT / "collections" / "ansible_collections" / "org" / "platform" / "roles").iterdir())


def _options(role):
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    for entry_point, body in specs.items():
        for name, option in (body.get("options") or {}).items():
            yield entry_point, name, option


@pytest.mark.parametrize("role", ROLES, ids=[role.name for role in ROLES])
def test_spec_defaults_are_the_effective_ones(role):
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    problems = []
    for entry_point, name, option in _options(role):
        if name not in defaults:
            continue
        value = defaults[name]
        computed = isinstance(value, str) and "{{" in value
        description = " ".join(
            option.get("description")
            if isinstance(option.get("description"), list)
            else [option.get("description", "")]
        )
        if computed:
            # A computed default would show in ansible-doc as a literal it is not: say it in words instead.
            if "default" in option:
                problems.append(
                    f"{entry_point}.{name}: spec default {option['default']!r}, but defaults/main.yml computes {value!r}"
                )
            variables = set(re.findall(r"\b[a-z]+_[a-z0-9_]+\b", value))
            if not any(variable in description for variable in variables):
                problems.append(f"{entry_point}.{name}: the description names none of {sorted(variables)}, its default")
        elif "default" in option and option["default"] != value:
            problems.append(f"{entry_point}.{name}: spec default {option['default']!r} != defaults/main.yml {value!r}")
    assert not problems, "\n".join(problems)
