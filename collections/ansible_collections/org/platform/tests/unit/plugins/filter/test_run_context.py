# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""plugins/filter/run_context.py: the project root from the playbook, the environment from the inventory."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError
from ansible_collections.org.platform.plugins.filter.run_context import inventory_environment, project_root


@pytest.fixture
def checkout(tmp_path):
    (tmp_path / "terraform").mkdir()
    (tmp_path / "terraform" / "stacks.yml").write_text("stacks: {}\n")
    for path in ("playbooks", "sandbox/playbooks", "inventories/dev", "inventories/sandbox"):
        (tmp_path / path).mkdir(parents=True)
    (tmp_path / "inventories/dev/hosts.yml").write_text("all: {}\n")
    return tmp_path


def test_the_project_root_is_found_from_any_playbook_directory(checkout):
    for playbook_dir in (checkout, checkout / "playbooks", checkout / "sandbox" / "playbooks"):
        assert project_root(str(playbook_dir)) == str(checkout)
    (checkout / "terraform" / "stacks.yml").unlink()
    with pytest.raises(AnsibleFilterError, match=r"no terraform/stacks\.yml in"):
        project_root(str(checkout / "playbooks"))


def test_the_environment_is_the_inventory_directory(checkout, monkeypatch):
    monkeypatch.delenv("JOB_ID", raising=False)
    assert inventory_environment([str(checkout / "inventories/dev")]) == "dev"
    assert inventory_environment([str(checkout / "inventories/dev/hosts.yml")]) == "dev"
    assert inventory_environment([str(checkout / "inventories/dev"), str(checkout / "inventories/sandbox")]) == ""
    assert inventory_environment([]) == ""
    assert inventory_environment(str(checkout / "inventories/dev")) == "", "a string is not a list of sources"
    # AWX's variables alone (a -e on the command line) do not make a run an AWX job.
    assert inventory_environment(["/runner/inventory/hosts"], 12, "platform-prod") == "inventory"


def test_an_awx_job_is_its_awx_inventory(monkeypatch):
    monkeypatch.setenv("JOB_ID", "12")
    assert inventory_environment(["/runner/inventory/hosts"], 12, "platform-stg") == "stg"
    assert inventory_environment(["/runner/inventory/hosts"], "12", "platform-prod") == "prod"
    # Another job's id, or an inventory that is not one of ours: the file's directory name, which is no environment.
    assert inventory_environment(["/runner/inventory/hosts"], 13, "platform-stg") == "inventory"
    assert inventory_environment(["/runner/inventory/hosts"], 12, "Demo Inventory") == "inventory"
    assert inventory_environment(["/runner/inventory/hosts"], 12, "platform-") == "inventory"
