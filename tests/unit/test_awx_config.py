# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""awx/ checked offline (devtools/awx_check.py): no AWX server can run here, so what a server would refuse, or
what would fail only when a job runs, is checked against the installed awx.awx modules and the repository."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from devtools import awx_check

REPO_ROOT = Path(__file__).resolve().parents[2]
BROKEN = Path(__file__).parent / "fixtures" / "awx_broken"


@pytest.fixture(scope="module")
def made():
    return awx_check.objects()


def test_every_object_validates_against_its_awx_module(made):
    assert awx_check.spec_problems(made) == []
    assert awx_check.task_problems(made) == []
    assert awx_check.consistency_problems(made) == []


def test_the_checks_name_what_is_broken():
    broken = awx_check.objects(awx_check.load_config(BROKEN / "controller.yml"))
    consistency = awx_check.consistency_problems(broken)
    assert "job template destroy-dev: survey variable confirm_destory is read by no play of destroy.yml" in consistency
    assert "job template golden-ami-prod: playbook playbooks/golden-ami.yml does not exist" in consistency
    tasks = awx_check.task_problems(broken, BROKEN / "configure.yml")
    assert "configure.yml, task 'Job templates': awx.awx.job_template has no option 'survey_enable'" in tasks
    assert "configure.yml, task 'Job templates': does not pass 'forks' of job_template" in tasks
    assert "configure.yml, task 'Job templates': does not pass 'survey_enabled' of job_template" in tasks
    # A value of the wrong type for the module: the module's own spec refuses it.
    broken["job_template"][0]["forks"] = "many"
    broken["inventory_source"][0]["source"] = "ftp"
    spec = awx_check.spec_problems(broken)
    assert any(p.startswith("job_template site-dev: ") and "forks" in p for p in spec), spec
    assert any(p.startswith("inventory_source aws-ec2-dev: ") and "source" in p for p in spec), spec


def test_a_true_false_answer_must_be_read_through_bool(made, tmp_path):
    (tmp_path / "destroy.yml").write_text(
        "- hosts: localhost\n  tasks:\n    - ansible.builtin.assert:\n        that: allow_prod_destroy == 'yes'\n"
        "    - ansible.builtin.debug:\n        msg: '{{ confirm_destroy }}'\n"
    )
    (tmp_path / "inventories").mkdir()
    only_destroy = {"job_template": [t for t in made["job_template"] if t["name"] == "destroy-prod"]}
    assert awx_check.consistency_problems(only_destroy, repo=tmp_path) == [
        "job template destroy-prod: allow_prod_destroy answers true/false but is not read through | bool"
    ]


def test_what_the_filter_makes(made):
    templates = {t["name"]: t for t in made["job_template"]}
    assert set(templates) == {
        f"{name}-{env}"
        for name in ("site", "destroy", "drift", "infrastructure", "golden-ami", "shared-rds")
        for env in ("dev", "stg", "prod")
    }
    # The survey: the environment typed again; prod also asks for the second switch.
    dev, prod = templates["destroy-dev"]["survey_spec"]["spec"], templates["destroy-prod"]["survey_spec"]["spec"]
    assert [q["variable"] for q in dev] == ["confirm_destroy"]
    assert [q["variable"] for q in prod] == ["confirm_destroy", "allow_prod_destroy"]
    # Every key AWX keeps for a question, so the module's plain comparison finds no change on a rerun.
    assert all(
        set(q) == set(awx_check.load_filter().QUESTION_DEFAULTS) | {"variable", "question_name", "type"} for q in prod
    )
    assert templates["site-dev"]["survey_enabled"] is False
    assert templates["site-dev"]["survey_spec"] == {}
    # Forks from the fleet (6 and 60 nodes, bounded to 5..50); nothing sliced.
    assert (templates["site-dev"]["forks"], templates["site-prod"]["forks"]) == (6, 50)
    assert {t["job_slice_count"] for t in templates.values()} == {1}
    assert templates["drift-prod"]["notification_templates_error"] == ["platform-drift-failed"]
    assert templates["site-prod"]["credentials"] == ["aws-prod", "platform-prod"]
    # Secrets only in the credentials, rewritten only on request; marker on every object.
    assert all(credential["update_secrets"] is False for credential in made["credential"])
    marker = awx_check.load_config()["awx_marker"]
    assert all(marker in item["description"] for items in made.values() for item in items)
    nodes = made["workflow_job_template"][0]["workflow_nodes"]
    assert [n["identifier"] for n in nodes] == ["infrastructure", "site"]
    assert nodes[0]["related"]["success_nodes"] == [{"identifier": "site"}]
    assert nodes[0]["unified_job_template"]["name"] == "infrastructure-dev"


def test_stale_objects_are_only_marked_ones_no_longer_listed(made):
    marker = awx_check.load_config()["awx_marker"]
    found = [
        {"name": "site-dev", "description": f"kept {marker}"},
        {"name": "old-report-dev", "description": f"gone from the code {marker}", "summary_fields": {}},
        {"name": "hand-made", "description": "made in the UI"},
    ]
    stale = awx_check.load_filter().awx_stale(found, "job_template", made, marker)
    assert [item["name"] for item in stale] == ["old-report-dev"]


def test_configure_playbook_passes_syntax_check():
    run = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "--syntax-check",
            "awx/configure.yml",
            "-i",
            "localhost,",
        ],
        cwd=REPO_ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_a_launch_is_checked_against_the_survey_as_awx_checks_it():
    """sandbox/awx_job.py stands in for AWX's launch: the answers AWX would refuse never start a job."""
    from sandbox import awx_job

    prod = awx_job.job_templates("prod")["destroy"]
    assert awx_job.survey_errors(prod, {"confirm_destroy": "prod", "allow_prod_destroy": "false"}) == []
    assert awx_job.survey_errors(prod, {"confirm_destroy": "prod", "allow_prod_destroy": "yes"}) == [
        "'allow_prod_destroy' value 'yes' is not one of false, true"
    ]
    assert awx_job.survey_errors(prod, {"confirm_destroy": "p" * 17, "allow_prod_destroy": "true"}) == [
        "'confirm_destroy' value is too long (at most 16)"
    ]
    site = awx_job.job_templates("dev")["site"]
    assert awx_job.survey_errors(site, {"platform_env": "prod"}) == [
        "platform_env is not a survey question and the template does not prompt for variables"
    ]


def test_credentials_are_injected_as_awx_injects_them():
    from sandbox import awx_job

    template = awx_job.job_templates("stg")["site"]
    inputs = {
        "aws-stg": {"username": "AKIAEXAMPLE", "password": "example-secret-key"},
        "platform-stg": {"platform_account_id": "210987654321"},
    }
    assert awx_job.injected_env("stg", template, inputs) == {
        "AWS_ACCESS_KEY_ID": "AKIAEXAMPLE",
        "AWS_SECRET_ACCESS_KEY": "example-secret-key",
        "PLATFORM_ACCOUNT_ID": "210987654321",
    }
