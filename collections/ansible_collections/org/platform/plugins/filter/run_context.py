# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Where a run is and which environment it acts on, the same from a terminal and from an AWX job.

* ``project_root``: the repository the playbook belongs to, found from ``playbook_dir`` (the first directory up
  that holds ``terraform/stacks.yml``). From a terminal that is the checkout; in an AWX job it is the project
  checkout (``/runner/project``), while the inventory is AWX's own file elsewhere, so the root cannot come from
  ``inventory_dir``.
* ``inventory_environment``: the environment of the run's one inventory: the name of its directory
  (``-i inventories/<env>``, or a file in it). An AWX job's inventory is a file AWX writes under the job's private
  directory, so there it is the AWX inventory's name, ``platform-<env>`` (awx/controller.yml names them so),
  taken only when the run is an AWX job: AWX sets ``JOB_ID`` in the job's environment and ``awx_job_id`` among
  its extra vars, and the two must agree. The preflight refuses a name that is no environment.
"""

from __future__ import annotations

import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ansible.errors import AnsibleFilterError

PROJECT_MARKER = Path("terraform") / "stacks.yml"
AWX_INVENTORY = re.compile(r"platform-([a-z0-9][a-z0-9_-]*)")


def project_root(playbook_dir: str) -> str:
    """The nearest directory at or above ``playbook_dir`` that holds ``terraform/stacks.yml``."""
    start = Path(str(playbook_dir)).resolve()
    for directory in (start, *start.parents):
        if (directory / PROJECT_MARKER).is_file():
            return str(directory)
    raise AnsibleFilterError(
        f"project_root: no {PROJECT_MARKER} in {start} or above it: run the playbooks of an org.platform checkout"
    )


def inventory_environment(sources: Sequence[str], awx_job_id: Any = "", awx_inventory_name: Any = "") -> str:
    """The environment the run's one inventory is (see the module docstring); ``''`` for none.

    ``awx_job_id`` and ``awx_inventory_name`` are the extra vars AWX gives every job (``''`` when unset). They
    count only beside the ``JOB_ID`` AWX puts in the job's environment, read here, where ``-e`` cannot reach.
    """
    if isinstance(sources, str) or len(sources) != 1:
        return ""
    env_job_id = os.environ.get("JOB_ID", "")
    named = AWX_INVENTORY.fullmatch(str(awx_inventory_name or ""))
    if env_job_id and str(awx_job_id or "") == env_job_id and named:
        return named.group(1)
    source = Path(str(sources[0]))
    return (source if source.is_dir() else source.parent).name


class FilterModule:
    def filters(self):
        return {"project_root": project_root, "inventory_environment": inventory_environment}
