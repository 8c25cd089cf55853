# Copyright: (c) 2026, Platform team (@org-platform)
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's packaging: licence, metadata, the pinned collections and Python requirements agree."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
import yaml

from sandbox.pytest_plugin import REPO_ROOT as REPO

COLLECTION = REPO / "collections" / "ansible_collections" / "org" / "platform"
GALAXY = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())
PIN = re.compile(r"^([A-Za-z0-9._-]+)==(\S+)")


def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def installed_collection_version(fqcn: str) -> str:
    import ansible_collections

    namespace, name = fqcn.split(".")
    for root in ansible_collections.__path__:
        manifest = Path(root) / namespace / name / "MANIFEST.json"
        if manifest.exists():
            return json.loads(manifest.read_text())["collection_info"]["version"]
    raise AssertionError(f"{fqcn} is not installed")


def locked(group: str) -> dict[str, str]:
    text = (REPO / "requirements" / f"{group}.txt").read_text()
    return {m.group(1).lower().replace("_", "-"): m.group(2) for m in map(PIN.match, text.splitlines()) if m}


def test_requirements_yml_pins_the_installed_collections():
    pinned = {
        entry["name"]: entry["version"]
        for entry in yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]
    }
    assert set(GALAXY["dependencies"]) <= set(pinned), "every galaxy.yml dependency is pinned in requirements.yml"
    for fqcn, version in pinned.items():
        assert installed_collection_version(fqcn) == version, f"{fqcn}: requirements.yml says {version}"


def test_galaxy_floors_admit_the_pinned_collections():
    pinned = {
        entry["name"]: entry["version"]
        for entry in yaml.safe_load((REPO / "requirements.yml").read_text())["collections"]
    }
    for fqcn, spec in GALAXY["dependencies"].items():
        floor = re.fullmatch(r">=(\S+)", spec)
        assert floor, f"{fqcn}: dependency {spec!r} must be a plain floor (>=x.y.z)"
        assert version_tuple(pinned[fqcn]) >= version_tuple(floor.group(1))


def test_locked_requirements_are_hashed_and_consistent():
    groups = {group: locked(group) for group in ("runtime", "sandbox", "dev", "checkov")}
    for group in groups:
        text = (REPO / "requirements" / f"{group}.txt").read_text()
        for block in re.split(r"\n(?=\S)", text):
            if PIN.match(block):
                assert "--hash=sha256:" in block, f"{group}.txt: {block.splitlines()[0]} has no hash"
    for subset in ("runtime", "sandbox"):
        for name, version in groups[subset].items():
            assert groups["dev"].get(name) == version, f"{subset}.txt pins {name}=={version}, dev.txt does not"
    assert "moto" not in groups["runtime"], "the emulator is not a runtime dependency"
    assert "pytest" not in groups["runtime"], "test tools are not runtime dependencies"
    assert "ansible-lint" not in groups["sandbox"]


def test_collection_python_requirements_are_floors_the_lock_satisfies():
    runtime = locked("runtime")
    for line in (COLLECTION / "requirements.txt").read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, floor = re.fullmatch(r"([A-Za-z0-9._-]+)>=(\S+)", line.strip()).groups()
        version = runtime.get(name.lower().replace("_", "-"))
        assert version, f"{name} is not in requirements/runtime.txt"
        assert version_tuple(version) >= version_tuple(floor), f"{name}: locked {version} is below {floor}"


def test_one_licence_everywhere():
    assert GALAXY["license"] == ["GPL-3.0-or-later"]
    assert "GNU GENERAL PUBLIC LICENSE" in (COLLECTION / "COPYING").read_text()
    assert (COLLECTION / "COPYING").read_text() == (REPO / "COPYING").read_text()
    missing = [
        str(path.relative_to(COLLECTION))
        for path in sorted(COLLECTION.rglob("*.py"))
        if "tests/output" not in str(path)
        and "GNU General Public License v3.0+" not in "".join(path.read_text().splitlines(keepends=True)[:5])
    ]
    assert not missing, f"files without the licence header: {missing}"


def test_requires_ansible_has_no_build_machine_ceiling():
    runtime = yaml.safe_load((COLLECTION / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"] == ">=2.19.0"


@pytest.mark.slow
def test_built_tarball_has_what_an_installed_collection_needs(tmp_path):
    subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-galaxy"),
            "collection",
            "build",
            "--output-path",
            str(tmp_path),
            str(COLLECTION),
        ],
        check=True,
        capture_output=True,
    )
    (tarball,) = tmp_path.glob("org-platform-*.tar.gz")
    with tarfile.open(tarball) as archive:
        names = set(archive.getnames())
    assert {"COPYING", "requirements.txt", "bindep.txt", "meta/execution-environment.yml", "meta/runtime.yml"} <= names
    assert not [name for name in names if "__pycache__" in name or name.startswith("tests/output")]
