# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The runner's output store: real values for downstream stacks, masked copies for results, examples for plans."""

from __future__ import annotations

import json
import zipfile

import pytest
from ansible_collections.org.platform.plugins.module_utils._terraform.errors import (
    InputMissingError,
    UnknownInputError,
)
from ansible_collections.org.platform.plugins.module_utils._terraform.outputs import OutputStore
from ansible_collections.org.platform.plugins.module_utils._terraform.workspace import StackWorkspace
from ansible_collections.org.platform.plugins.module_utils.stack_graph import graph_from_contract
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import MASK

CONTRACT = {
    "version": 1,
    "stacks": {
        "net": {"outputs": {"vpc_id": {"type": "string", "example": "vpc-example"}, "db_pw": {"type": "string"}}},
        "app": {
            "depends_on": ["net"],
            "variables": {"vpc_id": {"from": "net.vpc_id"}, "pw": {"from": "net.db_pw"}},
        },
    },
}


@pytest.fixture
def store():
    secrets: list[str] = []
    store = OutputStore(graph_from_contract(CONTRACT, "/stacks"), secrets.extend)
    store.secrets = secrets  # what the engine was told to keep out of logs
    return store


def test_sensitive_values_are_masked_in_the_copy_and_handed_over_as_secrets(store):
    masked = store.remember("net", {"vpc_id": {"value": "vpc-1"}, "db_pw": {"value": "s3cr3t!", "sensitive": True}})
    assert masked == {"vpc_id": "vpc-1", "db_pw": MASK}
    assert "s3cr3t!" in store.secrets
    assumed: list[str] = []
    upstream = store.upstream(store.graph["app"], assume_examples=False, assumed=assumed)
    assert upstream == {"net": {"vpc_id": "vpc-1", "db_pw": "s3cr3t!"}}, "downstream stacks get the real values"
    assert assumed == []


def test_a_missing_output_is_an_error_outside_planning(store):
    store.remember("net", {"vpc_id": {"value": "vpc-1"}})
    with pytest.raises(InputMissingError, match="stack net has no output 'db_pw' in its state"):
        store.upstream(store.graph["app"], assume_examples=False, assumed=[])


def test_planning_takes_examples_and_defers_what_only_a_pending_apply_knows(store):
    store.mark_pending("net")
    assumed: list[str] = []
    with pytest.raises(UnknownInputError, match=r"input net\.db_pw is unknown until net is applied"):
        store.upstream(store.graph["app"], assume_examples=True, assumed=assumed)
    assert assumed == ["net.vpc_id"], "the example stands in for the output the plan does not know"


def test_planned_values_replace_todays_and_unknown_changed_outputs_are_dropped(store):
    store.remember("net", {"vpc_id": {"value": "vpc-old"}, "db_pw": {"value": "old-pw", "sensitive": True}})
    store.remember_planned(
        "net", {"vpc_id": {"sensitive": False}, "db_pw": {"value": "new-pw-1", "sensitive": True}}, {"vpc_id": "update"}
    )
    assumed: list[str] = []
    upstream = store.upstream(store.graph["app"], assume_examples=True, assumed=assumed)
    assert upstream["net"] == {"vpc_id": "vpc-example", "db_pw": "new-pw-1"}
    assert assumed == ["net.vpc_id"]
    assert "new-pw-1" in store.secrets
    store.forget("net")
    with pytest.raises(InputMissingError):
        store.upstream(store.graph["app"], assume_examples=False, assumed=[])


def test_a_saved_plan_carries_the_outputs_of_its_state(tmp_path):
    """StackWorkspace.plan_outputs: the prior state inside a saved plan (a zip holding ``tfstate``)."""
    state = {
        "version": 4,
        "serial": 3,
        "outputs": {
            "vpc_id": {"value": "vpc-1", "type": "string"},
            "password": {"value": "s3cr3t-value", "type": "string", "sensitive": True},
        },
    }
    plan = tmp_path / "plan.tfplan"
    with zipfile.ZipFile(plan, "w") as zipped:
        zipped.writestr("tfplan", b"\x00protobuf")
        zipped.writestr("tfstate", json.dumps(state))
    assert StackWorkspace.plan_outputs(plan) == {
        "vpc_id": {"value": "vpc-1", "type": "string", "sensitive": False},
        "password": {"value": "s3cr3t-value", "type": "string", "sensitive": True},
    }
    # Anything else (an encrypted plan, another state version, no state, not a zip): None, so `output -json` runs.
    for entry, text in (("tfstate", json.dumps(state | {"version": 5})), ("tfstate", "ENCRYPTED"), ("other", "{}")):
        with zipfile.ZipFile(plan, "w") as zipped:
            zipped.writestr(entry, text)
        assert StackWorkspace.plan_outputs(plan) is None, (entry, text)
    plan.write_bytes(b"not a zip")
    assert StackWorkspace.plan_outputs(plan) is None
    assert StackWorkspace.plan_outputs(tmp_path / "missing.tfplan") is None
