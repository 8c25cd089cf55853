# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""golden_ami.compute_build_hash on copies of the repository's Packer template (packer/)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from ansible_collections.org.platform.plugins.module_utils.golden_ami import (
    compute_build_hash,
)

from sandbox.pytest_plugin import REPO_ROOT


@pytest.fixture
def packer_dir(tmp_path: Path) -> Path:
    shutil.copytree(REPO_ROOT / "packer", tmp_path / "packer")
    return tmp_path / "packer"


def test_build_hash_is_stable_and_location_independent(packer_dir: Path) -> None:
    versions = {"awscli_version": "2.22.35", "bake_rke2": "false"}
    first = compute_build_hash(packer_dir, versions)
    assert first == compute_build_hash(packer_dir, dict(reversed(versions.items())))
    assert first == compute_build_hash(REPO_ROOT / "packer", versions)
    assert len(first) == 64


@pytest.mark.parametrize(
    "change",
    ["template", "script", "new_script", "version"],
)
def test_build_hash_changes_with_every_input(packer_dir: Path, change: str) -> None:
    versions = {"awscli_version": "2.22.35"}
    before = compute_build_hash(packer_dir, versions)
    if change == "template":
        (packer_dir / "golden.pkr.hcl").write_text((packer_dir / "golden.pkr.hcl").read_text() + "\n# edit\n")
    elif change == "script":
        script = packer_dir / "scripts" / "20-harden.sh"
        script.write_text(script.read_text() + "\n# edit\n")
    elif change == "new_script":
        (packer_dir / "scripts" / "50-extra.sh").write_text("#!/bin/sh\ntrue\n")
    else:
        versions = {"awscli_version": "2.22.36"}
    assert compute_build_hash(packer_dir, versions) != before


def test_build_hash_ignores_files_outside_template_and_scripts(packer_dir: Path) -> None:
    before = compute_build_hash(packer_dir, {})
    (packer_dir / "README.md").write_text("notes\n")
    assert compute_build_hash(packer_dir, {}) == before
