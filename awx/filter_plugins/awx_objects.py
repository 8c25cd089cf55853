# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""awx_objects: awx/controller.yml's data -> the arguments of each awx.awx module, in the order they are applied.

The expansion (one job template, inventory and credential pair per environment, slicing from the fleet size,
the survey in the form AWX stores it) is Python so that it is tested offline: ``tests/unit/test_awx_config.py``
validates every dict this returns against the argument spec of the installed awx.awx module it is meant for,
and checks every survey variable and playbook against the repository.

Two awx.awx idempotence traps are handled here, so a second apply reports nothing changed:

* ``job_template`` compares ``survey_spec`` with plain ``!=`` against what the server stores (awx#7554), and
  the server keeps a question as it was posted (the UI posts every key), so each question is posted with
  every key, the UI's defaults filled in (``survey_question``); an edit in the UI then shows as a change.
* ``credential`` defaults to ``update_secrets: true`` and then rewrites, and reports, every secret on every run;
  credentials are applied with ``update_secrets`` from ``awx_update_secrets`` (false unless rotating).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

EE_NAME = "org-platform-ee"
PROJECT_NAME = "org-platform"
AWS_CREDENTIAL_TYPE = "Amazon Web Services"  # AWX's own type: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY
PLATFORM_CREDENTIAL_TYPE = "org.platform environment"
# The order configure.yml applies them in (each may name the ones before it).
KINDS = (
    "organization",
    "credential_type",
    "credential",
    "execution_environment",
    "project",
    "inventory",
    "inventory_source",
    "notification_template",
    "job_template",
    "schedule",
    "workflow_job_template",
)
# The keys AWX keeps for a survey question (awx/api/serializers: SurveySpec), with the defaults the UI sends.
QUESTION_DEFAULTS: dict[str, Any] = {
    "question_description": "",
    "required": False,
    "min": 0,
    "max": 1024,
    "default": "",
    "choices": "",
    "new_question": True,
}
QUESTION_TYPES = ("text", "textarea", "password", "integer", "float", "multiplechoice", "multiselect")


class AwxConfigError(ValueError):
    """awx/controller.yml holds something that cannot be applied; the message names it."""


def survey_question(question: Mapping[str, Any]) -> dict[str, Any]:
    """One question with every key AWX keeps for it (the defaults the UI posts), keys sorted."""
    for key in ("variable", "question_name", "type"):
        if not question.get(key):
            raise AwxConfigError(f"survey question {dict(question)!r} has no {key}")
    if question["type"] not in QUESTION_TYPES:
        raise AwxConfigError(f"survey question {question['variable']}: unknown type {question['type']!r}")
    stored = QUESTION_DEFAULTS | dict(question)
    return {key: stored[key] for key in sorted(stored)}


def survey_spec(name: str, questions: list[Mapping[str, Any]]) -> dict[str, Any]:
    return {"name": name, "description": "", "spec": [survey_question(q) for q in questions]} if questions else {}


def _describe(text: str, marker: str) -> str:
    return f"{text} {marker}".strip()


def awx_objects(data: Mapping[str, Any], secrets: Mapping[str, Any] | None = None) -> dict[str, list[dict[str, Any]]]:
    """Every object of ``data`` (awx/controller.yml) as the arguments of its awx.awx module, grouped by kind."""
    marker, org = data["awx_marker"], data["awx_organization"]
    environments = list(data["awx_environments"])
    secrets = secrets or {}
    update_secrets = bool(data.get("awx_update_secrets", False))
    out: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    out["organization"].append({"name": org, "description": _describe("Platform team", marker)})
    for credential_type in data["awx_credential_types"]:
        out["credential_type"].append(
            {
                "name": credential_type["name"],
                "description": _describe("What the org.platform playbooks read besides AWS", marker),
                "kind": credential_type["kind"],
                "inputs": credential_type["inputs"],
                "injectors": credential_type["injectors"],
            }
        )
    out["execution_environment"].append(
        {
            "name": EE_NAME,
            "image": data["awx_ee_image"],
            "pull": "missing",
            "organization": org,
            "description": _describe("execution-environment.yml", marker),
        }
    )
    out["project"].append(
        {
            "name": PROJECT_NAME,
            "organization": org,
            "scm_type": "git",
            "scm_url": data["awx_project_scm_url"],
            "scm_branch": data["awx_project_scm_branch"],
            "scm_clean": True,
            "scm_update_on_launch": True,
            "default_environment": EE_NAME,
            "description": _describe("The org.platform repository", marker),
        }
    )
    for env in environments:
        env_secrets = secrets.get(env, {})
        out["credential"] += [
            {
                "name": f"aws-{env}",
                "organization": org,
                "credential_type": AWS_CREDENTIAL_TYPE,
                "inputs": {
                    "username": env_secrets.get("aws_access_key_id", ""),
                    "password": env_secrets.get("aws_secret_access_key", ""),
                },
                "update_secrets": update_secrets,
                "description": _describe(f"AWS credentials of {env}", marker),
            },
            {
                "name": f"platform-{env}",
                "organization": org,
                "credential_type": PLATFORM_CREDENTIAL_TYPE,
                "inputs": {"platform_account_id": str(env_secrets.get("platform_account_id", ""))},
                "update_secrets": update_secrets,
                "description": _describe(f"Account id of {env}", marker),
            },
        ]
        out["inventory"].append(
            {"name": f"platform-{env}", "organization": org, "description": _describe(f"Environment {env}", marker)}
        )
        out["inventory_source"].append(
            {
                "name": f"aws-ec2-{env}",
                "inventory": f"platform-{env}",
                "organization": org,
                "source": "scm",
                "source_project": PROJECT_NAME,
                "source_path": f"inventories/{env}/aws_ec2.yml",
                "credential": f"aws-{env}",
                "execution_environment": EE_NAME,
                "overwrite": True,
                "overwrite_vars": True,
                "update_on_launch": True,
                "update_cache_timeout": 300,
                "description": _describe(f"EC2 instances of {env} (inventories/{env})", marker),
            }
        )
    errors_of: dict[str, list[str]] = {}
    for notification in data.get("awx_notification_templates", []):
        out["notification_template"].append(
            {
                "name": notification["name"],
                "organization": org,
                "notification_type": notification["notification_type"],
                "notification_configuration": notification["notification_configuration"],
                "description": _describe("Failed runs", marker),
            }
        )
        for template in notification.get("on_error_of", []):
            errors_of.setdefault(template, []).append(notification["name"])
    known = {template["name"] for template in data["awx_job_templates"]}
    for name in errors_of:
        if name not in known:
            raise AwxConfigError(f"notification on errors of unknown job template {name!r}")
    low, high = (int(bound) for bound in data.get("awx_forks_bounds", [5, 50]))
    for template in data["awx_job_templates"]:
        for env in environments:
            questions = list(template.get("survey", []))
            if env == "prod":
                questions += template.get("prod_survey", [])
            forks = int(template.get("forks", low))
            if template.get("forks_from_fleet"):
                forks = min(high, max(low, int(data["awx_fleet_sizes"].get(env, 0))))
            out["job_template"].append(
                {
                    "name": f"{template['name']}-{env}",
                    "description": _describe(template["description"], marker),
                    "organization": org,
                    "project": PROJECT_NAME,
                    "playbook": template["playbook"],
                    "inventory": f"platform-{env}",
                    "credentials": [f"aws-{env}", f"platform-{env}"],
                    "execution_environment": EE_NAME,
                    "forks": forks,
                    # Never sliced: a sliced job runs the control-node plays once per slice (see controller.yml).
                    "job_slice_count": 1,
                    "extra_vars": dict(data.get("awx_common_extra_vars", {})),
                    "survey_enabled": bool(questions),
                    "survey_spec": survey_spec(f"{template['name']} {env}", questions),
                    # The only launch-time choice: which hosts (the environment is the inventory, fixed here).
                    "ask_limit_on_launch": True,
                    "ask_variables_on_launch": False,
                    "ask_inventory_on_launch": False,
                    "ask_credential_on_launch": False,
                    "allow_simultaneous": False,
                    "notification_templates_error": errors_of.get(template["name"], []),
                }
            )
    for schedule in data.get("awx_schedules", []):
        if schedule["template"] not in known:
            raise AwxConfigError(f"schedule {schedule['name']}: unknown job template {schedule['template']!r}")
        for env in environments:
            out["schedule"].append(
                {
                    "name": f"{schedule['name']}-{env}",
                    "unified_job_template": f"{schedule['template']}-{env}",
                    "organization": org,
                    "rrule": schedule["rrule"],
                    "enabled": True,
                    "description": _describe(f"{schedule['template']} of {env}", marker),
                }
            )
    for workflow in data.get("awx_workflows", []):
        identifiers = {node["identifier"] for node in workflow["nodes"]}
        for node in workflow["nodes"]:
            if node["template"] not in known:
                raise AwxConfigError(f"workflow {workflow['name']}: unknown job template {node['template']!r}")
            for target in node.get("success_nodes", []):
                if target not in identifiers:
                    raise AwxConfigError(f"workflow {workflow['name']}: node {target!r} is not declared")
        for env in environments:
            out["workflow_job_template"].append(
                {
                    "name": f"{workflow['name']}-{env}",
                    "organization": org,
                    "inventory": f"platform-{env}",
                    "description": _describe(workflow["description"], marker),
                    # Declared by identifier: nodes are matched, not recreated, so a rerun changes nothing.
                    "workflow_nodes": [
                        {
                            "identifier": node["identifier"],
                            "unified_job_template": {
                                "name": f"{node['template']}-{env}",
                                "type": "job_template",
                                "organization": {"name": org},
                            },
                            "related": {
                                "success_nodes": [{"identifier": target} for target in node.get("success_nodes", [])],
                                "failure_nodes": [],
                                "always_nodes": [],
                            },
                        }
                        for node in workflow["nodes"]
                    ],
                }
            )
    return out


def awx_stale(
    found: list[Mapping[str, Any]], kind: str, objects: Mapping[str, list[Mapping[str, Any]]], marker: str
) -> list[dict[str, Any]]:
    """The objects of ``kind`` found on the controller that carry ``marker`` but are not in ``objects``.

    ``found`` is what the controller_api lookup returned (API objects with ``summary_fields``); each stale one
    comes back with what its module needs to find it for ``state: absent``.
    """
    keep = {listed["name"] for listed in objects[kind]}
    stale = []
    for item in found:
        if marker not in (item.get("description") or "") or item["name"] in keep:
            continue
        summary = item.get("summary_fields", {})
        stale.append(
            {
                "kind": kind,
                "name": item["name"],
                "credential_type": summary.get("credential_type", {}).get("name", ""),
                "inventory": summary.get("inventory", {}).get("name", ""),
                "organization": summary.get("organization", {}).get("name", ""),
            }
        )
    return stale


class FilterModule:
    def filters(self) -> dict[str, Any]:
        return {"awx_objects": awx_objects, "awx_stale": awx_stale}
