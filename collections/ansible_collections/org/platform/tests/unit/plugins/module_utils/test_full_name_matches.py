# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Issue 9 item 8: every name check in the collection is a full match, so a trailing newline is refused.

``re.match(r"^...$")`` accepts "dev\\n" (``$`` matches before a final newline) and a directory with a newline in
its name was created from it; ``fullmatch`` does not.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from ansible_collections.org.platform.plugins.module_utils._terraform.errors import StackRunnerError
from ansible_collections.org.platform.plugins.module_utils.shared_rds_services import ServiceListError, plan_services
from ansible_collections.org.platform.plugins.module_utils.stack_graph import (
    OutputRef,
    StackGraphError,
    graph_from_list,
)
from ansible_collections.org.platform.plugins.modules import terraform_stacks


def runner_params(tmp_path, **overrides):
    params = {
        "environment": "dev",
        "state": "present",
        "graph_file": None,
        "stacks": [{"name": "a", "path": str(tmp_path), "depends_on": [], "inputs": {}}],
        "stacks_root": str(tmp_path),
        "common_variables": {},
        "variables": {},
        "backend": {"bucket": "b", "region": "us-east-1", "dynamodb_table": "t", "key_prefix": ""},
        "only": [],
        "exclude": [],
        "max_parallel": 1,
        "lock_timeout": "60s",
        "binary_path": None,
        "work_dir": str(tmp_path / "work"),
        "log_dir": str(tmp_path / "logs"),
    }
    return params | overrides


@pytest.mark.parametrize(
    ("overrides", "message"),
    [({"environment": "dev\n"}, "must be lower-case letters"), ({"lock_timeout": "60s\n"}, "lock_timeout")],
)
def test_terraform_stacks_refuses_a_trailing_newline(tmp_path, overrides, message):
    module = SimpleNamespace(params=runner_params(tmp_path, **overrides))
    with pytest.raises(StackRunnerError, match=message):
        terraform_stacks.build_runner(module)
    assert not (tmp_path / "work").exists()


@pytest.mark.parametrize("name", ["00-network\n", "00-network\n\n"])
def test_stack_names_are_full_matches(tmp_path, name):
    with pytest.raises(StackGraphError, match="invalid stack name"):
        graph_from_list([{"name": name, "path": str(tmp_path)}])


def test_output_references_are_full_matches():
    with pytest.raises(StackGraphError):
        OutputRef.parse("00-network.vpc_id\n", "test")


def test_environment_of_the_service_list_is_a_full_match():
    with pytest.raises(ServiceListError, match="environment name"):
        plan_services([{"name": "fileflow"}], "dev\n")
