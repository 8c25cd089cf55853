# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a job template of awx/controller.yml the way an AWX execution node runs it (no AWX server runs here).

What AWX does for a job, and what stands in for it here (each run prints a SIMULATED line saying so):

* the template (playbook, forks, extra vars, survey) is the one awx/filter_plugins/awx_objects.py makes for the
  environment, exactly what awx/configure.yml would post;
* AWX checks the survey answers against the survey spec before it starts anything: ``survey_errors`` applies the
  same rules (required, text length, choices) and a job with an invalid answer is not started;
* the inventory is AWX's own: an inventory update ran the template inventory's source (``ansible-inventory
  --list --export`` on the project's inventory file, with the source's credential), and the job gets the result
  as a script under its private data directory, not the project's inventory directory;
* credentials are injected as AWX injects them: the AWS credential as ``AWS_ACCESS_KEY_ID`` /
  ``AWS_SECRET_ACCESS_KEY``, the custom type through its ``injectors.env`` templates; AWX's own ``JOB_ID``,
  ``INVENTORY_ID`` and ``PROJECT_REVISION`` are in the environment and its ``awx_*`` variables among the extra vars;
* the playbook runs through ansible-runner, the engine of AWX's execution nodes, from the project checkout, and
  the job's private data directory (where ansible-runner keeps the injected credentials) is removed afterwards.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ansible_runner
from jinja2.sandbox import SandboxedEnvironment

from devtools import awx_check
from sandbox.services import REPO_ROOT

VENV_BIN = Path(sys.executable).parent
_JOB_IDS = itertools.count(1001)
ANSI = re.compile(r"\x1b\[[0-9;]*m")


class SurveyRefused(Exception):
    """AWX would not start the job: the answers do not fit the survey (the message lists why)."""


@dataclass
class JobResult:
    template: str
    job_id: int
    rc: int
    status: str
    stdout: str
    stats: dict[str, Any] = field(default_factory=dict)

    @property
    def output(self) -> str:
        return self.stdout

    @property
    def changed(self) -> int:
        return sum((self.stats.get("changed") or {}).values())


def objects(env: str) -> dict[str, list[dict[str, Any]]]:
    """Every object awx/configure.yml would create for ``env`` (awx_objects on controller.yml, that environment)."""
    return awx_check.load_filter().awx_objects({**awx_check.load_config(), "awx_environments": [env]})


def job_templates(env: str) -> dict[str, dict[str, Any]]:
    """The job templates of ``env``, by template name (``site`` ...)."""
    return {template["name"].removesuffix(f"-{env}"): template for template in objects(env)["job_template"]}


def survey_errors(template: Mapping[str, Any], answers: Mapping[str, Any]) -> list[str]:
    """Why AWX would refuse these launch answers (its survey validation: required, length, choices)."""
    spec = template.get("survey_spec") or {}
    questions = {question["variable"]: question for question in spec.get("spec", [])}
    errors = [
        f"{name} is not a survey question and the template does not prompt for variables"
        for name in answers
        if name not in questions and not template.get("ask_variables_on_launch")
    ]
    for name, question in questions.items():
        if name not in answers:
            if question.get("required"):
                errors.append(f"'{question['question_name']}' value missing")
            continue
        value = answers[name]
        if question["type"] in ("text", "textarea", "password"):
            text = str(value)
            if len(text) < int(question.get("min") or 0):
                errors.append(f"'{name}' value {text!r} is too short (at least {question['min']})")
            if question.get("max") not in (None, "") and len(text) > int(question["max"]):
                errors.append(f"'{name}' value is too long (at most {question['max']})")
        elif question["type"] == "multiplechoice":
            choices = question["choices"] if isinstance(question["choices"], list) else question["choices"].split("\n")
            if str(value) not in choices:
                errors.append(f"'{name}' value {value!r} is not one of {', '.join(choices)}")
    return errors


