# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Names and rules that more than one module of the collection must agree on, defined once.

Plain Python, no Ansible. ``stack_vars`` (the preflight's tag check), ``terraform_stacks`` (the environment
argument) and the static checks in ``devtools/`` import these instead of keeping their own copies.
"""

from __future__ import annotations

import re

# The tags every resource carries (modules/common-tags and the inventory's platform_tags); SPEC M2.
REQUIRED_TAG_KEYS = ("Environment", "Service", "Team", "Owner", "CostCenter", "ManagedBy")

# An environment name: lower-case letters, digits and '-', starting with a letter, at most 32 characters.
ENVIRONMENT_NAME_RE = re.compile(r"^[a-z][a-z0-9-]{0,31}$")


def environment_name_problem(name: object) -> str | None:
    """Why ``name`` is not a valid environment name, or None when it is."""
    if isinstance(name, str) and ENVIRONMENT_NAME_RE.fullmatch(name):
        return None
    return (
        f"environment {name!r} must be lower-case letters, digits and '-', starting with a letter "
        "(at most 32 characters)"
    )
