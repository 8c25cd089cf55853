# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The pure modules run in the controller by their action plugins (plugin_utils/controller_module.py).

The action plugin must accept and refuse exactly what the module's AnsibleModule would (the same argument
spec), return the same result, and start no module process.
"""

from __future__ import annotations

import json

from ansible_collections.org.platform.plugins.module_utils import shared_rds_services


def _results(playbook, tmp_path, tasks: list[dict]) -> list[dict]:
    play = [{"hosts": "localhost", "gather_facts": False, "tasks": []}]
    for number, task in enumerate(tasks):
        play[0]["tasks"].append(task | {"register": f"r{number}", "ignore_errors": True})
    play[0]["tasks"].append(
        {
            "ansible.builtin.copy": {
                "dest": str(tmp_path / "results.json"),
                "content": "{{ [" + ", ".join(f"r{number}" for number in range(len(tasks))) + "] | to_json }}",
                "mode": "0600",
            }
        }
    )
    path = tmp_path / "play.yml"
    path.write_text(json.dumps(play))
    run = playbook(
        path, inventory="localhost,", extra_vars={"ansible_connection": "local"}, env={"ANSIBLE_VERBOSITY": "3"}
    )
    assert run.rc == 0, run.output[-3000:]
    for module in ("shared_rds_services", "stack_vars_check"):
        assert f"plugins/modules/{module}.py" not in run.output, "the module itself started"
    return json.loads((tmp_path / "results.json").read_text())


def test_same_spec_and_result_as_the_module_without_a_module_process(playbook, tmp_path):
    services = [{"name": "orders"}, {"name": "billing", "privileges": ["SELECT"]}]
    good_rds, unknown, wrong_type, missing, bad_service, alias, bad_path = _results(
        playbook,
        tmp_path,
        [
            {"org.platform.shared_rds_services": {"environment": "dev", "services": services}},
            {"org.platform.shared_rds_services": {"environment": "dev", "services": services, "colour": "red"}},
            {"org.platform.shared_rds_services": {"environment": "dev", "services": services, "password_length": "x"}},
            {"org.platform.shared_rds_services": {"services": services}},
            {"org.platform.shared_rds_services": {"environment": "dev", "services": [{"name": "Orders; DROP"}]}},
            {"org.platform.shared_rds_services": {"env": "dev", "services": services}},
            {
                "org.platform.stack_vars_check": {
                    "contract_path": str(tmp_path / "no-such-contract.yml"),
                    "environment": "dev",
                    "aws_region": "us-east-1",
                    "tags": {},
                    "stack_vars": {},
                }
            },
        ],
    )
    expected = shared_rds_services.module_result(
        {
            "environment": "dev",
            "services": services,
            "rotate": [],
            "charset": "utf8mb4",
            "collation": "utf8mb4_unicode_ci",
            "password_length": None,
            "recovery_window_days": None,
        }
    )
    assert not good_rds.get("failed")
    assert {key: good_rds[key] for key in expected} == expected
    assert unknown["failed"]
    assert "Unsupported parameters" in unknown["msg"]
    assert "colour" in unknown["msg"]
    assert wrong_type["failed"]
    assert "password_length" in wrong_type["msg"]
    assert missing["failed"]
    assert "missing required arguments: environment" in missing["msg"]
    assert bad_service["failed"]
    assert "Orders; DROP" in bad_service["msg"]
    assert not alias.get("failed"), "the old option name env is still an alias"
    assert alias["services"] == good_rds["services"]
    assert bad_path["failed"]
    assert "no-such-contract.yml" in bad_path["msg"]
    assert bad_path["problems"]
