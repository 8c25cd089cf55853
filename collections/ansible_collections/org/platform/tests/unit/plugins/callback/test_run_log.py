# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The run_log callback's pure parts: levels, short messages, milestones, masked command lines, options."""

from __future__ import annotations

import json

import pytest
import yaml
from ansible_collections.org.platform.plugins.callback import run_log
from ansible_collections.org.platform.plugins.callback.run_log import (
    classify,
    mask_command_line,
    mask_extra_vars,
    milestone_lines,
    short_message,
)

M = "********"


@pytest.mark.parametrize(
    ("status", "result", "ignore_errors", "rescued", "level"),
    [
        ("ok", {"changed": False}, False, False, "OK"),
        ("ok", {"changed": True}, False, False, "OK"),
        ("ok", {"warnings": ["careful"]}, False, False, "WARN"),
        ("ok", {"deprecations": [{"msg": "old"}]}, False, False, "WARN"),
        ("skipped", {"skip_reason": "Conditional result was False"}, False, False, "OK"),
        ("skipped", {"skip_reason": "Skipped in check mode"}, False, False, "WARN"),
        ("failed", {"msg": "x"}, True, False, "WARN"),
        ("failed", {"msg": "x"}, False, True, "WARN"),
        ("failed", {"msg": "x"}, False, False, "ERR"),
        ("unreachable", {"msg": "x"}, False, False, "ERR"),
        ("async_failed", {}, False, False, "ERR"),
        ("retry", {"attempts": 1}, False, False, "WARN"),
    ],
)
def test_level_mapping(status, result, ignore_errors, rescued, level):
    assert classify(status, result, ignore_errors, rescued) == level


@pytest.mark.parametrize(
    ("status", "result", "kwargs", "message"),
    [
        ("ok", {"changed": True}, {}, "changed"),
        ("ok", {"msg": "All assertions passed"}, {}, "ok: All assertions passed"),
        ("ok", {"censored": "the output has been hidden", "changed": False}, {}, "ok (no_log)"),
        ("failed", {"msg": "boom\nsecond line"}, {}, "failed: boom second line"),
        ("failed", {"stderr": "first\nsecond"}, {"ignore_errors": True}, "failed (ignored): first"),
        ("skipped", {"skip_reason": "Conditional result was False"}, {}, "skipped: Conditional result was False"),
        ("unreachable", {"msg": "no route"}, {}, "unreachable: no route"),
    ],
)
def test_short_messages(status, result, kwargs, message):
    assert short_message(status, result, **kwargs) == message


def test_short_message_is_bounded():
    assert len(short_message("failed", {"msg": "x" * 5000})) == run_log.MESSAGE_LIMIT


STACKS_RESULT = {
    "stacks": [
        {
            "name": "network",
            "action": "apply",
            "status": "changed",
            "counts": {"create": 3, "update": 0},
            "duration_s": 12.34,
            "log_files": ["/r/logs/terraform/a_init.log", "/r/logs/terraform/a_apply.log"],
        },
        {"name": "eks", "action": "apply", "status": "skipped", "error": "upstream network failed", "log_files": []},
        {"name": "db", "action": "apply", "status": "failed", "error": "Error: boom", "duration_s": 1},
    ]
}


@pytest.mark.parametrize(
    ("action", "status", "result", "expected"),
    [
        (
            "org.platform.terraform_stacks",
            "failed",
            STACKS_RESULT,
            [
                (
                    "OK",
                    "network",
                    "action=apply result=changed counts=create:3 duration=12.3s log=/r/logs/terraform/a_apply.log",
                ),
                (
                    "WARN",
                    "eks",
                    "action=apply result=skipped counts=none duration=0.0s log=- error=upstream network failed",
                ),
                ("ERR", "db", "action=apply result=failed counts=none duration=1.0s log=- error=Error: boom"),
            ],
        ),
        (
            "org.platform.cluster_cleanup",
            "ok",
            {
                "stats": {"phase_seconds": {"load_balancers": 1.5, "security_groups": 0.2}},
                "deleted": {"load_balancers": ["a", "b"], "security_groups": ["sg-1"]},
                "revoked_rules": ["sgr-1", "sgr-2"],
                "blockers": [],
                "completed": True,
                "audit_file": "/r/logs/audit/x_cleanup.jsonl",
            },
            [
                (
                    "OK",
                    "",
                    "teardown phases: load_balancers=1.5s security_groups=0.2s "
                    "deleted=load_balancers:2,security_groups:1 revoked_rules=2 blockers=0 completed=True "
                    "audit=/r/logs/audit/x_cleanup.jsonl",
                )
            ],
        ),
        (
            "org.platform.golden_ami",
            "ok",
            {"ami_id": "ami-1", "build_required": False, "reason_code": "found", "reason": "found: ami-1 is current"},
            [("OK", "", "golden AMI: ami=ami-1 build_required=False reason_code=found reason=found: ami-1 is current")],
        ),
        (
            "org.platform.shared_rds_services",
            "ok",
            {"services": [{"name": "orders", "state": "present", "rotate": True}, {"name": "old", "state": "absent"}]},
            [("OK", "", "RDS services: orders(present, rotate), old(absent)")],
        ),
        ("ansible.builtin.assert", "ok", {"msg": "All assertions passed"}, [("OK", "", "guard passed")]),
        (
            "ansible.builtin.assert",
            "failed",
            {"msg": "Rerun with -e confirm_destroy=dev"},
            [("ERR", "", "guard refused: Rerun with -e confirm_destroy=dev")],
        ),
        (
            "org.platform.rke2_node",
            "changed",
            {
                "node_name": "ip-10-61-10-4",
                "unit": "rke2-server.service",
                "actions": ["install", "start"],
                "installed_version": "v1.33.1+rke2r1",
            },
            [("OK", "", "RKE2 node ip-10-61-10-4 (rke2-server.service): actions=install,start version=v1.33.1+rke2r1")],
        ),
        (
            "org.platform.rke2_wait",
            "failed",
            {"ready": False, "waited_s": 30.0, "msg": "node ip-10-61-10-5 not Ready"},
            [("ERR", "", "RKE2 ready=False waited=30.0s error=node ip-10-61-10-5 not Ready")],
        ),
        ("org.platform.terraform_stacks", "ok", {"censored": "hidden"}, []),
        ("ansible.builtin.debug", "ok", {"msg": "x"}, []),
        ("someone.else.terraform_stacks", "ok", STACKS_RESULT, []),
    ],
)
def test_milestones_by_module_name(action, status, result, expected):
    assert milestone_lines(action, status, result) == expected


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("confirm_destroy=dev db_password=hunter22", f"confirm_destroy={M} db_password={M}"),
        ('{"token": "abc", "n": 1}', json.dumps({"token": M, "n": M})),
        ("@vars/secret.yml", "@vars/secret.yml"),
        ("'unbalanced", M),
        ("[1, 2]", M),
    ],
)
def test_extra_vars_values_are_masked(value, shown):
    assert mask_extra_vars(value) == shown