def injected_env(env: str, template: Mapping[str, Any], inputs: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """The environment AWX gives the job from its credentials; ``inputs`` (each credential's input values) by
    credential name. Each credential's type is the one awx_objects gives it."""
    filters = awx_check.load_filter()
    made = objects(env)
    types_of = {credential["name"]: credential["credential_type"] for credential in made["credential"]}
    kinds = {kind["name"]: kind for kind in made["credential_type"]}
    render = SandboxedEnvironment().from_string
    injected: dict[str, str] = {}
    for name in template["credentials"]:
        given = inputs[name]
        if types_of[name] == filters.AWS_CREDENTIAL_TYPE:  # AWX's own type and its injection
            injected["AWS_ACCESS_KEY_ID"] = str(given["username"])
            injected["AWS_SECRET_ACCESS_KEY"] = str(given["password"])
            continue
        for variable, text in kinds[types_of[name]]["injectors"].get("env", {}).items():
            # controller.yml writes AWX's template with the braces escaped for Ansible: '{{ '{{' }} x {{ '}}' }}'.
            awx_template = render(text).render()
            injected[variable] = render(awx_template).render(**given)
    return injected


def synced_inventory(template: Mapping[str, Any], env: str, job_env: Mapping[str, str], private: Path) -> Path:
    """AWX's inventory update for the template's inventory, as the job receives it: an inventory script."""
    source = REPO_ROOT / "inventories" / env / "aws_ec2.yml"
    listed = subprocess.run(
        [str(VENV_BIN / "ansible-inventory"), "-i", str(source), "--list", "--export"],
        cwd=REPO_ROOT, env=os.environ | dict(job_env), capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    if listed.returncode != 0:
        raise RuntimeError(f"inventory update of {template['inventory']} failed: {listed.stderr[-2000:]}")
    inventory = private / "inventory"
    inventory.mkdir(mode=0o700)
    script = inventory / "hosts"
    script.write_text(f"#!{sys.executable}\nimport sys\nsys.stdout.write({listed.stdout!r})\n")
    script.chmod(0o700)
    return inventory


def run_job(
    name: str,
    env: str,
    private: Path,
    *,
    credentials: Mapping[str, Mapping[str, Any]],
    answers: Mapping[str, Any] | None = None,
    environment: Mapping[str, str] | None = None,
    timeout: int = 1500,
) -> JobResult:
    """Launch job template ``<name>-<env>``; ``environment`` adds the machine's own (the sandbox's endpoints).

    Raises ``SurveyRefused`` when AWX would not start it.
    """
    answers = dict(answers or {})
    template = job_templates(env)[name]
    errors = survey_errors(template, answers)
    if errors:
        raise SurveyRefused(f"{template['name']}: " + "; ".join(errors))
    job_id = next(_JOB_IDS)
    private.mkdir(parents=True, mode=0o700)
    revision = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    job_env = {
        **(environment or {}),
        **injected_env(env, template, credentials),
        "JOB_ID": str(job_id),
        "INVENTORY_ID": "7",
        "PROJECT_REVISION": revision,
        "ANSIBLE_RETRY_FILES_ENABLED": "False",
    }
    inventory = synced_inventory(template, env, job_env, private)
    meta = {
        "awx_job_id": job_id,
        "awx_job_template_name": template["name"],
        "awx_inventory_id": 7,
        "awx_inventory_name": template["inventory"],
        "awx_job_launch_type": "manual",
        "awx_project_revision": revision,
        "awx_user_name": "operator",
    }
    print(
        f"SIMULATED: AWX job {job_id} of {template['name']} through ansible-runner (no AWX server runs here): "
        f"inventory {template['inventory']} synced from inventories/{env}/aws_ec2.yml, credentials "
        f"{', '.join(template['credentials'])} injected"
    )
    runner = ansible_runner.run(
        private_data_dir=str(private),
        project_dir=str(REPO_ROOT),
        playbook=template["playbook"],
        inventory=str(inventory),
        extravars={**template["extra_vars"], **answers, **meta},
        envvars=job_env,
        forks=template["forks"],
        quiet=True,
        timeout=timeout,
    )
    stdout = ANSI.sub("", runner.stdout.read() if runner.stdout else "")
    result = JobResult(template["name"], job_id, runner.rc, runner.status, stdout, runner.stats or {})
    # AWX removes a job's private data directory when the job ends: it holds the injected credentials
    # (env/envvars, artifacts/*/command, 0600).
    shutil.rmtree(private)
    return result
