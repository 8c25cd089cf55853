# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""stack_runner.project_root on the repository's own tree (terraform/stacks.yml, terraform/sandbox/)."""

from __future__ import annotations


def test_project_root_is_found_upwards_from_the_stacks_and_only_there(tmp_path):
    from ansible_collections.org.platform.plugins.module_utils.stack_runner import project_root

    from sandbox.services import REPO_ROOT

    assert project_root([None, REPO_ROOT / "terraform" / "stacks.yml"]) == REPO_ROOT
    assert project_root([REPO_ROOT / "terraform" / "sandbox" / "00-network"]) == REPO_ROOT
    assert project_root([tmp_path]) is None
    assert project_root([]) is None
