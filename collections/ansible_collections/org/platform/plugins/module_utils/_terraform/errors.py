# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The stack runner's exceptions: bad input (nothing ran) and the two ways a stack's inputs are not there."""

from __future__ import annotations

from ansible_collections.org.platform.plugins.module_utils.terraform_engine import TerraformError


class StackRunnerError(Exception):
    """The run cannot start (bad input); nothing was changed."""


class UnknownInputError(TerraformError):
    """Planning only: a variable's upstream output is known only after that upstream is applied."""


class InputMissingError(TerraformError):
    """A variable's upstream output is missing although the upstream is applied (or has no state)."""
