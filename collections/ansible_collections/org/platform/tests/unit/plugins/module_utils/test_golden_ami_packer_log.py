# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The Packer build log follows the collection's log rule: a real `packer build` of a `null` source, offline.

Packer's built-in ``null`` builder with ``communicator = "none"`` and a ``shell-local`` provisioner builds
nothing and needs no AWS, so these tests run the real Packer (Debian's 1.6.6) and read the file it produced.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import stat
import subprocess
import time
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args
from ansible_collections.org.platform.plugins.module_utils._runlog import parse_log_name
from ansible_collections.org.platform.plugins.module_utils.golden_ami import GoldenAmiError, run_packer_build
from ansible_collections.org.platform.plugins.modules import golden_ami_build
from ansible_collections.org.platform.tests.unit.plugins.modules.module_docs import assert_documented

PACKER = shutil.which("packer")
needs_packer = pytest.mark.skipif(PACKER is None, reason="packer is not installed (Debian package `packer`; make deps)")
SECRET = "Zx9-session-token-value-77"
STAMPED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z (?P<text>.*)$")


def template(tmp_path: Path, *commands: str) -> Path:
    inline = ", ".join(json.dumps(command) for command in commands)
    path = tmp_path / "t.pkr.hcl"
    path.write_text(
        'variable "greeting" {\n  type = string\n}\n\n'
        'source "null" "t" {\n  communicator = "none"\n}\n\n'
        'build {\n  sources = ["source.null.t"]\n\n'
        f'  provisioner "shell-local" {{\n    inline = [{inline}]\n  }}\n}}\n'
    )
    return path


def environ(tmp_path: Path) -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(tmp_path), "AWS_SESSION_TOKEN": SECRET}


def build(tmp_path: Path, *commands: str, timeout_s: float | None = 60):
    return run_packer_build(
        PACKER or "packer",
        template(tmp_path, *commands),
        {"greeting": "hello-from-vars"},
        tmp_path / "logs" / "packer",
        "dev",
        "arm64",
        env=environ(tmp_path),
        timeout_s=timeout_s,
    )


@needs_packer
def test_the_build_log_is_named_private_stamped_and_redacted(tmp_path):
    run = build(
        tmp_path, "echo ${var.greeting}", "echo token is $AWS_SESSION_TOKEN", "echo 'us-east-1: ami-0123456789abcdef0'"
    )
    assert run.rc == 0, run.tail
    log = Path(run.log_file)
    name = parse_log_name(log.name)
    assert name is not None, log.name
    assert (name.what, name.env) == ("golden-ami-arm64", "dev")
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    assert stat.S_IMODE(log.parent.stat().st_mode) == 0o700
    var_file = Path(run.var_file)
    assert var_file.name == log.name.removesuffix(".log") + ".pkrvars.json"
    assert stat.S_IMODE(var_file.stat().st_mode) == 0o600
    assert json.loads(var_file.read_text()) == {"greeting": "hello-from-vars"}
    lines = log.read_text().splitlines()
    texts = []
    for line in lines:
        match = STAMPED.match(line)
        assert match, f"not stamped by line_stamp: {line!r}"
        texts.append(match["text"])
    body = "\n".join(texts)
    assert "hello-from-vars" in body
    assert "[INFO] Packer version" in body, "Packer's debug log (PACKER_LOG=1) is in the same file"
    assert not any(re.match(r"\d{4}/\d\d/\d\d ", text) for text in texts), "Packer's own Go stamp is replaced"
    assert SECRET not in log.read_text()
    assert "token is ********" in body
    assert texts[-1] == "packer build finished: rc 0"
    assert run.artifact_ids == ["ami-0123456789abcdef0"]
    assert not run.timed_out
    assert SECRET not in "\n".join(run.tail)


@needs_packer
def test_a_failing_build_is_logged_with_its_exit_code(tmp_path):
    run = build(tmp_path, "echo about to fail", "exit 3")
    assert run.rc != 0
    text = Path(run.log_file).read_text()
    assert "about to fail" in text
    assert text.rstrip().endswith(f"packer build finished: rc {run.rc}")


@needs_packer
def test_the_timeout_stops_the_whole_build(tmp_path):
    marker = f"sleep 60.{os.getpid()}"  # a duration no other process uses, to look for it afterwards
    started = time.monotonic()
    run = build(tmp_path, marker, timeout_s=3)
    assert time.monotonic() - started < 30
    assert run.timed_out
    assert run.rc != 0
    assert "packer build stopped: timeout of 3s passed" in Path(run.log_file).read_text()
    left = subprocess.run(["pgrep", "-f", marker], capture_output=True, text=True, check=False)
    assert left.stdout.strip() == "", "the build's process group is gone"


def test_a_missing_template_writes_nothing(tmp_path):
    with pytest.raises(GoldenAmiError, match="Packer template not found"):
        run_packer_build("packer", tmp_path / "none.pkr.hcl", {}, tmp_path / "logs", "dev", "x86_64")
    assert not (tmp_path / "logs").exists()


def test_a_missing_packer_is_a_clear_error_and_logged(tmp_path):
    with pytest.raises(GoldenAmiError, match="cannot start Packer"):
        run_packer_build(
            str(tmp_path / "no-packer"), template(tmp_path, "true"), {}, tmp_path / "logs", "dev", "x86_64", env={}
        )
    (log,) = (tmp_path / "logs").glob("*.log")
    assert "cannot start" in log.read_text()


def run_module(args: dict, capsys, check: bool = False) -> dict:
    with patch_module_args({**args, "_ansible_check_mode": check}), pytest.raises(SystemExit):
        golden_ami_build.main()
    return json.loads(capsys.readouterr().out)


def test_module_check_mode_builds_and_writes_nothing(tmp_path, capsys):
    args = {"template": str(template(tmp_path, "true")), "log_dir": str(tmp_path / "logs"), "environment": "dev"}
    result = run_module({**args, "region": "us-east-1"}, capsys, check=True)
    assert result["changed"] is True
    assert result["log_file"] == ""
    assert not (tmp_path / "logs").exists()
    assert_documented("golden_ami_build", result)


@pytest.mark.parametrize(
    ("change", "message"),
    [({"environment": "Prod"}, "environment 'Prod' must be lower-case"), ({"timeout": -1}, "timeout must be 0")],
)
def test_module_refuses_bad_input_before_anything(tmp_path, capsys, change, message):
    args = {"template": str(template(tmp_path, "true")), "log_dir": str(tmp_path / "logs"), "environment": "dev"}
    result = run_module({**args, "region": "us-east-1", **change}, capsys)
    assert result["failed"] is True
    assert message in result["msg"]
    assert not (tmp_path / "logs").exists()


@needs_packer
def test_module_runs_the_build_and_documents_its_result(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    args = {
        "template": str(template(tmp_path, "echo built")),
        "log_dir": str(tmp_path / "logs"),
        "environment": "dev",
        "region": "us-east-1",
        "packer_bin": PACKER,
        "variables": {"greeting": "hi"},
    }
    result = run_module(args, capsys)
    assert result["changed"] is True, result
    assert result["rc"] == 0
    assert "built" in Path(result["log_file"]).read_text()
    assert_documented("golden_ami_build", result)
    failed = run_module({**args, "template": str(template(tmp_path, "exit 4"))}, capsys)
    assert failed["failed"] is True
    assert failed["msg"].startswith("packer build failed (rc ")
    assert failed["log_file"]
