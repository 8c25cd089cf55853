# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a pure module (no AWS, no host, nothing but its inputs and the controller's files) inside the controller.

A module task costs a process start-up, the AnsiballZ payload and the imports of its module_utils, about a
second on this project's machines, even for a check that takes milliseconds. ``stack_vars_check`` and
``shared_rds_services`` only validate inputs, always on the control node, and run twice in every site.yml
(the shared preflight and their own play). Their action plugins validate the task's arguments against the
module's own argument spec (``ArgumentSpecValidator``, as ``AnsibleModule`` does: types, aliases, defaults,
``path`` expansion) and call the same result function the module's ``main`` calls, in the controller process;
both come from the module's one description, a ``module_utils.pure_module.PureModule``.
"""

from __future__ import annotations

from typing import Any

from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase
from ansible_collections.org.platform.plugins.module_utils.pure_module import PureModule


class ControllerModuleAction(ActionBase):
    """Base of the action plugins that run a pure module's result function in the controller."""

    TRANSFERS_FILES = False
    _requires_connection = False
    _supports_check_mode = True
    _supports_async = False

    module: PureModule  # set by each plugin: the module it runs

    def run(self, tmp: Any = None, task_vars: dict[str, Any] | None = None) -> dict[str, Any]:
        result = super().run(tmp, task_vars)
        del tmp  # tmp no longer has any effect
        validation = ArgumentSpecValidator(dict(self.module.argument_spec)).validate(self._task.args)
        if validation.error_messages:
            # AnsibleModule's own wording (module_utils/basic.py), the first error only, as it fails on.
            msg = validation.errors.msg
            if isinstance(validation.errors[0], UnsupportedError):
                msg = f"Unsupported parameters for ({self._task.resolved_action}) module: {msg}"
            return {**result, "failed": True, "changed": False, "msg": msg}
        try:
            result.update(self.module.result(validation.validated_parameters))
        except self.module.errors as error:
            return {**result, "failed": True, "changed": False, **self.module.failure(error)}
        return result
