# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin module: its argument spec and input checks fail clearly before any AWS call."""

from __future__ import annotations

import json

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.org.platform.plugins.modules import golden_ami


@pytest.fixture(autouse=True)
def no_aws(monkeypatch, tmp_path):
    """No region from the environment or config files, and an endpoint nothing listens on."""
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_PROFILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "unit")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "unit")


def run_module(args: dict, capsys) -> dict:
    with patch_module_args(args), pytest.raises(SystemExit):
        golden_ami.main()
    return json.loads(capsys.readouterr().out)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"region": "us-east-1", "arch": "sparc", "build_hash": "x"}, "value of arch must be one of: x86_64, arm64"),
        ({"region": "us-east-1", "build_hash": "x", "max_age_days": -1}, "max_age_days must be 0 (no limit)"),
        ({"build_hash": "x"}, "region is required"),
        ({"region": "us-east-1"}, "one of the following is required: build_hash, packer_dir"),
        ({"region": "us-east-1", "build_hash": "x", "packer_dir": "/p"}, "mutually exclusive"),
        ({"region": "us-east-1", "build_hash": "x", "deregister_old": True, "keep": 0}, "keep must be at least 1"),
        ({"region": "us-east-1", "packer_dir": "/nonexistent"}, "Packer template not found"),
    ],
    ids=["unknown-arch", "negative-age", "missing-region", "no-hash", "hash-and-dir", "keep-zero", "no-template"],
)
def test_bad_input_fails_before_aws(args: dict, message: str, capsys) -> None:
    # An endpoint nothing listens on: reaching AWS would fail differently (and slowly), not with `message`.
    result = run_module({"endpoint_url": "http://127.0.0.1:9", **args}, capsys)
    assert result["failed"] is True
    assert message in result["msg"]
