# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""org.platform.stack_vars_check in the controller, without a module start-up (plugin_utils/controller_module)."""

from __future__ import annotations

from typing import Any

from ansible_collections.org.platform.plugins.module_utils.stack_graph import StackGraphError
from ansible_collections.org.platform.plugins.module_utils.stack_vars import (
    ARGUMENT_SPEC,
    StackVarsError,
    module_result,
)
from ansible_collections.org.platform.plugins.plugin_utils.controller_module import ControllerModuleAction


class ActionModule(ControllerModuleAction):
    argument_spec = ARGUMENT_SPEC
    errors = (StackVarsError, StackGraphError, OSError)
    module_result = staticmethod(module_result)

    @staticmethod
    def failure(error: BaseException) -> dict[str, Any]:
        return {"msg": str(error), "problems": getattr(error, "problems", [str(error)])}
