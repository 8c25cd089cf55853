# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Drift classification from two plans' ``show -json`` (the runner's _terraform/drift.py).

HAND-MADE fixtures in Terraform's plan JSON format (format_version 1.2: ``resource_drift``, ``resource_changes``,
``output_changes``): real drift needs a resource whose read sees the outside world, and the bundled engine's
only built-in resource (terraform_data) reads back its own state, so it can never drift. The engine-made cases
(clean, pending, error, state unchanged) are in tests/integration/test_stack_runner_drift.py.
"""

from __future__ import annotations

import datetime
import json
import os
import stat

import pytest
from ansible_collections.org.platform.plugins.module_utils._terraform.drift import (
    attribute_paths,
    classify,
    error_entry,
    load_ignores,
    worst,
    write_report,
)
from ansible_collections.org.platform.plugins.module_utils._terraform.errors import StackRunnerError

TODAY = datetime.date(2026, 12, 2)
EMPTY = {"format_version": "1.2", "resource_changes": [], "output_changes": {}}


def sg_drift(before_cidr="10.0.0.0/16", after_cidr="0.0.0.0/0", tag="a"):
    return {
        "address": "aws_security_group.nodes",
        "mode": "managed",
        "type": "aws_security_group",
        "name": "nodes",
        "change": {
            "actions": ["update"],
            "before": {"ingress": [{"cidr_blocks": [before_cidr], "from_port": 22}], "tags": {"Scan": "x"}},
            "after": {"ingress": [{"cidr_blocks": [after_cidr], "from_port": 22}], "tags": {"Scan": tag}},
        },
    }


def refresh(*drift, outputs=None):
    return EMPTY | {"resource_drift": list(drift), "output_changes": outputs or {}}


def plan(*changes, outputs=None):
    return EMPTY | {
        "resource_changes": [
            {"address": a, "mode": "managed", "change": {"actions": actions}} for a, actions in changes
        ],
        "output_changes": outputs or {},
    }


NOOP = ("terraform_data.same", ["no-op"])


def test_clean():
    entry = classify("s", refresh(), plan(NOOP, outputs={"name": {"actions": ["no-op"]}}), today=TODAY)
    assert entry["status"] == "clean"
    assert entry["drift"] == []
    assert entry["pending"] == {}


def test_resource_drift_names_address_and_attribute_paths_without_values():
    entry = classify("s", refresh(sg_drift()), plan(NOOP), today=TODAY)
    assert entry["status"] == "drifted"
    assert entry["drift"] == [
        {
            "address": "aws_security_group.nodes",
            "actions": ["update"],
            "attributes": ["ingress.0.cidr_blocks.0", "tags.Scan"],
        }
    ]
    assert "0.0.0.0/0" not in json.dumps(entry)


def test_deleted_outside_terraform():
    gone = {"address": "aws_instance.x", "change": {"actions": ["delete"], "before": {"id": "i-1"}, "after": None}}
    entry = classify("s", refresh(gone), plan(("aws_instance.x", ["create"])), today=TODAY)
    assert entry["status"] == "drifted"
    assert entry["drift"][0]["attributes"] == ["(deleted outside Terraform)"]
    assert entry["pending"]["resources"] == {"create": ["aws_instance.x"]}


def test_output_only_change_under_refresh_only_is_pending_not_drift():
    # plan -refresh-only -detailed-exitcode exits 2 here (hashicorp/terraform#37406): no resource drift.
    added = {"new_output": {"actions": ["create"], "before": None, "after": "v"}}
    entry = classify("s", refresh(outputs=added), plan(NOOP, outputs=added), today=TODAY)
    assert entry["status"] == "pending"
    assert entry["pending"] == {"resources": {}, "outputs": {"new_output": "create"}}


def test_pending_update():
    entry = classify("s", refresh(), plan(("terraform_data.keep", ["update"]), NOOP), today=TODAY)
    assert entry["status"] == "pending"
    assert entry["pending"]["resources"] == {"update": ["terraform_data.keep"]}


def test_pending_create_and_replace():
    entry = classify(
        "s",
        refresh(),
        plan(("terraform_data.new", ["create"]), ("terraform_data.r", ["create", "delete"])),
        today=TODAY,
    )
    assert entry["status"] == "pending"
    assert entry["pending"]["resources"] == {"create": ["terraform_data.new"], "replace": ["terraform_data.r"]}


def test_drift_and_pending_reports_both_with_drift_first():
    entry = classify("s", refresh(sg_drift()), plan(("aws_security_group.nodes", ["update"])), today=TODAY)
    assert entry["status"] == "drifted"
    assert entry["pending"]["resources"] == {"update": ["aws_security_group.nodes"]}


def test_ignored_attribute_and_expired_ignore():
    ignores = load_ignores(
        [
            {
                "address": "aws_security_group.*",
                "attribute": "tags",
                "reason": "scanner tag",
                "owner": "o@x",
                "expires": "2027-01-31",
            },
        ]
    )
    entry = classify("s", refresh(sg_drift()), plan(NOOP), ignores, today=TODAY)
    assert entry["status"] == "drifted"
    assert entry["drift"][0]["attributes"] == ["ingress.0.cidr_blocks.0"]
    assert [(i["address"], i["attribute"]) for i in entry["ignored"]] == [("aws_security_group.nodes", "tags.Scan")]

    only_tags = refresh(sg_drift(before_cidr="1.1.1.1/32", after_cidr="1.1.1.1/32"))
    assert classify("s", only_tags, plan(NOOP), ignores, today=TODAY)["status"] == "clean"
    expired = classify("s", only_tags, plan(NOOP), ignores, today=datetime.date(2027, 2, 1))
    assert expired["status"] == "drifted"
    assert expired["expired_ignores"] == ["ignored by o@x until 2027-01-31: scanner tag"]
    # Another stack's ignore does not apply.
    other = load_ignores([{"address": "*", "stack": "other", "reason": "r", "owner": "o", "expires": "2027-01-31"}])
    assert classify("s", only_tags, plan(NOOP), other, today=TODAY)["status"] == "drifted"


def test_error_outranks_everything():
    assert worst(["clean", "drifted", "error", "pending"]) == "error"
    assert worst(["clean", "pending", "drifted"]) == "drifted"
    assert worst(["clean", "pending"]) == "pending"
    assert worst([]) == "clean"
    assert error_entry("plan failed: boom")["status"] == "error"


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"address": "a"}, "missing expires, owner, reason"),
        ({"address": "a", "reason": "r", "owner": "o", "expires": "soon"}, "'soon' is not a date"),
        ({"address": "a", "reason": "r", "owner": "o", "expires": "2027-01-01", "until": 1}, "unknown key(s) until"),
        ({"address": "", "reason": "r", "owner": "o", "expires": "2027-01-01"}, "address must be a non-empty string"),
        ("a", "must be a mapping"),
    ],
)
def test_bad_ignore_entries_are_refused(entry, message):
    with pytest.raises(StackRunnerError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_ignores([entry])


def test_attribute_paths():
    assert attribute_paths({"a": 1}, {"a": 1}) == []
    assert attribute_paths({"a": [1, 2]}, {"a": [1, 2, 3]}) == ["a"]
    assert attribute_paths("x", "y") == ["(whole object)"]


def test_report_files_follow_the_log_rule(tmp_path):
    entries = {
        "a": classify("a", refresh(sg_drift()), plan(NOOP), today=TODAY),
        "b": error_entry("plan failed: lock | held"),
        "c": classify("c", refresh(), plan(NOOP), today=TODAY),
    }
    json_path, md_path = write_report(tmp_path / "drift", "dev", entries, "20261202T083000Z", "3f9a1c")
    assert json_path.name == "20261202T083000Z-3f9a1c_drift_dev.json"
    assert md_path.name == "20261202T083000Z-3f9a1c_drift_dev.md"
    assert stat.S_IMODE(os.stat(json_path).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "drift").st_mode) == 0o700
    document = json.loads(json_path.read_text())
    assert document["status"] == "error"
    assert [document["stacks"][n]["status"] for n in "abc"] == ["drifted", "error", "clean"]
    text = md_path.read_text()
    assert (
        "| a | drifted | aws_security_group.nodes | aws_security_group.nodes: ingress.0.cidr_blocks.0, tags.Scan |"
        in text
    )
    assert "| b | error |  | plan failed: lock \\| held |" in text
    assert "| c | clean |  |  |" in text
