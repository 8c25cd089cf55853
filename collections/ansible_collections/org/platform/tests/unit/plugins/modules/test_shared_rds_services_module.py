# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin module: `environment` like every module of the collection, `env` still accepted as its alias."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.org.platform.plugins.modules import shared_rds_services


def run_module(args: dict, capsys) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        shared_rds_services.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize("name", ["environment", "env"])
def test_environment_parameter_and_its_old_alias(name, capsys):
    result = run_module({"services": ["fileflow"], name: "stg"}, capsys)
    assert not result.get("failed"), result
    assert result["services"][0]["secret_name"] == "/stg/fileflow/db-credentials"


def test_a_bad_environment_is_refused_with_the_rule(capsys):
    result = run_module({"services": ["fileflow"], "environment": "Prod"}, capsys)
    assert result["failed"] is True
    assert "invalid environment name: environment 'Prod' must be lower-case letters" in result["msg"]
