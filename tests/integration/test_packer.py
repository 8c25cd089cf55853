# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""packer/golden.pkr.hcl: `packer validate` (full, not -syntax-only), `packer fmt`, and what the template promises.

Full validation with Debian's packer 1.6.6 needs no AWS: amazon-ebs is built in and the source AMI filter is
only resolved at build time, so the test runs it with no credentials, offline, from an unrelated directory.
plugins.pkr.hcl (required_plugins, for upstream Packer >= 1.7) is not loaded: 1.6.6 rejects that block.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from sandbox.services import REPO_ROOT

PACKER_DIR = REPO_ROOT / "packer"
TEMPLATE = PACKER_DIR / "golden.pkr.hcl"
PACKER = shutil.which("packer")
needs_packer = pytest.mark.skipif(PACKER is None, reason="packer is not installed (Debian package `packer`; make deps)")


def packer(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    # No AWS credentials or endpoints: validation must not need AWS.
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(cwd), "CHECKPOINT_DISABLE": "1"}
    return subprocess.run(
        [str(PACKER), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120, check=False
    )


@needs_packer
@pytest.mark.parametrize("arch", ["x86_64", "arm64"])
def test_template_validates(tmp_path: Path, arch: str) -> None:
    result = packer(
        "validate",
        "-var",
        "region=us-east-1",
        "-var",
        f"arch={arch}",
        "-var",
        "build_hash=0",
        str(TEMPLATE),
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@needs_packer
def test_template_validation_needs_the_build_hash(tmp_path: Path) -> None:
    result = packer("validate", "-var", "region=us-east-1", str(TEMPLATE), cwd=tmp_path)
    assert result.returncode != 0
    assert "build_hash" in result.stdout + result.stderr


@needs_packer
def test_template_validation_catches_a_missing_script(tmp_path: Path) -> None:
    copy = tmp_path / "packer"
    shutil.copytree(PACKER_DIR, copy)
    (copy / "scripts" / "90-cleanup.sh").unlink()
    result = packer(
        "validate", "-var", "region=us-east-1", "-var", "build_hash=0", str(copy / "golden.pkr.hcl"), cwd=tmp_path
    )
    assert result.returncode != 0
    assert "90-cleanup.sh" in result.stdout + result.stderr


@needs_packer
def test_packer_files_are_formatted(tmp_path: Path) -> None:
    result = packer("fmt", "-check", str(PACKER_DIR), cwd=tmp_path)
    assert result.returncode == 0, f"packer fmt would change: {result.stdout}{result.stderr}"


def test_required_plugins_live_in_their_own_file() -> None:
    assert "required_plugins" not in TEMPLATE.read_text()
    plugins = (PACKER_DIR / "plugins.pkr.hcl").read_text()
    assert 'source  = "github.com/hashicorp/amazon"' in plugins


def _setting(text: str, name: str) -> list[str]:
    return re.findall(rf"^\s*{re.escape(name)}\s*=\s*(.+?)\s*$", text, flags=re.MULTILINE)


def test_template_promises() -> None:
    text = TEMPLATE.read_text()
    assert _setting(text, "ssh_interface") == ['"session_manager"']
    assert _setting(text, "communicator") == ['"ssh"']
    assert _setting(text, "associate_public_ip_address") == ["false"]
    assert _setting(text, "encrypt_boot") == ["true"]
    assert _setting(text, "encrypted") == ["true", "true"], "launch and AMI block devices are encrypted"
    assert "temporary_iam_instance_profile_policy_document" in text
    assert 'name                  = "al2023-ami-2023.*-kernel-6.*-${var.arch}"' in text
    assert _setting(text, "owners") == ['["amazon"]']
    assert _setting(text, "most_recent") == ["true"]
    for tag in ("Role", "OS", "Arch", "BuildHash", "SourceAmi"):
        assert _setting(text, tag), f"tag {tag} missing"
    assert _setting(text, "SourceAmi") == ['"{{ .SourceAMI }}"']


def test_scripts_install_enable_and_clean_up() -> None:
    scripts = PACKER_DIR / "scripts"
    packages = (scripts / "10-packages.sh").read_text()
    assert re.search(r"systemctl enable docker\.service", packages)
    assert re.search(r"systemctl enable amazon-ssm-agent\.service", packages)
    assert "AWSCLI_VERSION" in packages
    cleanup = (scripts / "90-cleanup.sh").read_text()
    assert "truncate -s 0 /etc/machine-id" in cleanup
    assert "cloud-init clean" in cleanup
    rke2 = (scripts / "30-rke2-airgap.sh").read_text()
    assert "sha256sum -c" in rke2


@pytest.mark.parametrize("script", sorted(p.name for p in (PACKER_DIR / "scripts").glob("*.sh")))
def test_scripts_are_valid_bash(script: str) -> None:
    path = PACKER_DIR / "scripts" / script
    result = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
    assert path.read_text().startswith("#!/usr/bin/env bash\n")
    assert "set -euo pipefail" in path.read_text()
