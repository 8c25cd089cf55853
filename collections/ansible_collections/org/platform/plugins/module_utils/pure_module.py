# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A pure module: it reads only its arguments (and the control node's files) and changes nothing.

Such a module is described once, here, and run in two ways. As a module, ``main`` is ``AnsibleModule`` plus the
result function. As a task, ``plugins/plugin_utils/controller_module.py``'s action plugin validates the same
argument spec and calls the same function in the controller, without a module start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


def message(error: BaseException) -> dict[str, Any]:
    """The failed result of most pure modules: the error's message."""
    return {"msg": str(error)}


@dataclass(frozen=True)
class PureModule:
    """A pure module's argument spec, its result function, the errors that fail it and how they read."""

    argument_spec: Mapping[str, Any]
    result: Callable[[Mapping[str, Any]], dict[str, Any]]
    errors: tuple[type[BaseException], ...]
    failure: Callable[[BaseException], dict[str, Any]] = message

    def main(self) -> None:
        """The module's entry point (where the action plugin is not used; the same result)."""
        from ansible.module_utils.basic import AnsibleModule  # pylint: disable=import-outside-toplevel

        module = AnsibleModule(argument_spec=dict(self.argument_spec), supports_check_mode=True)
        try:
            result = self.result(module.params)
        except self.errors as error:  # pylint: disable=catching-non-exception  # a tuple of exception classes
            module.fail_json(**self.failure(error))
        module.exit_json(**result)