def test_command_line_masks_every_extra_vars_form():
    argv = ["ansible-playbook", "site.yml", "-i", "inv", "-e", "a=CANARY1", "--extra-vars=b=CANARY2", "-ec=CANARY3"]
    argv += ["--extra-vars", '{"d": "CANARY4"}', "--check"]
    shown = mask_command_line(argv)
    assert "CANARY" not in shown
    assert shown == (
        "ansible-playbook site.yml -i inv -e 'a=********' '--extra-vars=b=********' '-ec=********' "
        """--extra-vars '{"d": "********"}' --check"""
    )


def test_documentation_lists_every_option_with_env_and_ini():
    doc = yaml.safe_load(run_log.DOCUMENTATION)
    assert doc["type"] == "notification"
    assert set(doc["options"]) == {"log_dir", "level", "retention", "upload", "upload_kms_key_id"}
    for name, option in doc["options"].items():
        env = "ORG_PLATFORM_RUN_LOG_" + name.upper().removeprefix("LOG_")
        assert option["env"] == [{"name": env}]
        assert option["ini"] == [{"section": "callback_run_log", "key": name}]
    assert doc["options"]["level"]["choices"] == ["milestones", "tasks"]
    assert run_log.CallbackModule.CALLBACK_NEEDS_ENABLED is True


class _RecordingTemplar:
    def __init__(self):
        self.seen = []

    def template(self, value):
        self.seen.append(value)
        return f"templated:{value}"


@pytest.mark.parametrize(
    ("value", "templated"),
    [
        ("{{ lookup('ansible.builtin.file', 'pw') }}", True),
        ("{{ vault_db_password }}", True),
        ("{{ lookup('ansible.builtin.password', '/tmp/pw length=20') }}", False),
        ("{{ lookup('password', 'credentials/x') }}", False),
        ("{{ query( \"ansible.legacy.password\", 'x') }}", False),
    ],
)
def test_secret_values_are_templated_except_through_the_password_lookup(value, templated):
    templar = _RecordingTemplar()
    out = run_log.CallbackModule._template(templar, value)
    assert (out == f"templated:{value}") is templated
    assert bool(templar.seen) is templated


def test_registered_values_are_output_and_secret_keys_only():
    registered = {
        "changed": False,
        "rc": 0,
        "cmd": ["echo", "x"],
        "start": "2026-12-02 07:00:00.1",
        "stdout": "CANARY-out",
        "name": "orders-credentials",
        "tags": {"Project": "platform", "Environment": "sandbox"},
        "password": "CANARY-pw",
        "secret": {"name": "sandbox-master", "tags": {"Team": "platform"}, "secret_string": "CANARY-ss"},
        "results": [{"item": "CANARY-item", "ansible_loop_var": "item", "stdout_lines": ["CANARY-line"]}],
        "_ansible_no_log": True,
    }
    assert sorted(set(run_log.registered_values(registered))) == [
        "CANARY-item",
        "CANARY-line",
        "CANARY-out",
        "CANARY-pw",
        "CANARY-ss",
    ]


@pytest.mark.parametrize(
    ("value", "secrets"),
    [
        ({"plain_fact": "CANARY-1"}, ["CANARY-1"]),
        ({"master": {"host": "db.internal", "port": 3306, "password": "CANARY-2"}}, ["CANARY-2"]),
        ({"api_token": {"value": "CANARY-3"}}, ["CANARY-3"]),
        (["CANARY-4", {"name": "svc", "secret": "CANARY-5"}], ["CANARY-4", "CANARY-5"]),
        ("CANARY-6", ["CANARY-6"]),
    ],
)
def test_quiet_values_of_no_log_facts_and_loops(value, secrets):
    assert run_log.quiet_values(value) == secrets


@pytest.mark.parametrize(
    ("action", "args", "public"),
    [
        ("ssm_parameter", {"value": "ami-0123", "string_type": "String"}, True),
        ("ssm_parameter", {"value": "ami-0123"}, True),
        ("ssm_parameter", {"value": "s3cr3t", "string_type": "SecureString"}, False),
        ("mysql_user", {"password": "x"}, False),
    ],
)
def test_public_no_log_parameters(action, args, public):
    key = "value" if "value" in args else "password"
    assert run_log._public_no_log_parameter(action, key, args) is public
