# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""org.platform.stack_vars_check in the controller, without a module start-up (plugin_utils/controller_module)."""

from __future__ import annotations

from ansible_collections.org.platform.plugins.module_utils.stack_vars import MODULE
from ansible_collections.org.platform.plugins.plugin_utils.controller_module import ControllerModuleAction


class ActionModule(ControllerModuleAction):
    module = MODULE
